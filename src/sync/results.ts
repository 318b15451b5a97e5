import type { TaskResult } from './types.ts';

export interface Totals {
  readonly synced: number;
  readonly skipped: number;
  readonly failed: number;
  readonly planned: number;
  readonly deferred: number;
  readonly bytes: number;
  readonly durationMs: number;
}

export interface SyncReport {
  readonly results: readonly TaskResult[];
  readonly totals: Totals;
  readonly dryRun: boolean;
  /** Problems with the rules found while planning (conflicting destinations). */
  readonly warnings: readonly string[];
}

export function totalsOf(results: readonly TaskResult[], durationMs: number): Totals {
  const count = (status: TaskResult['status']) => results.filter((r) => r.status === status).length;
  return {
    synced: count('synced'),
    skipped: count('skipped'),
    failed: count('failed'),
    planned: count('planned'),
    deferred: count('deferred'),
    bytes: results.reduce((sum, r) => sum + r.bytes, 0),
    durationMs,
  };
}
