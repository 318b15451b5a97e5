import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../../src/registry/digest.ts';
import { RegistryError } from '../../../src/registry/errors.ts';
import type { ImageStore } from '../../../src/registry/store.ts';
import { BlobCopier } from '../../../src/sync/blobs.ts';
import { refusing } from '../../support/stores.ts';

/** A destination registry in memory: repositories holding blobs, honouring mounts or not. */
class FakeRegistry {
  readonly repos = new Map<string, Set<string>>();
  readonly calls: string[] = [];
  readonly opts: { mounts: boolean; selfMountFails?: boolean };

  constructor(opts: { mounts: boolean; selfMountFails?: boolean }) {
    this.opts = opts;
  }

  store(repository: string): ImageStore {
    const held = () => this.repos.get(repository) ?? new Set<string>();
    const hold = (digest: string) => this.repos.set(repository, held().add(digest));
    return {
      ...refusing('dest.example', repository),
      headBlob: async (digest) => {
        this.calls.push(`HEAD ${repository} ${digest.slice(7, 10)}`);
        return held().has(digest) ? 1 : undefined;
      },
      mountBlob: async (digest, from) => {
        this.calls.push(`MOUNT ${repository} from ${from} ${digest.slice(7, 10)}`);
        if (from === repository && this.opts.selfMountFails) throw new Error('400 from = target');
        if (this.opts.mounts && this.repos.get(from)?.has(digest)) {
          hold(digest);
          return { mounted: true };
        }
        return { mounted: false, location: new URL(`https://dest.example/upload/${this.calls.length}`) };
      },
      startUpload: async () => {
        this.calls.push(`POST ${repository}`);
        return new URL(`https://dest.example/upload/${this.calls.length}`);
      },
      putUpload: async (_location, digest, _size, body) => {
        for await (const _ of body) {
          // drain
        }
        this.calls.push(`PUT ${repository} ${digest.slice(7, 10)}`);
        hold(digest);
      },
    };
  }
}

function source(blobs: Map<string, Buffer>): ImageStore {
  return {
    ...refusing('src.example', 'lib/app'),
    getBlob: async (digest) => ({
      body: Readable.from([blobs.get(digest)!]),
      size: blobs.get(digest)!.length,
    }),
  };
}

const blob = (text: string) => {
  const bytes = Buffer.from(text);
  return {
    bytes,
    desc: { mediaType: 'application/octet-stream', digest: sha256(bytes), size: bytes.length },
  };
};
const copier = () =>
  new BlobCopier({
    limit: pLimit(4),
    retry: { retries: 0, minDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 },
  });

/** A copier that adds up the bytes it reports, retrying a failed transfer `retries` times. */
function counting(retries: number) {
  let total = 0;
  const blobs = new BlobCopier({
    limit: pLimit(1),
    retry: { retries, minDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 },
    onBytes: (n) => {
      total += n;
    },
  });
  return { blobs, counted: () => total };
}

