import { createHash } from 'node:crypto';
import type { Rule } from '../config/index.ts';
import type { Platform } from '../registry/manifest.ts';
import { formatReference, formatRepository, type Repository } from '../registry/reference.ts';
import { applyTagFilter } from './tag-filter.ts';
import type { Task } from './types.ts';

export interface Shard {
  /** 1-based: `2/3` is the second of three. */
  readonly index: number;
  readonly count: number;
}

export const originOf = (rule: Rule): string => `${rule.origin.file}: ${rule.origin.key}`;

/**
 * cosign's tags (`sha256-<hex>.sig`, `.att`, `.sbom`) and the OCI tag-scheme referrers index
 * (`sha256-<hex>`) belong to the image they name: they travel with it (or not, with referrers off),
 * not as images of their own when a rule takes all tags or a pattern.
 */
const ARTIFACT_TAG = /^sha256-[0-9a-f]{64}(\.[a-z]+)?$/;

/** Rules whose source tags must be listed before they can be expanded. */
export const needsTagList = (rule: Rule): boolean =>
  rule.select.kind === 'all' || rule.select.kind === 'regex';

/** Settings a rule may override. */
export interface RuleDefaults {
  readonly platforms?: readonly Platform[];
  readonly referrers?: boolean;
}

/** A rule and the tags its source has (when listed) → one task per destination tag. Pure. */
export function expandRule(
  rule: Rule,
  listed: readonly string[] | undefined,
  defaults: RuleDefaults = {},
): Task[] {
  const origin = originOf(rule);
  const wanted = rule.platforms ?? defaults.platforms;
  const referrers = rule.referrers ?? defaults.referrers ?? true;
  const extra = {
    referrers,
    ...(wanted !== undefined && wanted.length > 0 && { platforms: wanted }),
    ...(listed !== undefined && { sourceTags: new Set(listed) }),
  };
  const select = rule.select;
  if (select.kind === 'digest') {
    return rule.destinations.map((dest) => {
      const tag = dest.tags?.[0];
      return {
        source: { ...rule.source, digest: select.digest },
        destination: tag === undefined ? { ...dest.repo, digest: select.digest } : { ...dest.repo, tag },
        origin,
        ...extra,
      };
    });
  }
  let tags: readonly string[];
  if (select.kind === 'list') tags = select.tags;
  else {
    const images = (listed ?? []).filter((t) => !ARTIFACT_TAG.test(t));
    const pattern =
      select.kind === 'regex'
        ? new RegExp(select.pattern.source, select.pattern.flags.replace('g', ''))
        : undefined;
    tags = pattern === undefined ? images : images.filter((t) => pattern.test(t));
  }
  if (rule.filter !== undefined) tags = applyTagFilter([...tags], rule.filter);
  return rule.destinations.flatMap((dest) =>
    tags.map((tag) => ({
      source: { ...rule.source, tag },
      destination: { ...dest.repo, tag: renamed(dest.tags, select, tag) },
      origin,
      ...extra,
    })),
  );
}

/** The first rule to claim a destination tag keeps it; later claims are reported, not run twice. */
export function dedupe(tasks: readonly Task[]): { tasks: Task[]; conflicts: string[] } {
  const seen = new Map<string, Task>();
  const conflicts: string[] = [];
  for (const task of tasks) {
    const key = formatReference(task.destination);
    const first = seen.get(key);
    if (first === undefined) seen.set(key, task);
    else if (formatReference(first.source) !== formatReference(task.source))
      conflicts.push(
        `${key} is the destination of both ${formatReference(first.source)} (${first.origin}) and ${formatReference(task.source)} (${task.origin}); keeping the first`,
      );
  }
  return { tasks: [...seen.values()], conflicts };
}

/**
 * Rules that write into a common destination repository, grouped, each group in rules' order. A
 * group is planned as one (its tag lists, then `dedupe`), so groups start copying without waiting
 * for each other while the first rule to claim a tag still keeps it.
 */
export function planningGroups(rules: readonly Rule[]): Rule[][] {
  const root = rules.map((_, i) => i);
  const find = (i: number): number => {
    while (root[i] !== i) {
      root[i] = root[root[i]!]!;
      i = root[i]!;
    }
    return i;
  };
  const owner = new Map<string, number>();
  rules.forEach((rule, i) => {
    for (const dest of rule.destinations) {
      const key = formatRepository(dest.repo);
      const first = owner.get(key);
      if (first === undefined) owner.set(key, i);
      else root[find(i)] = find(first);
    }
  });
  const groups = new Map<number, Rule[]>();
  rules.forEach((rule, i) => {
    const key = find(i);
    const members = groups.get(key);
    if (members === undefined) groups.set(key, [rule]);
    else members.push(rule);
  });
  return [...groups.values()];
}

/** Stable across runs and machines, so matrix jobs agree on who owns what without talking. */
export function shardOf(repo: Repository, count: number): number {
  const hash = createHash('sha256').update(formatRepository(repo)).digest();
  return (hash.readUInt32BE(0) % count) + 1;
}

/** Keeps only the destinations (whole repositories) that belong to this shard. */
export function shardRules(rules: readonly Rule[], shard: Shard | undefined): Rule[] {
  if (shard === undefined || shard.count === 1) return [...rules];
  return rules.flatMap((rule) => {
    const destinations = rule.destinations.filter((d) => shardOf(d.repo, shard.count) === shard.index);
    return destinations.length === 0 ? [] : [{ ...rule, destinations }];
  });
}

/** `repo:a,b` → `repo:x,y` renames pairwise; every other form keeps the tag. */
function renamed(renames: readonly string[] | undefined, select: Rule['select'], tag: string): string {
  if (renames === undefined || select.kind !== 'list') return tag;
  return renames[select.tags.indexOf(tag)] ?? tag;
}
