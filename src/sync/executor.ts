import pLimit from 'p-limit';
import { RegistryError } from '../registry/errors.ts';
import { formatReference, type Repository } from '../registry/reference.ts';
import { DEFAULT_RETRY, pause, type RetryPolicy, retryAfterMs } from '../registry/transport/retry.ts';
import { BlobCopier } from './blobs.ts';
import { type CopyContext, copyImage } from './copy.ts';
import { QuotaDeferral } from './quota.ts';
import type { SyncEvent, Task, TaskResult } from './types.ts';

export interface ExecuteOptions {
  /** Images copied at once. */
  readonly concurrency: number;
  /** Blob transfers at once, across all images. */
  readonly blobConcurrency: number;
  /** Passes over the failed tasks after the first. */
  readonly retries: number;
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly retry?: RetryPolicy;
  /** Once aborted, no new task starts; running ones finish. */
  readonly stop?: AbortSignal;
  /** Once aborted, running requests are cut. */
  readonly abort?: AbortSignal;
  /** Whether a pull (manifest GET) from this repository's registry may start now. */
  readonly mayPull?: (repo: Repository) => boolean;
  readonly emit: (event: SyncEvent) => void;
}

/** Failures another pass will not change. */
function isPermanent(err: unknown): boolean {
  if (!(err instanceof RegistryError)) return false;
  // Refusals the client made itself (digest, TLS, plain HTTP, legacy manifests) and what the registry said no to.
  if (err.status === undefined) return !err.isTemporary();
  return [400, 401, 403, 404].includes(err.status);
}

/** Tasks run as they are added; `finish` waits for them, retries what may pass another time, and reports. */
export interface Execution {
  add(tasks: readonly Task[]): void;
  /** Results in the order the tasks were added. Call once, after the last `add`. */
  finish(): Promise<TaskResult[]>;
}

export function startExecution(client: CopyContext['client'], opts: ExecuteOptions): Execution {
  const images = pLimit(opts.concurrency);
  const policy = opts.retry ?? DEFAULT_RETRY;
  const blobs = new BlobCopier({
    limit: pLimit(opts.blobConcurrency),
    retry: policy,
    onBytes: (bytes) => opts.emit({ type: 'bytes', bytes }),
    onRetry: (what, error, retriesLeft) => opts.emit({ type: 'retry', what, error, retriesLeft }),
    ...(opts.stop !== undefined && { stop: opts.stop }),
  });
  const ctx: CopyContext = {
    client,
    blobs,
    force: opts.force,
    dryRun: opts.dryRun,
    emit: opts.emit,
    referrersCopied: new Map(),
    written: new Map(),
    manifestsCopied: new Map(),
    sourceManifests: new Map(),
    ...(opts.mayPull !== undefined && { mayPull: opts.mayPull }),
    ...(opts.abort !== undefined && { signal: opts.abort }),
  };
  const tasks: Task[] = [];
  const results: TaskResult[] = [];
  const firstPass: Promise<void>[] = [];
  const reported = new Set<number>();
  const report = (i: number) => {
    if (reported.has(i)) return;
    reported.add(i);
    opts.emit({ type: 'task-finished', result: results[i]! });
  };
  /** When the last failure another pass will retry came, and until when a registry asked for quiet. */
  let lastRetryableAt = 0;
  let quietUntil = 0;
  const attempt = (i: number, pass: number) =>
    images(async () => {
      const result = await runTask(tasks[i]!, pass + 1, ctx, opts);
      results[i] = result;
      const again = willRetry(result, opts);
      if (again) {
        lastRetryableAt = performance.now();
        quietUntil = Math.max(quietUntil, lastRetryableAt + retryAfterMs(result.error, policy));
      }
      if (pass === opts.retries || !again) report(i);
    });

  return {
    add(added) {
      for (const task of added) {
        const running = attempt(tasks.push(task) - 1, 0);
        // Observed now, reported by finish(): a failure must not count as unhandled while planning goes on.
        running.catch(() => {});
        firstPass.push(running);
      }
    },
    async finish() {
      await Promise.all(firstPass);
      const retryable = () => tasks.flatMap((_, i) => (willRetry(results[i]!, opts) ? [i] : []));
      for (let pass = 1, pending = retryable(); pass <= opts.retries && pending.length > 0; pass++) {
        // Not straight back at a registry that has just failed: a pass starts a backoff after the last
        // failure it retries (at once where the first pass ran on long after it), and not before a
        // Retry-After it was given has passed.
        const backoff = Math.min(policy.minDelayMs * 2 ** pass, policy.maxDelayMs);
        const wait = Math.max(lastRetryableAt + backoff, quietUntil) - performance.now();
        if (wait > 0) await pause(wait, { stop: opts.stop });
        pending = pending.filter((i) => willRetry(results[i]!, opts));
        await Promise.all(pending.map((i) => attempt(i, pass)));
        pending = retryable();
      }
      // Failed, and then not tried again after all (the run was stopped): reported all the same, once.
      for (let i = 0; i < results.length; i++) report(i);
      return results;
    },
  };
}

function willRetry(result: TaskResult, opts: ExecuteOptions): boolean {
  return result.status === 'failed' && !isPermanent(result.error) && !opts.stop?.aborted;
}

async function runTask(
  task: Task,
  attempt: number,
  ctx: CopyContext,
  opts: ExecuteOptions,
): Promise<TaskResult> {
  if (opts.stop?.aborted) return failure(task, new Error('cancelled before it started'), 0, attempt - 1);
  opts.emit({ type: 'task-started', task });
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const outcome = await copyImage(task, ctx);
    return {
      ...names(task, outcome.digest),
      ...outcome,
      durationMs: elapsed(),
      attempts: attempt,
      origin: task.origin,
    };
  } catch (error) {
    if (error instanceof QuotaDeferral)
      return { ...failure(task, error, elapsed(), attempt), status: 'deferred' };
    return failure(task, error, elapsed(), attempt);
  }
}

/**
 * An untagged destination is named by the digest it got: the source's, or the one a platform filter
 * gave the new index (`written`, once copied).
 */
function names(task: Task, written?: string): { source: string; destination: string } {
  const destination =
    task.destination.tag === undefined && written !== undefined
      ? { ...task.destination, digest: written }
      : task.destination;
  return { source: formatReference(task.source), destination: formatReference(destination) };
}

function failure(task: Task, error: unknown, durationMs: number, attempts: number): TaskResult {
  return {
    ...names(task),
    status: 'failed',
    bytes: 0,
    referrers: 0,
    durationMs,
    attempts,
    error,
    origin: task.origin,
  };
}
