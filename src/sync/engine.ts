import pLimit from 'p-limit';
import type { Rule } from '../config/index.ts';
import type { RegistryClient } from '../registry/client.ts';
import type { Platform } from '../registry/manifest.ts';
import { formatRepository } from '../registry/reference.ts';
import { type ExecuteOptions, executeTasks } from './executor.ts';
import { dedupe, expandRule, needsTagList, originOf, type Shard, shardRules } from './plan.ts';
import { type SyncReport, totalsOf } from './results.ts';
import type { Task, TaskResult } from './types.ts';

export interface SyncOptions extends Omit<ExecuteOptions, 'blobConcurrency'> {
  readonly blobConcurrency?: number;
  /** Applied to every rule that names no platforms of its own. */
  readonly platforms?: readonly Platform[];
  /** Whether referrers travel with images, for rules that do not say. */
  readonly referrers?: boolean;
  readonly shard?: Shard;
}

/** Rules in, one result per destination tag out: list tags, plan, copy, retry. */
export async function sync(
  rules: readonly Rule[],
  client: RegistryClient,
  opts: SyncOptions,
): Promise<SyncReport> {
  const started = performance.now();
  const mine = shardRules(rules, opts.shard);
  client.connect(mine.flatMap((r) => [r.source, ...r.destinations.map((d) => d.repo)]));
  const { tasks: planned, failures } = await planTasks(mine, client, opts);
  const { tasks, conflicts } = dedupe(planned);
  opts.emit({ type: 'planned', tasks, unplanned: failures.length });
  const done = await executeTasks(tasks, client, {
    ...opts,
    blobConcurrency: opts.blobConcurrency ?? opts.concurrency * 2,
  });
  const results = [...failures, ...done];
  return {
    results,
    totals: totalsOf(results, Math.round(performance.now() - started)),
    dryRun: opts.dryRun,
    warnings: conflicts,
  };
}

/** Lists the source tags each rule needs (each source once); a source that cannot be listed fails its destinations. */
async function planTasks(rules: readonly Rule[], client: RegistryClient, opts: SyncOptions) {
  const limit = pLimit(opts.concurrency);
  const listings = new Map<string, Promise<string[]>>();
  const list = (rule: Rule) => {
    const key = formatRepository(rule.source);
    let listing = listings.get(key);
    if (listing === undefined) {
      listing = limit(() => client.repository(rule.source, 'pull', opts.abort).listTags());
      listings.set(key, listing);
    }
    return listing;
  };
  const tasks: Task[] = [];
  const failures: TaskResult[] = [];
  await Promise.all(
    rules.map(async (rule) => {
      try {
        const tags = needsTagList(rule) ? await list(rule) : undefined;
        tasks.push(...expandRule(rule, tags, opts));
      } catch (error) {
        for (const dest of rule.destinations) {
          const result: TaskResult = {
            source: formatRepository(rule.source),
            destination: formatRepository(dest.repo),
            status: 'failed',
            bytes: 0,
            referrers: 0,
            durationMs: 0,
            attempts: 1,
            error,
            origin: originOf(rule),
          };
          failures.push(result);
          opts.emit({ type: 'task-finished', result });
        }
      }
    }),
  );
  return { tasks: sortStable(tasks, rules), failures };
}

/** Rules' order, whatever order their tag lists arrived in. */
function sortStable(tasks: Task[], rules: readonly Rule[]): Task[] {
  const order = new Map(rules.map((r, i) => [originOf(r), i]));
  return tasks
    .map((t, i) => ({ t, i }))
    .sort((a, b) => (order.get(a.t.origin) ?? 0) - (order.get(b.t.origin) ?? 0) || a.i - b.i)
    .map(({ t }) => t);
}
