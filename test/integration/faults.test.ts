import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonReport } from '../../src/report/json.ts';
import { runAction } from '../support/action-runner.ts';
import { runCli } from '../support/cli-runner.ts';
import { type FaultProxy, type LogEntry, startFaultProxy } from '../support/fault-proxy.ts';
import {
  allBlobs,
  allManifests,
  type BuiltManifest,
  buildArtifact,
  buildImage,
  buildIndex,
  PLATFORMS,
  pushImage,
} from '../support/images.ts';
import { dispatcherFor, type Registry, startRegistry, tagsAt } from '../support/registry.ts';
import { optsFor, skopeoDigest } from '../support/skopeo.ts';
import { TempDirs } from '../support/tmp.ts';

// Issue 6: a mirror runs unattended against registries that drop connections, answer 429 and 5xx,
// sit behind CDNs and sometimes serve broken data. Each test puts a fault-injecting proxy (loopback)
// in front of a real docker-registry and runs the bundled CLI or action against it.

/** The product's smallest retry delay (src/registry/transport/retry.ts DEFAULT_RETRY.minDelayMs), less rounding. */
const MIN_BACKOFF_MS = 290;

type Images = Record<string, Record<string, BuiltManifest>>;

const dirs = new TempDirs();
const proxies: FaultProxy[] = [];
let source: Registry;
let destination: Registry;

async function proxy(upstream: Registry, faults: Parameters<typeof startFaultProxy>[1] = {}) {
  const p = await startFaultProxy(upstream.host, faults);
  proxies.push(p);
  return p;
}

async function pushAll(registry: Registry, images: Images): Promise<void> {
  for (const [repo, tags] of Object.entries(images))
    for (const [tag, built] of Object.entries(tags)) await pushImage(registry, repo, tag, built);
}

/** A workspace with `sync.yaml` holding `lines`; returns the directory. */
async function workspace(lines: readonly string[]): Promise<string> {
  const dir = await dirs.make();
  await writeFile(join(dir, 'sync.yaml'), `${lines.join('\n')}\n`);
  return dir;
}

/** Runs the CLI on `sync.yaml` with a JSON report; HOME is the workspace (no Docker config). */
async function cli(dir: string, args: readonly string[] = [], env: Record<string, string> = {}) {
  const started = performance.now();
  const run = await runCli(['--config', 'sync.yaml', '--report', 'report.json', ...args], {
    cwd: dir,
    env: { HOME: dir, ...env },
  });
  const ms = performance.now() - started;
  const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8').catch(() => 'null')) as
    | JsonReport
    | undefined;
  return { ...run, ms, report: report ?? undefined, all: `${run.stdout}\n${run.stderr}` };
}

