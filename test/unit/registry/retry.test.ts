import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../../src/registry/errors.ts';
import { type RetryPolicy, withRetry } from '../../../src/registry/transport/retry.ts';

// Waits long enough that a test passing at all shows the stop cut them short (vitest's 5 s timeout).
const SLOW: RetryPolicy = { retries: 4, minDelayMs: 60_000, maxDelayMs: 60_000, maxRetryAfterMs: 60_000 };
const unavailable = () => new RegistryError('GET r.io/v2/: 503 Service Unavailable', { status: 503 });

describe('withRetry', () => {
  it('retries a temporary failure', async () => {
    let attempts = 0;
    const quick = { ...SLOW, minDelayMs: 1, maxDelayMs: 1 };
    const result = await withRetry(async () => {
      if (++attempts < 3) throw unavailable();
      return 'ok';
    }, quick);
    expect([result, attempts]).toEqual(['ok', 3]);
  });

  it('once stopped, ends the wait for the next attempt with the failure it followed', async () => {
    const stop = new AbortController();
    let attempts = 0;
    const failure = unavailable();
    const run = withRetry(
      async () => {
        attempts++;
        throw failure;
      },
      SLOW,
      { stop: stop.signal, onRetry: () => setImmediate(() => stop.abort()) },
    );
    await expect(run).rejects.toBe(failure);
    expect(attempts).toBe(1);
  });

  it('once stopped, lets the attempt under way finish, and counts its success', async () => {
    const stop = new AbortController();
    const result = await withRetry(
      async () => {
        stop.abort();
        return 'done anyway';
      },
      SLOW,
      { stop: stop.signal },
    );
    expect(result).toBe('done anyway');
  });

  it('once stopped, does not try a failed attempt again', async () => {
    const stop = new AbortController();
    let attempts = 0;
    const run = withRetry(
      async () => {
        attempts++;
        stop.abort();
        throw unavailable();
      },
      SLOW,
      { stop: stop.signal },
    );
    await expect(run).rejects.toThrow('503');
    expect(attempts).toBe(1);
  });
});
