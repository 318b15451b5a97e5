import type { Platform } from '../registry/manifest.ts';
import type { Reference } from '../registry/reference.ts';

/** One destination tag (or digest) to make equal to one source image. */
export interface Task {
  readonly source: Reference;
  readonly destination: Reference;
  /** Keep only these platforms of an index (its digest then changes). */
  readonly platforms?: readonly Platform[];
  /** Bring signatures, attestations and other referrers along (default on). */
  readonly referrers?: boolean;
  /** Every tag of the source repository, when this run listed them: a referrer tag not among them is not asked for. */
  readonly sourceTags?: ReadonlySet<string>;
  /** Where the rule came from, for messages: `file: key`. */
  readonly origin: string;
}

/** `deferred`: not started because the source registry's pull quota reached its floor. */
export type Status = 'synced' | 'skipped' | 'failed' | 'planned' | 'deferred';

export interface TaskResult {
  readonly source: string;
  readonly destination: string;
  readonly status: Status;
  /** Digest now at (or, in a dry run, due at) the destination. */
  readonly digest?: string;
  /** The source's digest when a platform filter wrote a different one. */
  readonly sourceDigest?: string;
  /** Bytes of blobs that crossed the wire for this tag. */
  readonly bytes: number;
  /** Signatures, attestations and other referrers copied with it. */
  readonly referrers: number;
  readonly durationMs: number;
  readonly attempts: number;
  readonly error?: unknown;
  readonly origin: string;
}

export type SyncEvent =
  /**
   * Once per group of rules that share destination repositories, before any of its tasks start.
   * `unplanned`: destinations already failed while planning (their source could not be listed); their
   * `task-finished` events come right after this one.
   */
  | { readonly type: 'planned'; readonly tasks: readonly Task[]; readonly unplanned: readonly TaskResult[] }
  | { readonly type: 'task-started'; readonly task: Task }
  | { readonly type: 'task-finished'; readonly result: TaskResult }
  /** Blob bytes copied as they stream; negative when a failed transfer takes its bytes back. */
  | { readonly type: 'bytes'; readonly bytes: number }
  | { readonly type: 'retry'; readonly what: string; readonly error: unknown; readonly retriesLeft: number }
  | { readonly type: 'index-filtered'; readonly task: Task; readonly from: string; readonly to: string };

/** The engine logs through this; the shells decide where lines go. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A registry's pull quota as its `ratelimit-*` headers last said (Docker Hub sends them). */
export interface RateLimit {
  readonly registry: string;
  readonly remaining: number;
  readonly limit: number;
}
