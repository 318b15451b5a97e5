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

/**
 * Runs `attempt` again on temporary errors with exponential backoff and jitter, waiting at least as
 * long as the server's Retry-After asked.
 */
export function withRetry<T>(
  attempt: () => Promise<T>,
  policy: RetryPolicy,
  onRetry?: (error: unknown, retriesLeft: number) => void,
  signal?: AbortSignal,
): Promise<T> {
  return pRetry(attempt, {
    retries: policy.retries,
    factor: 2,
    minTimeout: policy.minDelayMs,
    maxTimeout: policy.maxDelayMs,
    randomize: true,
    ...(signal !== undefined && { signal }),
    shouldRetry: ({ error }) => isTemporary(error),
    onFailedAttempt: async ({ error, retriesLeft }) => {
      if (retriesLeft === 0 || !isTemporary(error)) return;
      onRetry?.(error, retriesLeft);
      const wait = error instanceof RegistryError ? error.retryAfterMs : undefined;
      if (wait !== undefined) await sleep(Math.min(wait, policy.maxRetryAfterMs), undefined, { signal });
    },
  });
}
