import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Frees the socket read buffers of streamed blobs as the bytes go by.
 *
 * Node reads each socket into a new 64 KB buffer, and only a garbage collection frees it. A scavenge
 * of the young generation would do so cheaply, but V8 scavenges when that generation fills with
 * objects, and a blob stream makes few: the buffers pile up until V8's external-memory limit starts
 * a full mark-compact instead, and on a small heap one mark-compact leads to the next.
 *
 * Measured on the benchmark's mirror (`npm run bench`: 1 GB in 155 blobs, cold sync at --proc 8,
 * 3 rounds each): 41–44 mark-compacts a run, whose marking threads took a fifth of the process's
 * CPU. A scavenge every 4 MB streamed brought that to 3–8 mark-compacts, CPU from 4.9 s to 3.9 s
 * and peak RSS from 170 MB to 125 MB. Every 16 MB or more was not enough on some runs (V8 grew its
 * young generation and fell back into back-to-back mark-compacts); every 2 MB cost more scavenges
 * than it saved.
 */
export class ReadBufferReclaimer {
  readonly #everyBytes: number;
  readonly #scavenger: () => (() => void) | undefined;
  #scavenge: (() => void) | undefined | null = null;
  #pending = 0;

  /** `scavenger` is asked once, at the first threshold reached; `undefined` turns the reclaimer off. */
  constructor(everyBytes: number, scavenger: () => (() => void) | undefined) {
    this.#everyBytes = everyBytes;
    this.#scavenger = scavenger;
  }

  received(bytes: number): void {
    this.#pending += bytes;
    if (this.#pending < this.#everyBytes) return;
    this.#pending = 0;
    if (this.#scavenge === null) this.#scavenge = this.#scavenger();
    this.#scavenge?.();
  }
}

/**
 * V8's own `gc({ type: 'minor' })`, reached without starting Node with `--expose-gc`: a context made
 * after the flag is set has it. `undefined` where the runtime does not offer it.
 *
 * The flag is cleared again at once (the function stays): V8 stamps a code cache with the flags it
 * was made under and refuses it under others, so a cache the launcher saved after a copy would
 * otherwise be refused by the next start, and rewritten, run after run.
 */
export function minorGc(): (() => void) | undefined {
  // Started with --expose-gc (NODE_OPTIONS, say): there it is, and the flags are not this code's to change.
  const exposed: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return () => exposed({ type: 'minor' });
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
  setFlagsFromString('--no-expose-gc');
  return typeof gc === 'function' ? () => gc({ type: 'minor' }) : undefined;
}

/** Shared by every stream: the heap is the process's. */
export const readBuffers = new ReadBufferReclaimer(4 * 2 ** 20, minorGc);
