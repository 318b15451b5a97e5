import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../../src/registry/errors.ts';
import { escapeMarkdown, renderSummary } from '../../../src/report/summary.ts';
import type { SyncReport } from '../../../src/sync/results.ts';
import { totalsOf } from '../../../src/sync/results.ts';
import type { TaskResult } from '../../../src/sync/types.ts';

const base = { bytes: 0, referrers: 0, durationMs: 5, attempts: 1, origin: 'f: k' };
const D = `sha256:${'ab'.repeat(32)}`;

function report(results: TaskResult[], dryRun = false): SyncReport {
  return { results, totals: totalsOf(results, 1234), dryRun, warnings: [] };
}

describe('renderSummary', () => {
  const synced: TaskResult = {
    ...base,
    source: 'a/x:1',
    destination: 'b/x:1',
    status: 'synced',
    digest: D,
    bytes: 2_500_000,
  };
  const skipped: TaskResult = {
    ...base,
    source: 'a/x:2',
    destination: 'b/x:2',
    status: 'skipped',
    digest: D,
  };
  const failed: TaskResult = {
    ...base,
    source: 'a/y:1',
    destination: 'b/y:1',
    status: 'failed',
    error: new RegistryError('nope', { status: 401, target: 'b/v2/y' }),
  };

  it('puts the headline, then failures with hints, then synced, then skipped collapsed', () => {
    const md = renderSummary(report([skipped, synced, failed]));
    expect(md).toMatch(/^## image-sync: 1 synced, 1 skipped, 1 failed/);
    const failedAt = md.indexOf('### Failed');
    const syncedAt = md.indexOf('### Synced');
    const skippedAt = md.indexOf('<details><summary>Already in place (1)</summary>');
    expect(failedAt).toBeGreaterThan(0);
    expect(syncedAt).toBeGreaterThan(failedAt);
    expect(skippedAt).toBeGreaterThan(syncedAt);
    expect(md).toContain('authentication failed at b (401)');
    expect(md).toContain('wrong or missing credentials');
    expect(md).toContain('`abababababab`');
    expect(md).toContain('2.5 MB');
  });

  it('puts deferred tags in the heading, where they cannot be missed', () => {
    const md = renderSummary(
      report([synced, { ...synced, destination: 'b/x:2', status: 'deferred', bytes: 0 }]),
    );
    expect(md.split('\n')[0]).toBe('## image-sync: 1 synced, 0 skipped, 0 failed, 1 deferred');
  });

  it('says it is a plan in a dry run', () => {
    const md = renderSummary(report([{ ...synced, status: 'planned', bytes: 0 }], true));
    expect(md).toContain('dry run: 1 to copy');
    expect(md).toContain('Nothing was written');
    expect(md).toContain('### To copy');
    // Nothing moved: no size or time that would read as measured.
    expect(md).toContain('| Source | Destination | Digest |\n');
    expect(md).not.toContain('0 B');
  });

  it('caps long tables and says how many rows were left out', () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ ...synced, destination: `b/x:${i}` }));
    const md = renderSummary(report(many), { maxRows: 10 });
    expect(md.match(/\| a\/x:1 \|/g)?.length).toBe(10);
    expect(md).toContain('_20 more rows left out; every row is in the JSON report._');
  });

  it('reports pull quota when seen', () => {
    const md = renderSummary(report([synced]), {
      rateLimits: [{ registry: 'registry-1.docker.io', remaining: 42, limit: 100 }],
    });
    expect(md).toContain('42 of 100 remaining');
  });

  it('escapes Markdown and HTML in names', () => {
    expect(escapeMarkdown('a|b<script>*x*_[y](z)')).toBe('a\\|b\\<script\\>\\*x\\*\\_\\[y\\](z)');
    const md = renderSummary(report([{ ...synced, source: 'x|<b>' }]));
    expect(md).toContain('x\\|\\<b\\>');
    expect(md).not.toContain('<b>');
  });
});
