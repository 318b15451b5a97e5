import { describe, expect, it } from 'vitest';
import type { Rule } from '../../../src/config/index.ts';
import { formatReference, parseRepository } from '../../../src/registry/reference.ts';
import { dedupe, expandRule, planningGroups, shardOf, shardRules } from '../../../src/sync/plan.ts';
import type { Task } from '../../../src/sync/types.ts';

const D = `sha256:${'d'.repeat(64)}`;

function rule(
  source: string,
  select: Rule['select'],
  dests: Array<[string, string[]?]>,
  extra: Partial<Rule> = {},
): Rule {
  return {
    origin: { file: 'images.yaml', key: source },
    source: parseRepository(source),
    select,
    destinations: dests.map(([repo, tags]) => ({
      repo: parseRepository(repo),
      ...(tags !== undefined && { tags }),
    })),
    ...extra,
  } as Rule;
}

const pairs = (tasks: Task[]) =>
  tasks.map((t) => `${formatReference(t.source)} -> ${formatReference(t.destination)}`);

describe('expandRule', () => {
  it('all tags, kept', () => {
    const tasks = expandRule(rule('nginx', { kind: 'all' }, [['ghcr.io/a/nginx']]), ['1', '2']);
    expect(pairs(tasks)).toEqual([
      'docker.io/library/nginx:1 -> ghcr.io/a/nginx:1',
      'docker.io/library/nginx:2 -> ghcr.io/a/nginx:2',
    ]);
  });
  it("leaves out the tags of an image's signatures and referrers: they travel with it", () => {
    const sig = `sha256-${'a'.repeat(64)}.sig`;
    const index = `sha256-${'a'.repeat(64)}`;
    const all = expandRule(rule('q.io/a/b', { kind: 'all' }, [['r.io/x/b']]), ['1', sig, index]);
    expect(pairs(all)).toEqual(['q.io/a/b:1 -> r.io/x/b:1']);
    const everything = rule('q.io/a/b', { kind: 'regex', pattern: /.*/ }, [['r.io/x/b']]);
    expect(pairs(expandRule(everything, ['1', sig]))).toEqual(['q.io/a/b:1 -> r.io/x/b:1']);
    // Named, it is copied as asked.
    const named = rule('q.io/a/b', { kind: 'list', tags: [sig] }, [['r.io/x/b']]);
    expect(pairs(expandRule(named, undefined))).toEqual([`q.io/a/b:${sig} -> r.io/x/b:${sig}`]);
  });
  it('a list renamed pairwise, to several destinations', () => {
    const r = rule('q.io/a/b', { kind: 'list', tags: ['t1', 't2'] }, [
      ['r.io/x/b', ['n1', 'n2']],
      ['s.io/y/b'],
    ]);
    expect(pairs(expandRule(r, undefined))).toEqual([
      'q.io/a/b:t1 -> r.io/x/b:n1',
      'q.io/a/b:t2 -> r.io/x/b:n2',
      'q.io/a/b:t1 -> s.io/y/b:t1',
      'q.io/a/b:t2 -> s.io/y/b:t2',
    ]);
  });
  it('a regex over the listed tags', () => {
    const r = rule('q.io/a/b', { kind: 'regex', pattern: /^v1\./ }, [['r.io/x/b']]);
    expect(pairs(expandRule(r, ['v1.0', 'v2.0', 'v1.1', 'xv1.2']))).toEqual([
      'q.io/a/b:v1.0 -> r.io/x/b:v1.0',
      'q.io/a/b:v1.1 -> r.io/x/b:v1.1',
    ]);
  });
  it('by digest, to a tag or by digest', () => {
    const r = rule('q.io/a/b', { kind: 'digest', digest: D }, [['r.io/x/b', ['pinned']], ['s.io/y/b']]);
    expect(pairs(expandRule(r, undefined))).toEqual([
      `q.io/a/b@${D} -> r.io/x/b:pinned`,
      `q.io/a/b@${D} -> s.io/y/b@${D}`,
    ]);
  });
  it('carries platforms: the rule’s own over the global ones', () => {
    const amd = [{ os: 'linux', architecture: 'amd64' }];
    const arm = [{ os: 'linux', architecture: 'arm64' }];
    expect(
      expandRule(rule('a.io/b', { kind: 'list', tags: ['1'] }, [['c.io/d']]), undefined, {
        platforms: amd,
      })[0]?.platforms,
    ).toEqual(amd);
    expect(
      expandRule(rule('a.io/b', { kind: 'list', tags: ['1'] }, [['c.io/d']], { platforms: arm }), undefined, {
        platforms: amd,
      })[0]?.platforms,
    ).toEqual(arm);
  });

  it('carries referrers: on by default, off per rule or globally', () => {
    const r = (extra: Partial<Rule>) => rule('a.io/b', { kind: 'list', tags: ['1'] }, [['c.io/d']], extra);
    expect(expandRule(r({}), undefined)[0]?.referrers).toBe(true);
    expect(expandRule(r({ referrers: false }), undefined)[0]?.referrers).toBe(false);
    expect(expandRule(r({}), undefined, { referrers: false })[0]?.referrers).toBe(false);
    expect(expandRule(r({ referrers: true }), undefined, { referrers: false })[0]?.referrers).toBe(true);
  });
});

