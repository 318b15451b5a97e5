import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { sha256, VerifiedBlob } from '../../../src/registry/digest.ts';
import { DigestMismatch, ShortRead } from '../../../src/registry/errors.ts';

async function drain(data: Buffer[], expected: string, size: number | undefined) {
  const out: Buffer[] = [];
  for await (const chunk of new VerifiedBlob(Readable.from(data), expected, size)) out.push(chunk);
  return Buffer.concat(out);
}

describe('VerifiedBlob', () => {
  const data = [Buffer.from('hello '), Buffer.from('world')];
  const digest = sha256(Buffer.from('hello world'));

  it('passes matching bytes through unchanged', async () => {
    expect((await drain(data, digest, 11)).toString()).toBe('hello world');
  });
  it('fails on different bytes of the same size', async () => {
    await expect(drain([Buffer.from('hello WORLD')], digest, 11)).rejects.toBeInstanceOf(DigestMismatch);
  });
  // An upload's length is declared up front: a registry holding all of it could store the bytes
  // whether or not the stream then fails. So the last chunk waits for the digest.
  for (const [name, size] of [
    ['known', 11],
    ['unknown', undefined],
  ] as const) {
    it(`withholds the last chunk of a stream that does not match (size ${name})`, async () => {
      const chunks = ['hello ', 'WOR', 'LD', ''].map((text) => Buffer.from(text));
      const verified = new VerifiedBlob(Readable.from(chunks), digest, size);
      const passed: Buffer[] = [];
      verified.on('data', (chunk: Buffer) => passed.push(chunk));
      await expect(finished(verified)).rejects.toBeInstanceOf(DigestMismatch);
      expect(Buffer.concat(passed).toString()).toBe('hello WOR');
      expect(verified.failure).toBeInstanceOf(DigestMismatch);
    });
  }
  it('fails on a short stream as a short read (temporary)', async () => {
    const err = await drain([Buffer.from('hello')], digest, 11).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShortRead);
    expect((err as ShortRead).isTemporary()).toBe(true);
  });
  it('fails as soon as a stream runs past its size', async () => {
    await expect(drain([...data, Buffer.from('!')], digest, 11)).rejects.toThrow('more than 11 bytes');
  });

  it('reads its source only as fast as it is read', async () => {
    let pulled = 0;
    const source = new Readable({
      highWaterMark: 1024,
      read() {
        pulled += 1;
        this.push(pulled > 1000 ? null : Buffer.alloc(1024, pulled));
      },
    });
    const verified = new VerifiedBlob(source, digest, undefined);
    const reader = verified[Symbol.asyncIterator]();
    await reader.next();
    for (let i = 0; i < 10; i++) await tick();
    const waiting = pulled;
    for (let i = 0; i < 50; i++) await tick();
    // Unread, it stops at its buffers (64 KB, what the reader took at once, the source's 1 KB), not at 1 MB.
    expect(pulled).toBe(waiting);
    expect(pulled).toBeLessThan(200);
    await reader.next();
    await reader.next();
    expect(pulled).toBeGreaterThan(waiting);
    verified.destroy();
  });

  it("reports the source's error as the download's failure", async () => {
    const source = new Readable({ read() {} });
    const verified = new VerifiedBlob(source, digest, 11);
    verified.resume();
    source.push(Buffer.from('hello '));
    const lost = new Error('connection reset');
    source.destroy(lost);
    await expect(finished(verified)).rejects.toBe(lost);
    expect(verified.sourceFailure).toBe(lost);
    expect(verified.failure).toBeUndefined();
  });

  // undici's response body answers destroy() with "request aborted": a consequence, not the download's fault.
  it('destroys its source when destroyed, without blaming it', async () => {
    const source = new Readable({
      read() {},
      destroy(err, done) {
        done(err ?? new Error('request aborted'));
      },
    });
    source.on('error', () => undefined);
    const verified = new VerifiedBlob(source, digest, 11);
    verified.on('error', () => undefined);
    verified.destroy(new Error('upload refused'));
    for (let i = 0; i < 5; i++) await tick();
    expect(source.destroyed).toBe(true);
    expect(verified.sourceFailure).toBeUndefined();
  });
});