describe('BlobCopier', () => {
  const shared = blob('shared layer');
  const own = blob('own layer');
  const src = source(new Map([shared, own].map((b) => [b.desc.digest, b.bytes])));

  it('asks with a HEAD until the registry has honoured a mount, then with a mount from the repository itself', async () => {
    const reg = new FakeRegistry({ mounts: true });
    const blobs = copier();
    expect(await blobs.copy(shared.desc, src, reg.store('a'))).toBe(shared.bytes.length);
    expect(await blobs.copy(shared.desc, src, reg.store('b'))).toBe(0);
    expect(await blobs.copy(own.desc, src, reg.store('b'))).toBe(own.bytes.length);
    const s = shared.desc.digest.slice(7, 10);
    const o = own.desc.digest.slice(7, 10);
    expect(reg.calls).toEqual([
      `HEAD a ${s}`,
      'POST a',
      `PUT a ${s}`,
      `MOUNT b from a ${s}`,
      // Mounts work here: one POST answers "not here" and opens the upload; no HEAD.
      `MOUNT b from b ${o}`,
      `PUT b ${o}`,
    ]);
  });

  it('takes a 201 to a mount from the repository itself as "already there"', async () => {
    const reg = new FakeRegistry({ mounts: true });
    reg.repos.set('c', new Set([own.desc.digest]));
    const blobs = copier();
    await blobs.copy(shared.desc, src, reg.store('a'));
    await blobs.copy(shared.desc, src, reg.store('c'));
    expect(await blobs.copy(own.desc, src, reg.store('c'))).toBe(0);
    expect(reg.calls.at(-1)).toBe(`MOUNT c from c ${own.desc.digest.slice(7, 10)}`);
    expect(reg.calls.filter((c) => c.startsWith('PUT'))).toHaveLength(1);
  });

  it('keeps asking with a HEAD where mounts are answered with 202', async () => {
    const reg = new FakeRegistry({ mounts: false });
    const blobs = copier();
    await blobs.copy(shared.desc, src, reg.store('a'));
    await blobs.copy(shared.desc, src, reg.store('b'));
    await blobs.copy(own.desc, src, reg.store('b'));
    expect(reg.calls.filter((c) => c.startsWith('HEAD'))).toEqual([
      `HEAD a ${shared.desc.digest.slice(7, 10)}`,
      `HEAD b ${own.desc.digest.slice(7, 10)}`,
    ]);
    expect(reg.calls.some((c) => c.startsWith('MOUNT b from b'))).toBe(false);
  });

  it('goes back to HEADs when a mount from the repository itself is refused', async () => {
    const reg = new FakeRegistry({ mounts: true, selfMountFails: true });
    const third = blob('third layer');
    const src3 = source(new Map([shared, own, third].map((b) => [b.desc.digest, b.bytes])));
    const blobs = copier();
    await blobs.copy(shared.desc, src3, reg.store('a'));
    await blobs.copy(shared.desc, src3, reg.store('b'));
    expect(await blobs.copy(own.desc, src3, reg.store('b'))).toBe(own.bytes.length);
    expect(await blobs.copy(third.desc, src3, reg.store('b'))).toBe(third.bytes.length);
    const o = own.desc.digest.slice(7, 10);
    const t = third.desc.digest.slice(7, 10);
    expect(reg.calls.slice(4)).toEqual([
      `MOUNT b from b ${o}`,
      `HEAD b ${o}`,
      'POST b',
      `PUT b ${o}`,
      `HEAD b ${t}`,
      'POST b',
      `PUT b ${t}`,
    ]);
  });

  it('takes back the bytes of a transfer that failed: the count is what was copied, once', async () => {
    const big = {
      ...blob('x'.repeat(10)),
      chunks: ['x'.repeat(4), 'x'.repeat(6)].map((t) => Buffer.from(t)),
    };
    const src1: ImageStore = {
      ...refusing('src.example', 'lib/app'),
      getBlob: async () => ({ body: Readable.from(big.chunks), size: big.bytes.length }),
    };
    let puts = 0;
    const dst: ImageStore = {
      ...refusing('dest.example', 'mirror/app'),
      headBlob: async () => undefined,
      startUpload: async () => new URL('https://dest.example/upload/1'),
      putUpload: async (_location, _digest, _size, body) => {
        puts++;
        for await (const _ of body) {
          // The first upload fails on its first chunk; the verifier, holding one back, has counted both.
          if (puts === 1) throw new RegistryError('connection reset', { status: 503 });
        }
      },
    };
    const { blobs, counted } = counting(1);
    expect(await blobs.copy(big.desc, src1, dst)).toBe(10);
    expect(puts).toBe(2);
    expect(counted()).toBe(10);
  });

  it('reports a download that fails before the upload reads it as the source failing, not as a crash', async () => {
    const failing = blob('never sent');
    const src1: ImageStore = {
      ...refusing('src.example', 'lib/app'),
      getBlob: async () => {
        const body = new Readable({ read() {} });
        setImmediate(() => body.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })));
        return { body, size: failing.bytes.length };
      },
    };
    const dst: ImageStore = {
      ...refusing('dest.example', 'mirror/app'),
      headBlob: async () => undefined,
      startUpload: async () => new URL('https://dest.example/upload/1'),
      putUpload: async (_location, _digest, _size, body) => {
        // The upload reads only once it has a token; the download has failed by then.
        await new Promise((r) => setTimeout(r, 20));
        for await (const _ of body) {
          // drain
        }
      },
    };
    await expect(copier().copy(failing.desc, src1, dst)).rejects.toThrow(
      `GET src.example/lib/app blob ${failing.desc.digest} failed: connection reset`,
    );
  });

  it('takes back no more than it counted when a source sends more than the declared size', async () => {
    const declared = blob('xxxx');
    const src1: ImageStore = {
      ...refusing('src.example', 'lib/app'),
      getBlob: async () => ({ body: Readable.from([Buffer.from('xxxx'), Buffer.from('yyyyyy')]), size: 4 }),
    };
    const dst: ImageStore = {
      ...refusing('dest.example', 'mirror/app'),
      headBlob: async () => undefined,
      startUpload: async () => new URL('https://dest.example/upload/1'),
      putUpload: async (_location, _digest, _size, body) => {
        for await (const _ of body) {
          // drain
        }
      },
    };
    const { blobs, counted } = counting(0);
    await expect(blobs.copy(declared.desc, src1, dst)).rejects.toThrow(/more than 4 bytes/);
    expect(counted()).toBe(0);
  });
});