describe('dedupe', () => {
  it('keeps the first claim of a destination tag and reports a conflicting one', () => {
    const a = expandRule(rule('a.io/x', { kind: 'list', tags: ['1'] }, [['c.io/d']]), undefined);
    const b = expandRule(rule('b.io/y', { kind: 'list', tags: ['1'] }, [['c.io/d']]), undefined);
    const { tasks, conflicts } = dedupe([...a, ...b, ...a]);
    expect(pairs(tasks)).toEqual(['a.io/x:1 -> c.io/d:1']);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toContain('c.io/d:1 is the destination of both a.io/x:1');
  });
});

describe('planningGroups', () => {
  const sources = (groups: Rule[][]) => groups.map((g) => g.map((r) => r.source.repository));
  it('plans rules with destinations of their own apart', () => {
    const rules = [
      rule('q.io/a', { kind: 'all' }, [['r.io/m/a']]),
      rule('q.io/b', { kind: 'all' }, [['r.io/m/b']]),
    ];
    expect(sources(planningGroups(rules))).toEqual([['a'], ['b']]);
  });
  it('plans rules that share a destination repository together, in rules’ order', () => {
    const rules = [
      rule('q.io/a', { kind: 'all' }, [['r.io/m/x']]),
      rule('q.io/b', { kind: 'all' }, [['r.io/m/b']]),
      rule('q.io/c', { kind: 'list', tags: ['1'] }, [['r.io/m/x', ['one']]]),
    ];
    expect(sources(planningGroups(rules))).toEqual([['a', 'c'], ['b']]);
  });
  it('joins two groups through a rule that writes into both', () => {
    const rules = [
      rule('q.io/a', { kind: 'all' }, [['r.io/m/x']]),
      rule('q.io/b', { kind: 'all' }, [['r.io/m/y']]),
      rule('q.io/c', { kind: 'all' }, [['r.io/m/z']]),
      rule('q.io/d', { kind: 'all' }, [['r.io/m/y'], ['r.io/m/x']]),
    ];
    expect(sources(planningGroups(rules))).toEqual([['a', 'b', 'd'], ['c']]);
  });
});

describe('sharding', () => {
  const repos = Array.from({ length: 60 }, (_, i) => `reg.io/mirror/repo-${i}`);
  const rules = repos.map((r) => rule(`src.io/${r.split('/').pop()}`, { kind: 'all' }, [[r]]));

  it('splits destinations into disjoint shards that cover everything', () => {
    const n = 3;
    const seen = new Map<string, number>();
    for (let i = 1; i <= n; i++)
      for (const r of shardRules(rules, { index: i, count: n }))
        for (const d of r.destinations) seen.set(d.repo.repository, (seen.get(d.repo.repository) ?? 0) + 1);
    expect(seen.size).toBe(repos.length);
    expect([...seen.values()].every((v) => v === 1)).toBe(true);
  });
  it('is stable and uses every shard', () => {
    const counts = [0, 0, 0];
    for (const r of repos) counts[shardOf(parseRepository(r), 3) - 1]!++;
    expect(counts.every((c) => c > 5)).toBe(true);
    expect(shardOf(parseRepository('reg.io/a/b'), 4)).toBe(shardOf(parseRepository('reg.io/a/b'), 4));
  });
  it('keeps a rule only with its destinations in this shard', () => {
    const two = rule(
      'src.io/x',
      { kind: 'all' },
      repos.slice(0, 10).map((r) => [r] as [string]),
    );
    const mine = shardRules([two], { index: 2, count: 2 });
    const expected = repos.slice(0, 10).filter((r) => shardOf(parseRepository(r), 2) === 2);
    expect(mine[0]?.destinations.map((d) => `reg.io/${d.repo.repository}`)).toEqual(expected);
  });
});
