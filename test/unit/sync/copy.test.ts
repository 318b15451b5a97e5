import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import type { ManifestHead } from '../../../src/registry/client/manifests.ts';
import { sha256 } from '../../../src/registry/digest.ts';
import { RegistryError } from '../../../src/registry/errors.ts';
import type { Reference } from '../../../src/registry/reference.ts';
import type { ImageStore } from '../../../src/registry/store.ts';
import { BlobCopier } from '../../../src/sync/blobs.ts';
import { type CopyContext, copyImage } from '../../../src/sync/copy.ts';
import type { Task } from '../../../src/sync/types.ts';
import { refusing } from '../../support/stores.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const HEAD: ManifestHead = {
  digest: DIGEST,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 1,
};
const task: Task = {
  source: { registry: 'src.example', repository: 'lib/app', tag: '1.0' },
  destination: { registry: 'dst.example', repository: 'mirror/app', tag: '1.0' },
  referrers: false,
  origin: 'test',
};

function context(src: ImageStore, dst: ImageStore, force = false): CopyContext {
  return {
    client: { repository: (repo: Reference) => (repo.registry === 'src.example' ? src : dst) },
    blobs: new BlobCopier({
      limit: pLimit(1),
      retry: { retries: 0, minDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 },
    }),
    force,
    dryRun: false,
    emit: () => {},
    referrersCopied: new Map(),
    written: new Map(),
    manifestsCopied: new Map(),
    sourceManifests: new Map(),
  };
}

describe('copyImage', () => {
  it('asks the destination while the source has not answered yet: a no-op image costs one round trip', async () => {
    let sourceAnswered = false;
    let askedWhileSourcePending: boolean | undefined;
    const src: ImageStore = {
      ...refusing('src.example', 'lib/app'),
      headManifest: () =>
        new Promise((resolve) =>
          setImmediate(() => {
            sourceAnswered = true;
            resolve(HEAD);
          }),
        ),
    };
    const dst: ImageStore = {
      ...refusing('dst.example', 'mirror/app'),
      headManifest: async (ref) => {
        expect(ref).toBe('1.0');
        askedWhileSourcePending = !sourceAnswered;
        return HEAD;
      },
    };
    const outcome = await copyImage(task, context(src, dst));
    expect(outcome).toMatchObject({ status: 'skipped', digest: DIGEST, bytes: 0 });
    expect(askedWhileSourcePending).toBe(true);
  });

  it('reports a missing source as not found, whatever the destination answered', async () => {
    const src: ImageStore = { ...refusing('src.example', 'lib/app'), headManifest: async () => undefined };
    const dst: ImageStore = {
      ...refusing('dst.example', 'mirror/app'),
      headManifest: async () => {
        throw new RegistryError('HEAD denied', { status: 403 });
      },
    };
    await expect(copyImage(task, context(src, dst))).rejects.toThrow(/lib\/app:1.0 was not found/);
  });

  it('does not ask the destination first when forced to copy', async () => {
    const src: ImageStore = {
      ...refusing('src.example', 'lib/app'),
      headManifest: async () => HEAD,
      getManifest: async () => {
        throw new RegistryError('stop here: the copy itself is not under test', { status: 400 });
      },
    };
    // `refusing` throws on any destination call: a HEAD would fail the copy with another message.
    await expect(copyImage(task, context(src, refusing('dst.example', 'mirror/app'), true))).rejects.toThrow(
      /stop here/,
    );
  });
});

describe('copyImage with a platform filter', () => {
  const amd64 = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${'1'.repeat(64)}`,
    size: 1,
    platform: { os: 'linux', architecture: 'amd64' },
  };
  const arm64 = {
    ...amd64,
    digest: `sha256:${'2'.repeat(64)}`,
    platform: { os: 'linux', architecture: 'arm64' },
  };
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [amd64, arm64],
    }),
  );
  const index = { mediaType: 'application/vnd.oci.image.index.v1+json', bytes, digest: sha256(bytes) };

  it('does not take the full index at the destination for the filtered one when the HEAD names no media type', async () => {
    const src: ImageStore = {
      ...refusing('src.example', 'lib/app'),
      // Some registries answer HEAD without a Content-Type worth the name.
      headManifest: async () => ({
        digest: index.digest,
        mediaType: 'application/octet-stream',
        size: bytes.length,
      }),
      getManifest: async () => index,
    };
    let written: string | undefined;
    const dst: ImageStore = {
      ...refusing('dst.example', 'mirror/app'),
      headManifest: async (ref) =>
        ref === '1.0'
          ? { digest: index.digest, mediaType: index.mediaType, size: bytes.length }
          : { digest: ref, mediaType: amd64.mediaType, size: 1 },
      getManifest: async () => index,
      putManifest: async (_ref, manifest) => {
        written = manifest.digest;
        return { subjectIndexed: false };
      },
    };
    const outcome = await copyImage(
      { ...task, platforms: [{ os: 'linux', architecture: 'amd64' }] },
      context(src, dst),
    );
    expect(outcome.status).toBe('synced');
    expect(outcome.sourceDigest).toBe(index.digest);
    expect(written).toBe(outcome.digest);
    expect(written).not.toBe(index.digest);
  });

  it('puts the filtered index of a pinned source under its own digest where the destination has no tag, and finds it there', async () => {
    const pinned: Task = {
      ...task,
      source: { registry: 'src.example', repository: 'lib/app', digest: index.digest },
      destination: { registry: 'dst.example', repository: 'mirror/app', digest: index.digest },
      platforms: [{ os: 'linux', architecture: 'amd64' }],
    };
    const src: ImageStore = {
      ...refusing('src.example', 'lib/app'),
      headManifest: async () => ({ digest: index.digest, mediaType: index.mediaType, size: bytes.length }),
      getManifest: async () => index,
    };
    const held = new Set([amd64.digest]);
    const put: string[] = [];
    const dst: ImageStore = {
      ...refusing('dst.example', 'mirror/app'),
      headManifest: async (ref) =>
        held.has(ref) ? { digest: ref, mediaType: index.mediaType, size: 1 } : undefined,
      putManifest: async (ref, manifest) => {
        // A registry refuses a manifest put under another digest than its own (DIGEST_INVALID).
        if (ref !== manifest.digest) throw new RegistryError('DIGEST_INVALID', { status: 400 });
        held.add(ref);
        put.push(ref);
        return { subjectIndexed: false };
      },
    };
    const first = await copyImage(pinned, context(src, dst));
    expect(first).toMatchObject({ status: 'synced', sourceDigest: index.digest });
    expect(put).toEqual([first.digest]);
    const again = await copyImage(pinned, context(src, dst));
    expect(again).toMatchObject({ status: 'skipped', digest: first.digest, sourceDigest: index.digest });
  });
});
