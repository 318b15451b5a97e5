import pLimit from 'p-limit';
import type { Rule } from '../config/index.ts';
import type { RegistryClient } from '../registry/client.ts';
import type { Platform } from '../registry/manifest.ts';
import { formatRepository, type Repository } from '../registry/reference.ts';
import { type ExecuteOptions, startExecution } from './executor.ts';
import {
  dedupe,
  expandRule,
  needsTagList,
  originOf,
  planningGroups,
  type Shard,
  shardRules,
} from './plan.ts';
import { type SyncReport, totalsOf } from './results.ts';
import type { TaskResult } from './types.ts';

export interface SyncOptions extends Omit<ExecuteOptions, 'blobConcurrency'> {
  readonly blobConcurrency?: number;
  /** Applied to every rule that names no platforms of its own. */
  readonly platforms?: readonly Platform[];
  /** Whether referrers travel with images, for rules that do not say. */
  readonly referrers?: boolean;
  readonly shard?: Shard;
}

/** The client calls the engine makes. */
export type SyncClient = Pick<RegistryClient, 'connect' | 'repository'>;

/**
 * Rules in, one result per destination tag out: list tags, plan, copy, retry. A group of rules
 * starts copying as soon as its own tag lists are in, not when every source has been listed.
 */
export async function sync(
  rules: readonly Rule[],
  client: SyncClient,
  opts: SyncOptions,
): Promise<SyncReport> {
  const started = performance.now();
  const mine = shardRules(rules, opts.shard);
  client.connect(mine.flatMap((r) => [r.source, ...r.destinations.map((d) => d.repo)]));
  const execution = startExecution(client, {
    ...opts,
    blobConcurrency: opts.blobConcurrency ?? opts.concurrency * 2,
  });
  const listTags = tagLister(client, opts);
  const planning = await Promise.allSettled(
    planningGroups(mine).map(async (group) => {
      const { tasks: planned, failures, unmatched } = await planGroup(group, listTags, opts);
      const { tasks, conflicts } = dedupe(planned);
      opts.emit({ type: 'planned', tasks, unplanned: failures });
      for (const result of failures) opts.emit({ type: 'task-finished', result });
      execution.add(tasks);
      return { failures, warnings: [...unmatched, ...conflicts] };
    }),
  );
  // Whatever was started ends before the run does, even when planning some group failed.
  const done = await execution.finish();
  const groups = planning.map((p) => {
    if (p.status === 'rejected') throw p.reason;
    return p.value;
  });
  const results = [...groups.flatMap((g) => g.failures), ...inRulesOrder(done, mine)];
  const idle =
    opts.shard !== undefined && mine.length === 0 && rules.length > 0
      ? [
          `shard ${opts.shard.index}/${opts.shard.count}: none of the ${rules.length} ${rules.length === 1 ? "rule's" : "rules'"} destination repositories falls in it`,
        ]
      : [];
  return {
    results,
    totals: totalsOf(results, Math.round(performance.now() - started)),
    dryRun: opts.dryRun,
    warnings: [...idle, ...groups.flatMap((g) => g.warnings)],
  };
}

/** Each source repository listed once, however many rules read it. */
function tagLister(client: SyncClient, opts: SyncOptions): (source: Repository) => Promise<string[]> {
  const limit = pLimit(opts.concurrency);
  const listings = new Map<string, Promise<string[]>>();
  return (source) => {
    const key = formatRepository(source);
    let listing = listings.get(key);
    if (listing === undefined) {
      listing = limit(() => client.repository(source, 'pull', opts.abort).listTags());
      listings.set(key, listing);
    }
    return listing;
  };
}

/**
 * The tasks of a group of rules, in rules' order; a source that cannot be listed fails its
 * destinations, and a rule that selects from a listing but matches no tag is said (a mistyped pattern
 * would otherwise pass for a run with nothing to do).
 */
async function planGroup(
  rules: readonly Rule[],
  listTags: (source: Repository) => Promise<string[]>,
  opts: SyncOptions,
) {
  const failures: TaskResult[] = [];
  const unmatched: (string | undefined)[] = [];
  const expanded = await Promise.all(
    rules.map(async (rule, i) => {
      try {
        const listed = needsTagList(rule) ? await listTags(rule.source) : undefined;
        const tasks = expandRule(rule, listed, opts);
        if (tasks.length === 0 && (listed !== undefined || rule.filter !== undefined)) {
          const count = listed === undefined ? '' : ` (${listed.length} listed)`;
          unmatched[i] = `${originOf(rule)}: no tag of ${formatRepository(rule.source)} matches${count}`;
        }
        return tasks;
      } catch (error) {
        for (const dest of rule.destinations) {
          failures.push({
            source: formatRepository(rule.source),
            destination: formatRepository(dest.repo),
            status: 'failed',
            bytes: 0,
            referrers: 0,
            durationMs: 0,
            attempts: 1,
            error,
            origin: originOf(rule),
          });
        }
        return [];
      }
    }),
  );
  return { tasks: expanded.flat(), failures, unmatched: unmatched.filter((w) => w !== undefined) };
}

/** Rules' order, whatever order the groups' tag lists arrived in. */
function inRulesOrder(results: TaskResult[], rules: readonly Rule[]): TaskResult[] {
  const order = new Map(rules.map((r, i) => [originOf(r), i]));
  return results
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (order.get(a.r.origin) ?? 0) - (order.get(b.r.origin) ?? 0) || a.i - b.i)
    .map(({ r }) => r);
}
