import { describe, expect, it } from 'vitest';
import { parseReference } from '../../../src/registry/reference.ts';
import { Progress, RepositoryGroups } from '../../../src/report/progress.ts';
import type { SyncEvent, Task, TaskResult } from '../../../src/sync/types.ts';

const task = (destination: string): Task => ({
  source: parseReference(`q.io/src/${destination.split('/').pop()}`),
  destination: parseReference(`r.io/${destination}`),
  origin: 'images.yaml: x',
});

const result = (destination: string, status: TaskResult['status'] = 'synced'): TaskResult => ({
  source: 'q.io/src/x:1',
  destination: `r.io/${destination}`,
  status,
  bytes: 0,
  referrers: 0,
  durationMs: 1,
  attempts: 1,
  origin: 'images.yaml: x',
});
const finished = (destination: string, status: TaskResult['status'] = 'synced'): SyncEvent => ({
  type: 'task-finished',
  result: result(destination, status),
});

// The engine plans each group of rules on its own: one `planned` event per group, as its tags arrive.
// A destination whose source could not be listed comes in `unplanned`; its `task-finished` follows.
const plannedA: SyncEvent = { type: 'planned', tasks: [task('m/a:1'), task('m/a:2')], unplanned: [] };
const plannedB: SyncEvent = { type: 'planned', tasks: [task('m/b:1')], unplanned: [result('m/c', 'failed')] };

describe('Progress', () => {
  it('adds up the tags of every planned group', () => {
    const progress = new Progress();
    progress.onEvent(plannedA);
    progress.onEvent(finished('m/a:1'));
    progress.onEvent(plannedB);
    progress.onEvent(finished('m/c', 'failed'));
    expect(progress.line()).toMatch(/^2\/4 tags done, 1 failed · /);
    progress.onEvent(finished('m/b:1'));
    expect(progress.line()).toMatch(/^3\/4 tags done, 1 failed · /);
  });
});

describe('RepositoryGroups', () => {
  it('hands over each repository once its last tag is done, whichever group planned it', () => {
    const flushed: string[] = [];
    const groups = new RepositoryGroups((repo, lines) => flushed.push(`${repo}: ${lines.join(', ')}`));
    const describe = (e: Extract<SyncEvent, { type: 'task-finished' }>) => e.result.destination;
    groups.onEvent(plannedA, describe);
    groups.onEvent(finished('m/a:1'), describe);
    groups.onEvent(plannedB, describe);
    groups.onEvent(finished('m/b:1'), describe);
    groups.onEvent(finished('m/a:2'), describe);
    groups.onEvent(finished('m/c', 'failed'), describe);
    expect(flushed).toEqual([
      'r.io/m/b: r.io/m/b:1',
      'r.io/m/a: r.io/m/a:1, r.io/m/a:2',
      'r.io/m/c: r.io/m/c',
    ]);
  });

  it('waits for the tags of a repository some of whose sources could not be listed', () => {
    const flushed: string[] = [];
    const groups = new RepositoryGroups((repo, lines) => flushed.push(`${repo}: ${lines.join(', ')}`));
    const describe = (e: Extract<SyncEvent, { type: 'task-finished' }>) => e.result.destination;
    // Two rules into m/a: one source listed (m/a:1), the other not.
    groups.onEvent(
      { type: 'planned', tasks: [task('m/a:1')], unplanned: [result('m/a', 'failed')] },
      describe,
    );
    groups.onEvent(finished('m/a', 'failed'), describe);
    expect(flushed).toEqual([]);
    groups.onEvent(finished('m/a:1'), describe);
    expect(flushed).toEqual(['r.io/m/a: r.io/m/a, r.io/m/a:1']);
  });
});
