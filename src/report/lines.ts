import { formatReference, formatRepository } from '../registry/reference.ts';
import type { SyncEvent, TaskResult } from '../sync/types.ts';
import { explain } from './explain.ts';
import { formatBytes, formatDuration, shortDigest } from './format.ts';

/** One log line per finished tag. */
export function describeResult(r: TaskResult): string {
  const arrow = `${r.source} → ${r.destination}`;
  switch (r.status) {
    case 'synced':
      return `✔ ${arrow} ${shortDigest(r.digest)} ${formatBytes(r.bytes)} in ${formatDuration(r.durationMs)}`;
    case 'skipped':
      return `= ${arrow} already up to date (${shortDigest(r.digest)})`;
    case 'planned':
      return `+ ${arrow} would copy ${shortDigest(r.digest)}`;
    case 'deferred':
      return `… ${arrow} deferred: the source registry's pull quota is at its floor`;
    case 'failed': {
      const e = explain(r.error);
      return `✘ ${arrow}: ${e.reason}${e.hint ? ` — ${e.hint}` : ''}`;
    }
  }
}

/** The warning for an index a platform filter rewrote (its digest is no longer the source's). */
export function describeFiltered(e: Extract<SyncEvent, { type: 'index-filtered' }>): string {
  // Untagged, the destination is addressed by the new index's digest: the repository is its name.
  const dest =
    e.task.destination.tag === undefined
      ? formatRepository(e.task.destination)
      : formatReference(e.task.destination);
  return `platform filter: ${dest} gets a new index ${e.to}, not the source's ${e.from}`;
}

/** A retry, in one line: what failed, why, and how many tries are left. */
export function describeRetry(e: Extract<SyncEvent, { type: 'retry' }>): string {
  const what = e.what === 'request' ? '' : `${e.what}: `;
  return `↻ ${what}${explain(e.error).reason}; trying again (${e.retriesLeft} left)`;
}
