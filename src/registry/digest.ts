import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatch, ShortRead } from './errors.ts';

export const sha256 = (bytes: Uint8Array): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * Passes bytes through unchanged while hashing them; fails the stream when the bytes do not match the
 * expected digest or size. Chunks are forwarded, never copied, and the last one only once the digest
 * matches: a receiver told the length up front (an upload's Content-Length) never gets all of a
 * wrong blob, so it cannot store it whatever it does about the stream's failure.
 */
export class VerifyingStream extends Transform {
  readonly #expected: string;
  readonly #size: number | undefined;
  readonly #hash: Hash = createHash('sha256');
  #seen = 0;
  /** The latest chunk, forwarded when the next one comes or the digest matches. */
  #held: Buffer | undefined;
  /** The verification failure, kept so callers can report it rather than the upload's abort. */
  failure: Error | undefined;

  readonly #onBytes: ((n: number) => void) | undefined;

  constructor(expected: string, size: number | undefined, onBytes?: (n: number) => void) {
    super();
    this.#expected = expected;
    this.#size = size;
    this.#onBytes = onBytes;
  }

  get bytes(): number {
    return this.#seen;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    // Held, an empty chunk would let the last real one through before the digest is checked.
    if (chunk.length === 0) {
      done();
      return;
    }
    this.#seen += chunk.length;
    if (this.#size !== undefined && this.#seen > this.#size) {
      done(this.#fail(new DigestMismatch(this.#expected, `more than ${this.#size} bytes`)));
      return;
    }
    this.#hash.update(chunk);
    this.#onBytes?.(chunk.length);
    const previous = this.#held;
    this.#held = chunk;
    done(null, previous);
  }

  override _flush(done: TransformCallback): void {
    if (this.#size !== undefined && this.#seen < this.#size) {
      done(
        this.#fail(new ShortRead(`blob ${this.#expected} ended after ${this.#seen} of ${this.#size} bytes`)),
      );
      return;
    }
    const actual = `sha256:${this.#hash.digest('hex')}`;
    if (this.#expected.startsWith('sha256:') && actual !== this.#expected) {
      done(this.#fail(new DigestMismatch(this.#expected, actual)));
      return;
    }
    done(null, this.#held);
  }

  #fail(err: Error): Error {
    this.failure = err;
    return err;
  }
}
