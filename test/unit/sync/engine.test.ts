import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Rule } from '../../../src/config/index.ts';
import type { ManifestHead } from '../../../src/registry/client/manifests.ts';
import { RegistryError } from '../../../src/registry/errors.ts';
import { parseRepository, type Repository } from '../../../src/registry/reference.ts';
import type { ImageStore } from '../../../src/registry/store.ts';
import { type SyncClient, type SyncOptions, sync } from '../../../src/sync/engine.ts';
import type { SyncEvent } from '../../../src/sync/types.ts';
import { refusing } from '../../support/stores.ts';

const head = (hex: string): ManifestHead => ({
  digest: `sha256:${hex.repeat(64)}`,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 1,
});

const allTags = (source: string, destination: string): Rule => ({
  origin: { file: 'images.yaml', key: source },
  source: parseRepository(source),
  select: { kind: 'all' },
  destinations: [{ repo: parseRepository(destination) }],
});

/** Stores by repository name; every call not given here throws. */
function client(stores: Record<string, Partial<ImageStore>>): SyncClient {
  return {
    connect: () => {},
    repository: (repo: Repository) => ({
      ...refusing(repo.registry, repo.repository),
      ...stores[repo.repository],
    }),
  };
}

/** Resolves once `done()` is true, checking every millisecond for at most two seconds. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !done(); i++) await sleep(1);
}

function options(events: SyncEvent[] = [], retries = 0): SyncOptions {
  return {
    concurrency: 4,
    retries,
    force: false,
    dryRun: false,
    referrers: false,
    emit: (e) => events.push(e),
  };
}

describe('sync', () => {
  it('copies a group whose tags are in while another source is still being listed', async () => {
    let bAsked = false;
    let aListed = false;
    const events: SyncEvent[] = [];
    let bAskedBeforeAListed: boolean | undefined;
    const up = head('1');
    const stores = client({
      'src/a': {
        listTags: async () => {
          // Bounded, so an engine that waits for every list first fails instead of hanging.
          await until(() => bAsked);
          aListed = true;
          return ['1'];
        },
        headManifest: async () => up,
      },
      'src/b': {
        listTags: async () => ['1'],
        headManifest: async () => {
          bAskedBeforeAListed ??= !aListed;
          bAsked = true;
          return up;
        },
      },
      'mirror/a': { headManifest: async () => up },
      'mirror/b': { headManifest: async () => up },
    });
    const report = await sync(
      [allTags('q.io/src/a', 'r.io/mirror/a'), allTags('q.io/src/b', 'r.io/mirror/b')],
      stores,
      options(events),
    );
    expect(bAskedBeforeAListed).toBe(true);
    expect(events.filter((e) => e.type === 'planned')).toHaveLength(2);
    expect(report.results.map((r) => `${r.status} ${r.destination}`)).toEqual([
      'skipped r.io/mirror/a:1',
      'skipped r.io/mirror/b:1',
    ]);
  });

  it("announces a group's plan before the results of its rules whose source could not be listed", async () => {
    const events: SyncEvent[] = [];
    const up = head('1');
    const stores = client({
      'src/a': {
        listTags: async () => {
          throw new RegistryError('GET q.io/v2/src/a/tags/list: 404 Not Found', { status: 404 });
        },
      },
      'src/b': {
        // Listed after a's failure, so that a group planned at once would not pass by accident.
        listTags: async () => {
          await sleep(5);
          return ['1'];
        },
        headManifest: async () => up,
      },
      'mirror/x': { headManifest: async () => up },
    });
    await sync(
      [allTags('q.io/src/a', 'r.io/mirror/x'), allTags('q.io/src/b', 'r.io/mirror/x')],
      stores,
      options(events),
    );
    expect(
      events.map((e) => (e.type === 'task-finished' ? `${e.type} ${e.result.destination}` : e.type)),
    ).toEqual(['planned', 'task-finished r.io/mirror/x', 'task-started', 'task-finished r.io/mirror/x:1']);
  });

  it('says which rules matched no tag, so that a mistyped pattern does not pass for a run with nothing to do', async () => {
    const stores = client({
      'src/a': { listTags: async () => ['1.0', '2.0'] },
      'src/empty': { listTags: async () => [] },
    });
    const typo: Rule = {
      ...allTags('q.io/src/a', 'r.io/mirror/a'),
      select: { kind: 'regex', pattern: /^v1\./ },
    };
    const report = await sync([typo, allTags('q.io/src/empty', 'r.io/mirror/empty')], stores, options());
    expect(report.results).toEqual([]);
    expect(report.warnings).toEqual([
      'images.yaml: q.io/src/a: no tag of q.io/src/a matches (2 listed)',
      'images.yaml: q.io/src/empty: no tag of q.io/src/empty matches (0 listed)',
    ]);
  });

  it('says so when a shard gets no destination repository', async () => {
    const rules = [allTags('q.io/src/a', 'r.io/mirror/a')];
    const mine = await sync(rules, client({}), { ...options(), shard: { index: 1, count: 1 } });
    expect(mine.warnings).toEqual([]);
    const other = await sync(rules, client({}), { ...options(), shard: { index: 2, count: 1000 } });
    expect(other.warnings).toEqual([
      "shard 2/1000: none of the 1 rule's destination repositories falls in it",
    ]);
  });

  it('lets the first rule keep a contested tag even when its tags arrive last', async () => {
    let bListed = false;
    const fromA = head('a');
    const events: SyncEvent[] = [];
    const stores = client({
      'src/a': {
        listTags: async () => {
          await until(() => bListed);
          return ['1'];
        },
        headManifest: async () => fromA,
      },
      'src/b': {
        listTags: async () => {
          bListed = true;
          return ['1'];
        },
        headManifest: async () => head('b'),
      },
      // Already holds a's image: a's task is a no-op, b's would have to copy (and the stores refuse).
      'mirror/x': { headManifest: async () => fromA },
    });
    const report = await sync(
      [allTags('q.io/src/a', 'r.io/mirror/x'), allTags('q.io/src/b', 'r.io/mirror/x')],
      stores,
      options(events),
    );
    expect(report.results).toMatchObject([
      { status: 'skipped', source: 'q.io/src/a:1', destination: 'r.io/mirror/x:1' },
    ]);
    expect(report.warnings).toEqual([
      expect.stringMatching(
        /r\.io\/mirror\/x:1 is the destination of both q\.io\/src\/a:1 .* keeping the first/,
      ),
    ]);
    expect(events.filter((e) => e.type === 'planned')).toHaveLength(1);
  });

  it('retries a failed task of a group planned late, once every group has had its first pass', async () => {
    let bListed = false;
    let bHeads = 0;
    const up = head('1');
    const events: SyncEvent[] = [];
    const stores = client({
      'src/a': { listTags: async () => ['1'], headManifest: async () => up },
      'src/b': {
        listTags: async () => {
          await sleep(5);
          bListed = true;
          return ['1'];
        },
        headManifest: async () => {
          if (++bHeads === 1) throw new RegistryError('unavailable', { status: 503 });
          return up;
        },
      },
      'mirror/a': {
        headManifest: async () => {
          await until(() => bListed);
          return up;
        },
      },
      'mirror/b': { headManifest: async () => up },
    });
    const report = await sync(
      [allTags('q.io/src/a', 'r.io/mirror/a'), allTags('q.io/src/b', 'r.io/mirror/b')],
      stores,
      options(events, 1),
    );
    expect(report.results).toMatchObject([
      { status: 'skipped', destination: 'r.io/mirror/a:1', attempts: 1 },
      { status: 'skipped', destination: 'r.io/mirror/b:1', attempts: 2 },
    ]);
    const finished = events.flatMap((e) => (e.type === 'task-finished' ? [e.result.destination] : []));
    expect(finished.sort()).toEqual(['r.io/mirror/a:1', 'r.io/mirror/b:1']);
  });

  it('reports a failure of the run itself once, after everything started has ended', async () => {
    let bListed = false;
    const up = head('1');
    const stores = client({
      'src/a': { listTags: async () => ['1'], headManifest: async () => up },
      'src/b': {
        listTags: async () => {
          await sleep(20);
          bListed = true;
          return ['1'];
        },
        headManifest: async () => up,
      },
      'mirror/a': { headManifest: async () => up },
      'mirror/b': { headManifest: async () => up },
    });
    // A shell whose logging breaks (a full disk under --log) while another group is still listing.
    const breaking: SyncOptions = {
      ...options(),
      emit: (e) => {
        if (e.type === 'task-started') throw new Error('log write failed');
      },
    };
    await expect(
      sync(
        [allTags('q.io/src/a', 'r.io/mirror/a'), allTags('q.io/src/b', 'r.io/mirror/b')],
        stores,
        breaking,
      ),
    ).rejects.toThrow('log write failed');
    expect(bListed).toBe(true);
  });

  describe('a pass over failed tags', () => {
    const RETRY = { retries: 0, minDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 1000 };
    const up = head('1');

    /** Syncs one tag whose first source HEAD fails with `first`: the time between the two HEADs. */
    async function retriedAfter(first: RegistryError): Promise<number> {
      const calls: number[] = [];
      const stores = client({
        'src/a': {
          listTags: async () => ['1'],
          headManifest: async () => {
            calls.push(performance.now());
            if (calls.length === 1) throw first;
            return up;
          },
        },
        'mirror/a': { headManifest: async () => up },
      });
      const report = await sync([allTags('q.io/src/a', 'r.io/mirror/a')], stores, {
        ...options([], 1),
        retry: RETRY,
      });
      expect(report.results).toMatchObject([{ status: 'skipped', attempts: 2 }]);
      return calls[1]! - calls[0]!;
    }

    it('starts a backoff after the failure it retries, not straight back at the registry', async () => {
      const gap = await retriedAfter(new RegistryError('unavailable', { status: 503 }));
      // The first pass's backoff: minDelayMs × 2 (a timer may fire a millisecond early).
      expect(gap).toBeGreaterThanOrEqual(195);
    });

    it("waits out a registry's Retry-After when it is longer than the backoff", async () => {
      const gap = await retriedAfter(
        new RegistryError('too many requests', { status: 429, retryAfterMs: 400 }),
      );
      expect(gap).toBeGreaterThanOrEqual(395);
    });

    it('is not made once the run is stopped meanwhile, and the failed tag is still reported', async () => {
      const stop = new AbortController();
      const events: SyncEvent[] = [];
      let heads = 0;
      const stores = client({
        'src/a': {
          listTags: async () => ['1'],
          headManifest: async () => {
            heads++;
            setTimeout(() => stop.abort(), 20);
            throw new RegistryError('unavailable', { status: 503 });
          },
        },
        'mirror/a': { headManifest: async () => up },
      });
      const report = await sync([allTags('q.io/src/a', 'r.io/mirror/a')], stores, {
        ...options(events, 2),
        retry: RETRY,
        stop: stop.signal,
      });
      expect(heads).toBe(1);
      expect(report.results).toMatchObject([{ status: 'failed', attempts: 1 }]);
      const finished = events.flatMap((e) => (e.type === 'task-finished' ? [e.result] : []));
      expect(finished).toMatchObject([{ status: 'failed', destination: 'r.io/mirror/a:1' }]);
    });
  });
});
