import type { SyncReport } from '../sync/results.ts';
import type { RateLimit, TaskResult } from '../sync/types.ts';
import { explain } from './explain.ts';
import { formatBytes, formatDuration, shortDigest } from './format.ts';

export interface SummaryExtras {
  readonly rateLimits?: readonly RateLimit[];
  /** Rows per table before the rest is counted instead of listed (summaries are capped at 1 MiB). */
  readonly maxRows?: number;
}

/** Markdown for the job summary, from the report alone. */
export function renderSummary(report: SyncReport, extras: SummaryExtras = {}): string {
  const max = extras.maxRows ?? 500;
  const by = (status: TaskResult['status']) =>
    report.results
      .filter((r) => r.status === status)
      .sort((a, b) => a.destination.localeCompare(b.destination));
  const failed = by('failed');
  const copied = report.dryRun ? by('planned') : by('synced');
  const skipped = by('skipped');
  const deferred = by('deferred');
  const t = report.totals;
  const out: string[] = [];

  if (report.dryRun) {
    out.push(
      `## image-sync dry run: ${copied.length} to copy, ${skipped.length} already in place, ${failed.length} failed`,
    );
    out.push('', 'Nothing was written. This is the plan.');
  } else {
    const deferred = t.deferred > 0 ? `, ${t.deferred} deferred` : '';
    out.push(`## image-sync: ${t.synced} synced, ${t.skipped} skipped, ${t.failed} failed${deferred}`);
    out.push('', `${formatBytes(t.bytes)} copied in ${formatDuration(t.durationMs)}.`);
  }
  for (const w of report.warnings) out.push('', `> [!WARNING]\n> ${escapeMarkdown(w)}`);
  const filtered = report.results.filter((r) => r.sourceDigest !== undefined && r.status !== 'failed');
  if (filtered.length > 0)
    out.push(
      '',
      `${filtered.length} index(es) were filtered by platform, so their digests differ from the source.`,
    );

  if (failed.length > 0) {
    out.push('', '### Failed', '', '| Source | Destination | Reason | Hint |', '| --- | --- | --- | --- |');
    for (const r of failed.slice(0, max)) {
      const e = explain(r.error);
      out.push(row([r.source, r.destination, e.reason, e.hint ?? '']));
    }
    out.push(...leftOut(failed.length, max));
  }
  if (copied.length > 0 && report.dryRun) {
    // Nothing moved: a size or a time here would read as a measurement.
    out.push('', '### To copy', '', '| Source | Destination | Digest |', '| --- | --- | --- |');
    for (const r of copied.slice(0, max))
      out.push(row([r.source, r.destination, code(shortDigest(r.digest))]));
    out.push(...leftOut(copied.length, max));
  } else if (copied.length > 0) {
    out.push('', '### Synced', '');
    out.push('| Source | Destination | Digest | Size | Time |', '| --- | --- | --- | --- | --- |');
    for (const r of copied.slice(0, max))
      out.push(
        row([
          r.source,
          r.destination,
          code(shortDigest(r.digest)),
          formatBytes(r.bytes),
          formatDuration(r.durationMs),
        ]),
      );
    out.push(...leftOut(copied.length, max));
  }
  if (skipped.length > 0) {
    out.push('', `<details><summary>Already in place (${skipped.length})</summary>`, '');
    out.push('| Source | Destination | Digest |', '| --- | --- | --- |');
    for (const r of skipped.slice(0, max))
      out.push(row([r.source, r.destination, code(shortDigest(r.digest))]));
    out.push(...leftOut(skipped.length, max), '', '</details>');
  }
  if (deferred.length > 0) {
    out.push('', `### Deferred (${deferred.length})`, '');
    out.push(
      "Not started: the source registry's pull quota reached its floor. The next run picks them up.",
      '',
    );
    out.push('| Source | Destination |', '| --- | --- |');
    for (const r of deferred.slice(0, max)) out.push(row([r.source, r.destination]));
    out.push(...leftOut(deferred.length, max));
  }
  const referrers = report.results.reduce((n, r) => n + r.referrers, 0);
  if (referrers > 0)
    out.push('', `${referrers} signatures, attestations and other referrers travelled with their images.`);
  for (const q of extras.rateLimits ?? [])
    out.push('', `${escapeMarkdown(q.registry)} pull quota: ${q.remaining} of ${q.limit} remaining.`);
  return `${out.join('\n')}\n`;
}

/** Markdown for the job summary of a run stopped by its configuration (exit 2): what to fix. */
export function renderConfigError(message: string): string {
  const problems = message.split('\n').filter((l) => l.trim() !== '');
  return [
    '## image-sync: configuration error',
    '',
    'Nothing was copied: fix the configuration and run again.',
    '',
    ...problems.map((p) => `- ${escapeMarkdown(p)}`),
    '',
  ].join('\n');
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => (c.startsWith('`') ? c : escapeMarkdown(c))).join(' | ')} |`;
}

const code = (s: string): string => (s === '' ? '' : `\`${s}\``);

function leftOut(total: number, max: number): string[] {
  return total > max ? ['', `_${total - max} more rows left out; every row is in the JSON report._`] : [];
}

/** Names are data: nothing in them may become Markdown or HTML. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]<>|~]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}