async function blobStatus(registry: Registry, repo: string, digest: string): Promise<number> {
  const dispatcher = dispatcherFor(registry);
  try {
    const res = await request(`${registry.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD', dispatcher });
    await res.body.dump();
    return res.statusCode;
  } finally {
    await dispatcher.close();
  }
}

/** Every manifest and blob of `built` is in `repo` at `registry`, and the tag resolves to its digest. */
async function expectComplete(registry: Registry, repo: string, tag: string, built: BuiltManifest) {
  expect(await skopeoDigest(`${registry.host}/${repo}:${tag}`, optsFor(registry)), `${repo}:${tag}`).toBe(
    built.digest,
  );
  for (const m of allManifests(built).slice(0, -1))
    expect(await skopeoDigest(`${registry.host}/${repo}@${m.digest}`, optsFor(registry))).toBe(m.digest);
  // The registry verified each blob's digest when it was uploaded: present means correct.
  for (const b of allBlobs(built)) expect(await blobStatus(registry, repo, b.digest), b.digest).toBe(200);
}

const resultFor = (report: JsonReport | undefined, destination: string) =>
  report?.results.find((r) => r.destination === destination);

/**
 * Built before any test starts: making a 24 MB layer holds this worker for a second or more, and with
 * it the fault proxies of the tests running beside it, whose clients wait only 1 s for an answer.
 */
let largeLayerImage: BuiltManifest;

beforeAll(async () => {
  largeLayerImage = buildImage({ seed: 'faults-stuck-upload', layerSize: 24_000_000 });
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await Promise.all([source?.stop(), destination?.stop()]);
  await dirs.cleanup();
});

/** For each faulted GET or HEAD, the next request for the same thing and how long after it came. */
function checkBackoff(log: readonly LogEntry[]): { retries: number; problems: string[] } {
  const problems: string[] = [];
  let retries = 0;
  const byKey = new Map<string, LogEntry[]>();
  for (const e of log) {
    if (e.method !== 'GET' && e.method !== 'HEAD') continue;
    const key = `${e.method} ${e.path}`;
    byKey.set(key, [...(byKey.get(key) ?? []), e]);
  }
  for (const [key, entries] of byKey) {
    entries.forEach((e, i) => {
      if (e.fault !== 'error503' && e.fault !== 'error429' && e.fault !== 'cut') return;
      const next = entries[i + 1];
      if (next === undefined) {
        problems.push(`${key} (${e.fault}) was never tried again`);
        return;
      }
      retries++;
      const gap = next.at - e.at;
      const previous = entries[i - 1];
      const secondInARow =
        (e.fault === 'error503' || e.fault === 'error429') &&
        (previous?.fault === 'error503' || previous?.fault === 'error429');
      // Retry-After: 1 (s), less a few ms: a Node timer counts from the event loop's cached clock,
      // which can be a few ms behind when the answer is read.
      const least = e.fault === 'error429' ? 990 : secondInARow ? 2 * MIN_BACKOFF_MS : MIN_BACKOFF_MS;
      if (gap < least) problems.push(`${key} retried ${Math.round(gap)} ms after ${e.fault} (< ${least} ms)`);
    });
  }
  return { retries, problems };
}

// The tests wait mostly on backoff and timeouts: they run side by side (own repositories, own proxies).
describe.concurrent('fault injection', () => {
  describe('a flaky source and destination', () => {
    const images: Images = {
      'flaky/alpha': {
        v1: buildImage({ seed: 'faults-alpha-1', layers: 3, layerSize: 150_000 }),
        v2: buildImage({ seed: 'faults-alpha-2', layers: 2, layerSize: 150_000 }),
      },
      'flaky/beta': { v1: buildIndex({ seed: 'faults-beta', layerSize: 100_000 }) },
      'flaky/gamma': {
        v1: buildIndex({ seed: 'faults-gamma', flavour: 'docker', platforms: PLATFORMS.slice(0, 2) }),
      },
      'flaky/delta': {
        '1.0': buildImage({ seed: 'faults-delta-1.0', layerSize: 120_000 }),
        '1.1': buildImage({ seed: 'faults-delta-1.1', layerSize: 120_000 }),
        '2.0': buildImage({ seed: 'faults-delta-2.0', layerSize: 120_000 }),
      },
      'flaky/epsilon': { latest: buildImage({ seed: 'faults-epsilon', flavour: 'docker', layers: 3 }) },
    };
    const TAGS = Object.values(images).reduce((n, tags) => n + Object.keys(tags).length, 0);

    beforeAll(() => pushAll(source, images));

    const rules = (src: string, dst: string, ns: string) => [
      'images:',
      `  ${src}/flaky/alpha:v1,v2: ${dst}/${ns}/alpha`,
      `  ${src}/flaky/beta:v1: ${dst}/${ns}/beta`,
      `  ${src}/flaky/gamma:v1: ${dst}/${ns}/gamma`,
      `  ${src}/flaky/delta: ${dst}/${ns}/delta`,
      `  ${src}/flaky/epsilon:latest: ${dst}/${ns}/epsilon`,
    ];

    it('completes with every digest correct when a quarter of blob downloads are cut and a tenth of requests get 503 or 429; retries are bounded and backed off', async () => {
      const src = await proxy(source);
      const dst = await proxy(destination);

      // The same mirror without faults, for the number of requests it takes.
      const clean = await cli(await workspace(rules(src.host, dst.host, 'clean')));
      expect(clean.code, clean.all).toBe(0);
      expect(clean.report?.totals).toMatchObject({ synced: TAGS, failed: 0 });
      expect(src.counts.cut + src.counts.errors + dst.counts.errors).toBe(0);
      const cleanRequests = src.counts.requests + dst.counts.requests;

      src.reset();
      dst.reset();
      // Faults are decided per request (a hash of its identity and how often it came), and no request
      // is faulted more than twice in a row, so a request's four retries always suffice. A blob's
      // download and its upload are counted apart, though: taking turns to fail, they can use up the
      // blob's five attempts (about one run in 40 here), and then the pass over failed tags copies
      // it — a backoff later, which checkBackoff below holds it to.
      Object.assign(src.faults, { cutBlobs: 0.25, errors: 0.1, retryAfterSeconds: 1, maxFaultsInARow: 2 });
      Object.assign(dst.faults, { errors: 0.1, retryAfterSeconds: 1, maxFaultsInARow: 2 });
      const run = await cli(await workspace(rules(src.host, dst.host, 'mirror')));

      expect(run.code, run.all).toBe(0);
      expect(run.stderr).toContain(`${TAGS} synced, 0 skipped, 0 failed`);
      // What was retried is said, one line each.
      expect(run.stderr).toMatch(/↻ .*(503|429|rate limited).*; trying again \(\d left\)/);
      expect(clean.stderr).not.toContain('↻');
      // A cut download is the source's failure, not that of the upload that lost its stream.
      const resets = run.stderr.split('\n').filter((l) => /↻ blob .*connection reset/.test(l));
      expect(resets.length).toBeGreaterThanOrEqual(1);
      for (const line of resets) expect(line).toMatch(/: GET \S+ blob sha256:[0-9a-f]{64} failed/);
      expect(run.report?.totals).toMatchObject({ synced: TAGS, skipped: 0, failed: 0 });
      for (const [repo, tags] of Object.entries(images))
        for (const [tag, built] of Object.entries(tags))
          await expectComplete(destination, repo.replace('flaky/', 'mirror/'), tag, built);

      // The faults happened: blob downloads were cut, and both sides answered 503 and 429.
      const blobGets = src.log.filter((e) => e.method === 'GET' && e.path.includes('/blobs/'));
      expect(src.counts.cut).toBeGreaterThanOrEqual(3);
      expect(src.counts.cut / blobGets.length).toBeGreaterThan(0.1);
      const faults = [...src.log, ...dst.log].map((e) => e.fault);
      expect(faults.filter((f) => f === 'error503').length).toBeGreaterThanOrEqual(3);
      expect(faults.filter((f) => f === 'error429').length).toBeGreaterThanOrEqual(3);
      expect(dst.counts.errors).toBeGreaterThanOrEqual(2);

      // Bounded: no more than twice the requests of the clean run.
      const requests = src.counts.requests + dst.counts.requests;
      expect(requests).toBeGreaterThan(cleanRequests);
      expect(requests).toBeLessThanOrEqual(2 * cleanRequests);

      // Backed off: every failed GET/HEAD was tried again, no sooner than the smallest backoff, and a
      // 429 no sooner than its Retry-After; a second failure in a row waits at least twice as long.
      for (const log of [src.log, dst.log]) {
        const checked = checkBackoff(log);
        expect(checked.retries).toBeGreaterThanOrEqual(2);
        expect(checked.problems).toEqual([]);
      }
    });
  });

  describe('a registry that stays down', () => {
    it('ends in bounded time with its tags failed and a clear reason; the other registry’s tags sync', async () => {
      const healthy = buildImage({ seed: 'faults-healthy', layers: 2 });
      const lost = buildImage({ seed: 'faults-lost' });
      await pushImage(source, 'down/healthy', 'v1', healthy);
      await pushImage(source, 'down/lost', 'v1', lost);
      await pushImage(source, 'down/lost', 'v2', lost);
      const down = await proxy(source, { down: true });
      const dir = await workspace([
        'images:',
        `  ${down.host}/down/lost:v1,v2: ${destination.host}/down/lost`,
        `  ${down.host}/down/lost: ${destination.host}/down/everything`,
        `  ${source.host}/down/healthy:v1: ${destination.host}/down/healthy`,
      ]);

      const started = performance.now();
      const run = await runAction({ config: 'sync.yaml', retries: '0' }, { workspace: dir });
      const ms = performance.now() - started;

      expect(run.code, run.everything).toBe(1);
      // Listing, then copying: each five attempts with backoff between them (at most 0.6 + 1.2 + 2.4 +
      // 4.8 s), far below a single default 60 s timeout.
      expect(ms).toBeLessThan(30_000);
      expect(run.outputs).toMatchObject({ synced: '1', skipped: '0', failed: '3' });
      expect(await skopeoDigest(`${destination.host}/down/healthy:v1`, optsFor(destination))).toBe(
        healthy.digest,
      );
      const failed = run.report?.results.filter((r) => r.status === 'failed') ?? [];
      expect(failed.map((r) => r.destination).sort()).toEqual([
        `${destination.host}/down/everything`,
        `${destination.host}/down/lost:v1`,
        `${destination.host}/down/lost:v2`,
      ]);
      for (const r of failed) expect(r.error).toMatch(new RegExp(`${down.host}.* failed: connection reset`));
      // The job summary and the annotations say why, in words.
      expect(run.summary).toContain('### Failed');
      expect(run.summary).toContain('connection reset');
      expect(run.summary).toContain('the registry could not be reached reliably; it may be down');
      expect(run.stdout).toMatch(
        new RegExp(`::error title=image-sync%3A tag failed::${down.host}/down/lost:v1 → .*connection reset`),
      );
      expect(run.stdout).toContain('::error::3 of 4 tags failed');
      // Bounded: the proxy saw each ping attempt, and no more than the retry policy allows.
      expect(down.counts.requests).toBeGreaterThanOrEqual(5);
      // Three rules share one ping at a time; each may ping five times (HTTPS, then plain HTTP).
      expect(down.counts.requests).toBeLessThanOrEqual(3 * 5);
      expect(await tagsAt(destination, 'down/lost')).toEqual([]);
    });
  });

  describe('a failure after the tag was written', () => {
    it('is finished by the retry pass: the signature comes after all, and the tag counts as synced', async () => {
      const image = buildImage({ seed: 'faults-late-signature' });
      const signature = buildArtifact({ seed: 'faults-late-signature-sig', subject: image });
      const sigTag = `sha256-${image.digest.slice('sha256:'.length)}.sig`;
      await pushImage(source, 'late/app', 'v1', image);
      await pushImage(source, 'late/app', sigTag, signature);
      // The signature's requests fail more often than one pass retries them (five attempts).
      let refused = 0;
      const flaky = await proxy(source, {
        intercept: (req) => (req.path.endsWith('.sig') && refused++ < 7 ? { status: 503 } : undefined),
      });
      const dir = await workspace(['images:', `  ${flaky.host}/late/app:v1: ${destination.host}/late/app`]);

      const run = await cli(dir);

      expect(run.code, run.all).toBe(0);
      expect(run.report?.results).toMatchObject([{ status: 'synced', referrers: 1 }]);
      expect(run.report?.totals).toMatchObject({ synced: 1, skipped: 0 });
      expect(await skopeoDigest(`${destination.host}/late/app:${sigTag}`, optsFor(destination))).toBe(
        signature.digest,
      );
    });
  });

  describe('interrupted', () => {
    it('on Ctrl-C retries nothing more, says so, and exits 130 with its report written', async () => {
      const image = buildImage({ seed: 'faults-interrupted' });
      await pushImage(source, 'sigint/app', 'v1', image);
      // Every request but the ping fails (503, or 429 asking for a second): the run lives on retries.
      const failing = await proxy(source, { errors: 1 });
      const dir = await workspace([
        'images:',
        `  ${failing.host}/sigint/app:v1: ${destination.host}/sigint/app`,
      ]);
      const failed = () => failing.log.filter((e) => e.path !== '/v2/').length;
      let pid = 0;
      const running = runCli(['--config', 'sync.yaml', '--report', 'report.json', '--retries', '0'], {
        cwd: dir,
        env: { HOME: dir },
        onSpawn: (p) => (pid = p),
      });
      // Two failed attempts: the run now waits (at least 300 ms) before its third.
      for (let i = 0; i < 3000 && failed() < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(failed()).toBe(2);
      process.kill(pid, 'SIGINT');

      const run = await running;

      expect(run.code, run.stderr).toBe(130);
      expect(run.stderr).toContain('SIGINT received');
      // Without the stop, four more attempts would follow (the transport retries 4 times).
      expect(failed()).toBe(2);
      const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as JsonReport;
      expect(report.results).toMatchObject([
        { status: 'failed', destination: `${destination.host}/sigint/app:v1` },
      ]);
    });
  });

  describe('a source serving broken data', () => {
    it('fails the image whose blob does not match its digest, writes no tag for it, and syncs the others', async () => {
      const good = buildImage({ seed: 'faults-good', layers: 2, layerSize: 50_000 });
      // Layers of many chunks, so that an upload is under way when the last one comes.
      const bad = buildImage({ seed: 'faults-bad', layers: 2, layerSize: 2_000_000 });
      const badIndex = buildIndex({ seed: 'faults-bad-index', platforms: PLATFORMS.slice(0, 2) });
      await pushImage(source, 'broken/good', 'v1', good);
      await pushImage(source, 'broken/bad', 'v1', bad);
      await pushImage(source, 'broken/bad-index', 'v1', badIndex);
      const corruptLayer = bad.blobs[2]!.digest;
      // One child of the index: the index must not be written either.
      const corruptChild = badIndex.children[1]!.blobs[1]!.digest;
      const src = await proxy(source, { corrupt: new Set([corruptLayer, corruptChild]) });
      // Passes everything on; its log shows how much of each upload the destination got.
      const dst = await proxy(destination);
      const dir = await workspace([
        'images:',
        `  ${src.host}/broken/good:v1: ${dst.host}/broken/good`,
        `  ${src.host}/broken/bad:v1: ${dst.host}/broken/bad`,
        `  ${src.host}/broken/bad-index:v1: ${dst.host}/broken/bad-index`,
      ]);

      const run = await cli(dir);

      expect(run.code, run.all).toBe(1);
      expect(run.stderr).toContain('1 synced, 0 skipped, 2 failed');
      await expectComplete(destination, 'broken/good', 'v1', good);
      const sizeOf = new Map(
        [...bad.blobs, ...badIndex.children.flatMap((c) => c.blobs)].map((b) => [b.digest, b.size]),
      );
      for (const [repo, digest] of [
        ['broken/bad', corruptLayer],
        ['broken/bad-index', corruptChild],
      ] as const) {
        const r = resultFor(run.report, `${dst.host}/${repo}:v1`);
        expect(r?.status).toBe('failed');
        expect(r?.error).toContain(`digest mismatch: expected ${digest}`);
        expect(run.stderr).toMatch(new RegExp(`✘ .*${repo}:v1: digest mismatch: expected ${digest}`));
        // Nothing points at it, and the corrupt bytes were not stored: the destination never had all
        // of them, so a registry that did not check digests itself could not have stored them either.
        expect(await tagsAt(destination, repo)).toEqual([]);
        expect(await blobStatus(destination, repo, digest)).toBe(404);
        const uploads = dst.log.filter(
          (e) => e.method === 'PUT' && e.query.includes(encodeURIComponent(digest)),
        );
        expect(Math.max(0, ...uploads.map((e) => e.bytesIn))).toBeLessThan(sizeOf.get(digest)!);
        // The source is wrong, not flaky: the blob was fetched once, not retried.
        expect(src.log.filter((e) => e.method === 'GET' && e.path.endsWith(`/blobs/${digest}`))).toHaveLength(
          1,
        );
      }
      // The index's intact child may be there; the index is not.
      await expect(
        skopeoDigest(`${destination.host}/broken/bad-index:v1`, optsFor(destination)),
      ).rejects.toThrow();
    });
  });

  describe('redirects and plain-HTTP token realms', () => {
    it('never sends the Authorization header to the host a blob GET is redirected to', async () => {
      const [basic, token] = await Promise.all([
        startRegistry({ auth: 'htpasswd', users: { carol: 'carol-redirect-pw' } }),
        startRegistry({
          auth: 'token',
          users: { dave: 'dave-redirect-pw' },
          tokenOptions: { anonymousPull: false },
        }),
      ]);
      try {
        // Two different images: the same blobs would be mounted at the destination, not fetched twice.
        const images = [
          buildImage({ seed: 'faults-redirect-basic', layers: 3, layerSize: 40_000 }),
          buildImage({ seed: 'faults-redirect-token', layers: 3, layerSize: 40_000 }),
        ] as const;
        await pushImage(basic, 'cdn/app', 'v1', images[0]);
        await pushImage(token, 'cdn/app', 'v1', images[1]);
        const viaBasic = await proxy(basic, { redirectBlobs: true });
        const viaToken = await proxy(token, { redirectBlobs: true });
        const dir = await workspace([
          'auth:',
          `  ${viaBasic.host}: { username: carol, password: carol-redirect-pw }`,
          `  ${viaToken.host}: { username: dave, password: dave-redirect-pw }`,
          'images:',
          `  ${viaBasic.host}/cdn/app:v1: ${destination.host}/cdn/from-basic`,
          `  ${viaToken.host}/cdn/app:v1: ${destination.host}/cdn/from-token`,
        ]);

        const run = await cli(dir);

        expect(run.code, run.all).toBe(0);
        await expectComplete(destination, 'cdn/from-basic', 'v1', images[0]);
        await expectComplete(destination, 'cdn/from-token', 'v1', images[1]);
        for (const [p, image] of [
          [viaBasic, images[0]],
          [viaToken, images[1]],
        ] as const) {
          // Credentials went to the registry, every blob came from storage, and storage never saw them.
          expect(p.counts.authorization).toBeGreaterThan(0);
          expect(p.log.filter((e) => e.fault === 'redirect').every((e) => e.authorization)).toBe(true);
          expect(p.counts.redirected).toBe(image.blobs.length);
          expect(p.counts.storageRequests).toBe(image.blobs.length);
          expect(p.counts.storageAuthorization).toBe(0);
        }
        expect(token.tokenIssuer?.requests.some((r) => r.user === 'dave' && r.status === 200)).toBe(true);
      } finally {
        await Promise.all([basic.stop(), token.stop()]);
      }
    });

    it('refuses a bearer-token realm on plain HTTP for a registry that is not marked insecure', async () => {
      const secure = await startRegistry({ auth: 'token', tls: true, users: { erin: 'erin-realm-pw' } });
      try {
        const image = buildImage({ seed: 'faults-realm' });
        await pushImage(secure, 'realm/app', 'v1', image);
        const ok = buildImage({ seed: 'faults-realm-ok' });
        await pushImage(source, 'realm/ok', 'v1', ok);
        expect(secure.tokenIssuer?.realm).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/token$/);
        secure.tokenIssuer?.reset();
        const dir = await workspace([
          'auth:',
          `  ${secure.host}:`,
          '    username: erin',
          '    password: erin-realm-pw',
          `    ca: ${secure.caFile}`,
          'images:',
          `  ${secure.host}/realm/app:v1: ${destination.host}/realm/app`,
          `  ${source.host}/realm/ok:v1: ${destination.host}/realm/ok`,
        ]);

        const run = await cli(dir);

        expect(run.code, run.all).toBe(1);
        const r = resultFor(run.report, `${destination.host}/realm/app:v1`);
        expect(r?.status).toBe('failed');
        expect(r?.error).toMatch(/plain HTTP/);
        expect(r?.error).toMatch(new RegExp(`mark the registry ${secure.host} as insecure`));
        expect(run.stderr).toMatch(
          /✘ .*realm\/app:v1: refusing to fetch a token from http:\/\/127\.0\.0\.1:\d+/,
        );
        // No token request carried credentials (the client did not even ask).
        expect(secure.tokenIssuer?.requests.filter((q) => q.user !== null)).toEqual([]);
        expect(await tagsAt(destination, 'realm/app')).toEqual([]);
        expect(resultFor(run.report, `${destination.host}/realm/ok:v1`)?.status).toBe('synced');
      } finally {
        await secure.stop();
      }
    });
  });

  describe('timeouts', () => {
    // Every timeout (connect, headers, body) shortened from 60 s to 1 s: src/registry/transport/agent.ts.
    const FAST = { IMAGE_SYNC_TIMEOUT_MS: '1000' };

    it('a stalled response, body or token request is cut by its timeout and retried; the run completes', async () => {
      const image = buildImage({ seed: 'faults-stall', layers: 2, layerSize: 80_000 });
      await pushImage(source, 'stall/app', 'v1', image);
      const layer = image.blobs[1]!.digest;
      const src = await proxy(source, {
        stall: [
          { match: /\/manifests\//, method: 'GET', ms: 120_000, times: 1 },
          { match: new RegExp(`/blobs/${layer}$`), method: 'GET', ms: 120_000, times: 1, body: true },
        ],
      });
      const dst = await proxy(destination, {
        stall: { match: /\/manifests\/v1$/, method: 'PUT', ms: 120_000, times: 1 },
      });
      // A token registry whose challenge names a token service that stalls the first token request.
      const guarded = await startRegistry({ auth: 'token', users: { hank: 'hank-stall-pw' } });
      const other = buildImage({ seed: 'faults-stall-token' });
      await pushImage(guarded, 'stall/guarded', 'v1', other);
      const issuer = guarded.tokenIssuer!;
      const tokens = await startFaultProxy(new URL(issuer.realm).host, {
        stall: { match: /^\/token$/, ms: 120_000, times: 1 },
      });
      proxies.push(tokens);
      const challenge = `Bearer realm="http://${tokens.host}/token",service="${issuer.service}"`;
      const viaTokens = await proxy(guarded, {
        intercept: (r) =>
          r.path === '/v2/' ? { status: 401, headers: { 'www-authenticate': challenge } } : undefined,
      });
      const dir = await workspace([
        'auth:',
        `  ${viaTokens.host}: { username: hank, password: hank-stall-pw }`,
        'images:',
        `  ${src.host}/stall/app:v1: ${dst.host}/stall/app`,
        `  ${viaTokens.host}/stall/guarded:v1: ${destination.host}/stall/guarded`,
      ]);

      try {
        const run = await cli(dir, [], FAST);

        expect(run.code, run.all).toBe(0);
        expect(run.ms).toBeLessThan(20_000);
        await expectComplete(destination, 'stall/app', 'v1', image);
        await expectComplete(destination, 'stall/guarded', 'v1', other);
        expect(src.counts.stalled).toBe(2);
        expect(dst.counts.stalled).toBe(1);
        const stalls = [...src.log, ...dst.log].filter((e) => e.fault?.startsWith('stall'));
        expect(stalls.map((e) => `${e.method} ${e.fault}`).sort()).toEqual([
          'GET stall',
          'GET stall-body',
          'PUT stall',
        ]);
        // The token request was held, given up on, and asked again.
        expect(tokens.counts.stalled).toBe(1);
        expect(tokens.counts.requests).toBeGreaterThanOrEqual(2);
        expect(issuer.requests.some((q) => q.user === 'hank' && q.status === 200)).toBe(true);
      } finally {
        await guarded.stop();
      }
    });

    it('a connection that stays stalled fails its tag with a timeout in bounded time', async () => {
      const image = buildImage({ seed: 'faults-stuck', layerSize: 60_000 });
      const fine = buildImage({ seed: 'faults-unstuck' });
      await pushImage(source, 'stall/stuck', 'v1', image);
      await pushImage(source, 'stall/fine', 'v1', fine);
      const layer = image.blobs[1]!.digest;
      const src = await proxy(source, {
        stall: { match: new RegExp(`/blobs/${layer}$`), method: 'GET', ms: 600_000, body: true },
      });
      const dir = await workspace([
        'images:',
        `  ${src.host}/stall/stuck:v1: ${destination.host}/stall/stuck`,
        `  ${src.host}/stall/fine:v1: ${destination.host}/stall/fine`,
      ]);

      const run = await cli(dir, ['--retries', '0'], FAST);

      expect(run.code, run.all).toBe(1);
      // Five attempts of 1 s each plus backoff (at most 0.6 + 1.2 + 2.4 + 4.8 s).
      expect(run.ms).toBeLessThan(25_000);
      expect(src.counts.stalled).toBe(5);
      const r = resultFor(run.report, `${destination.host}/stall/stuck:v1`);
      expect(r?.status).toBe('failed');
      // Blamed on the source's blob download, not on the destination the bytes were going to.
      expect(r?.error).toBe(`GET ${src.host}/stall/stuck blob ${layer} failed: timed out waiting for data`);
      expect(await tagsAt(destination, 'stall/stuck')).toEqual([]);
      expect(resultFor(run.report, `${destination.host}/stall/fine:v1`)?.status).toBe('synced');
    });

    it('a destination that never answers does not hold the run open when nothing had to go there', async () => {
      // Every request held for ten minutes; the default timeouts (a minute) apply.
      const silent = await proxy(destination, { stall: { match: /^\//, ms: 600_000 } });
      // The source's answer (the repository does not exist) is held long enough for the destination's
      // early ping to be under way when the run ends.
      const slow = await proxy(source, { stall: { match: /\/tags\/list$/, ms: 2000 } });
      const dir = await workspace(['images:', `  ${slow.host}/stall/absent: ${silent.host}/stall/absent`]);

      const run = await cli(dir, ['--retries', '0']);

      expect(run.code, run.all).toBe(1);
      expect(run.ms).toBeLessThan(20_000);
      // The source could not be listed, so only the engine's early ping went to the destination.
      expect(resultFor(run.report, `${silent.host}/stall/absent`)?.error).toMatch(/not found|NAME_UNKNOWN/i);
      expect(silent.log.map((e) => `${e.method} ${e.path}`)).toEqual(['HEAD /v2/']);
    });

    it('an upload the destination stops reading is cut by its timeout and sent again', async () => {
      // Larger than loopback's socket buffers, so the client's writes block rather than all landing in them.
      const image = largeLayerImage;
      await pushImage(source, 'stall/upload', 'v1', image);
      const layer = image.blobs[1]!.digest;
      const dst = await proxy(destination, {
        stall: {
          match: /\/blobs\/uploads\//,
          query: new RegExp(layer.split(':')[1]!),
          method: 'PUT',
          ms: 600_000,
          times: 1,
        },
      });
      const dir = await workspace(['images:', `  ${source.host}/stall/upload:v1: ${dst.host}/stall/upload`]);

      const run = await cli(dir, ['--retries', '0'], FAST);

      expect(run.code, run.all).toBe(0);
      expect(run.ms).toBeLessThan(20_000);
      expect(dst.counts.stalled).toBe(1);
      expect(dst.log.filter((e) => e.fault === 'stall').map((e) => e.method)).toEqual(['PUT']);
      await expectComplete(destination, 'stall/upload', 'v1', image);
    });
  });
});
