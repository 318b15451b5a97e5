import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { isTemporary, RegistryError } from '../errors.ts';

export interface RetryPolicy {
  /** Further attempts after the first. */
  readonly retries: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** A server's Retry-After is honoured up to this long. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 4,
  minDelayMs: 300,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

export interface RetryControl {
  readonly onRetry?: (error: unknown, retriesLeft: number) => void;
  /** Cuts the attempt under way, and the whole retry, with an abort error. */
  readonly signal?: AbortSignal;
  /**
   * Once aborted, the next failure is final and a wait for another attempt ends at once, with the
   * failure it followed; an attempt under way goes on, and its success counts.
   */
  readonly stop?: AbortSignal;
}

/**
 * Runs `attempt` again on temporary errors with exponential backoff and jitter, waiting at least as
 * long as the server's Retry-After asked.
 */
export function withRetry<T>(
  attempt: () => Promise<T>,
  policy: RetryPolicy,
  control: RetryControl = {},
): Promise<T> {
  const { onRetry, signal, stop } = control;
  return pRetry(attempt, {
    retries: policy.retries,
    // p-retry's own wait could end early only through its signal, which would also discard an
    // attempt that succeeds once it fired: the wait is onFailedAttempt's, below.
    minTimeout: 0,
    ...(signal !== undefined && { signal }),
    shouldRetry: ({ error }) => isTemporary(error) && stop?.aborted !== true,
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft === 0 || !isTemporary(error) || stop?.aborted) return;
      onRetry?.(error, retriesLeft);
      const backoff = policy.minDelayMs * 2 ** (attemptNumber - 1) * (1 + Math.random());
      await pause(Math.max(Math.min(backoff, policy.maxDelayMs), retryAfterMs(error, policy)), {
        signal,
        stop,
      });
    },
  });
}

/** How long the server asked to be left alone after `error` (Retry-After), as far as `policy` honours it. */
export function retryAfterMs(error: unknown, policy: RetryPolicy): number {
  const asked = error instanceof RegistryError ? (error.retryAfterMs ?? 0) : 0;
  return Math.min(asked, policy.maxRetryAfterMs);
}

/** Waits `ms`; ends early and quietly once `stop` fires, and with an abort error once `signal` does. */
export async function pause(
  ms: number,
  { signal, stop }: Pick<RetryControl, 'signal' | 'stop'>,
): Promise<void> {
  const either = [signal, stop].filter((s) => s !== undefined);
  try {
    await sleep(ms, undefined, either.length === 0 ? {} : { signal: AbortSignal.any(either) });
  } catch (err) {
    if (stop?.aborted !== true || signal?.aborted === true) throw err;
  }
}
