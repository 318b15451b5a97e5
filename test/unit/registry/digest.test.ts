import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { sha256, VerifyingStream } from '../../../src/registry/digest.ts';
import { DigestMismatch, ShortRead } from '../../../src/registry/errors.ts';

async function drain(data: Buffer[], expected: string, size: number | undefined) {
  const verifier = new VerifyingStream(expected, size);
  const out: Buffer[] = [];
  await pipeline(Readable.from(data), verifier, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

describe('VerifyingStream', () => {
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
      const verifier = new VerifyingStream(digest, size);
      const passed: Buffer[] = [];
      verifier.on('data', (chunk: Buffer) => passed.push(chunk));
      const chunks = ['hello ', 'WOR', 'LD', ''].map((text) => Buffer.from(text));
      Readable.from(chunks).pipe(verifier);
      await expect(finished(verifier)).rejects.toBeInstanceOf(DigestMismatch);
      expect(Buffer.concat(passed).toString()).toBe('hello WOR');
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
});
