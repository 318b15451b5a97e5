/**
 * `npm run bench` — image-sync against `skopeo sync` on a synthetic mirror, on loopback.
 *
 * One source registry (the test harness's docker-registry) is seeded with a mirror generated here
 * (scripts/bench/mirror.ts: 12 repositories × 5 tags, two multi-arch, ~1 GB) and a separate image
 * with one ~320 MB layer. Each tool syncs the mirror into a fresh destination registry (cold), then
 * again with nothing changed (warm), then again with each repository's tags named in the config
 * (warm-named: no tag lists; image-sync with --no-referrers, as skopeo copies no signatures), and copies the big image into another fresh destination. The
 * registries keep their data in memory where /dev/shm has room (see registryStorage).
 *
 * - One counted pass: every request and byte is counted by a pass-through proxy in front of each
 *   registry (test/support/fault-proxy.ts, no faults). Counts do not vary between runs.
 * - Timed rounds, straight to the registries (on 2 cores the proxies' own CPU would distort the
 *   timings): wall time (spawn to exit), CPU time and peak RSS from GNU time; medians are printed.
 *   Also recorded: the registries' CPU and everything else's on the machine during each run.
 * - Every run is checked: each destination tag has the source's digest; after a cold run every
 *   manifest and blob below it is present.
 *
 * image-sync: `node bin/image-sync.mjs --config … --proc 8`, the command users run: it starts the bundle
 * dist/cli/index.js with the code cache an earlier run left (build it first: `npm run build`).
 * skopeo: `skopeo sync --all --src docker --dest docker SRC/<repo> DEST/mirror`, one process per
 * repository, all at once (`--src yaml` with a file naming the tags for warm-named); its blob-info
 * cache is fresh for each cold run and kept for the warm ones.
 *
 * Flags: --runs N (timed rounds, default 5, fewer when another would pass the budget), --budget
 * SECONDS (default 540, seeding included), --scale F (layer sizes × F, for a quick try), --proc N
 * (default 8), --json FILE (raw samples), --no-big (skip the 320 MB image), --storage memory|disk
 * (where the registries keep their data; default memory).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statfsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { type FaultProxy, startFaultProxy } from '../test/support/fault-proxy.ts';
import { type Registry, startRegistry } from '../test/support/registry.ts';
import { TempDirs } from '../test/support/tmp.ts';
import { serverCpu } from './bench/measure.ts';
import { BIG_MB, REPOS, seedBig, seedMirror, TAGS } from './bench/mirror.ts';
import {
  countsOf,
  megabytes,
  type Sample,
  type Scenario,
  type Summary,
  scenarioTable,
  seconds,
  summarise,
  type Tool,
} from './bench/table.ts';
import { checkPrerequisites, type RepoRule, runImageSync, runSkopeo, SkopeoHome } from './bench/tools.ts';
import { verify } from './bench/verify.ts';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const bundle = join(root, 'dist', 'cli', 'index.js');
const cli = join(root, 'bin', 'image-sync.mjs');
const say = (text = '') => process.stdout.write(`${text}\n`);
const note = (text: string) => process.stderr.write(`[bench] ${text}\n`);

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    budget: { type: 'string', default: '540' },
    scale: { type: 'string', default: '1' },
    proc: { type: 'string', default: '8' },
    json: { type: 'string' },
    'no-big': { type: 'boolean', default: false },
    storage: { type: 'string', default: 'memory' },
  },
});
const runs = Math.max(1, Number(flags.runs));
const budgetMs = Number(flags.budget) * 1000;
const scale = Number(flags.scale);
const proc = Math.max(1, Number(flags.proc));
const withBig = !flags['no-big'];
const storage = registryStorage(flags.storage, scale);

const problems = checkPrerequisites();
if (!existsSync(bundle)) problems.push(`${bundle} is missing: run npm run build first`);
if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`bench: ${p}\n`);
  process.exit(2);
}
warnIfStale();

const benchStart = performance.now();
const elapsed = () => performance.now() - benchStart;
const dirs = new TempDirs();
const work = await dirs.make('image-sync-bench-');
const live = new Set<{ stop(): Promise<void> }>();
const samples: Sample[] = [];
let source: Registry | undefined;
let code = 0;

// Interrupted, the registries still stop and their data (in memory, under /dev/shm) still goes.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    note(`${signal}: stopping the registries and removing their data`);
    void Promise.allSettled([...live].map((x) => x.stop()))
      .then(() => dirs.cleanup())
      .finally(() => process.exit(130));
  });

try {
  if (storage.note !== undefined) note(storage.note);
  source = await startRegistry(storage.options);
  live.add(source);
  note(`source registry ${source.url}; seeding the mirror (not measured)…`);
  const seededAt = performance.now();
  const mirror = await seedMirror(source, scale);
  const big = withBig ? await seedBig(source, scale) : undefined;
  const distinct = [...mirror.blobs.values()].reduce((a, b) => a + b, 0);
  const bigBytes = big === undefined ? 0 : [...big.blobs.values()].reduce((a, b) => a + b, 0);
  note(
    `seeded ${mirror.repos.length} repositories, ${mirror.tagCount} tags, ${mirror.blobs.size} distinct blobs, ` +
      `${megabytes(distinct)}${big === undefined ? '' : ` + big image ${megabytes(bigBytes)}`} in ${seconds(performance.now() - seededAt)}`,
  );
  const sourceProxy = await startFaultProxy(source.host);
  live.add(sourceProxy);

  /** One run of one tool into `destination`, measured, counted (through the proxies) or not, checked. */
  const run = async (
    round: number,
    tool: Tool,
    scenario: Scenario,
    destination: Destination,
    skopeoHome: SkopeoHome | undefined,
  ): Promise<void> => {
    const counted = destination.proxy !== undefined;
    sourceProxy.reset();
    destination.proxy?.reset();
    const at = {
      source: counted ? sourceProxy.host : source!.host,
      destination: destination.proxy?.host ?? destination.registry.host,
    };
    const repos = scenario === 'big' ? [big!] : mirror.repos;
    const rules: RepoRule[] = repos.map((r) => ({
      source: r.name,
      ...((scenario === 'big' || scenario === 'warm-named') && { tags: [...r.tags.keys()] }),
    }));
    // Each run starts on a quiet disk, not while the last run's writes and its registry's removal are
    // still being flushed (the registries fsync every blob they store).
    await promisify(execFile)('sync');
    const before = serverCpu();
    const measured =
      tool === 'image-sync'
        ? // skopeo copies no signatures: named tags compare the same work, a HEAD per tag on each side.
          await runImageSync(cli, rules, at, work, proc, scenario === 'warm-named' ? ['--no-referrers'] : [])
        : await runSkopeo(skopeoHome!, scenario === 'big' ? [{ source: big!.name }] : rules, at, work);
    const after = serverCpu();
    const sourceCounts = counted ? countsOf(sourceProxy) : undefined;
    const destCounts = destination.proxy === undefined ? undefined : countsOf(destination.proxy);
    const verdict = await verify(destination.registry.url, repos, scenario === 'cold' || scenario === 'big');
    const batch = 'runs' in measured;
    const failures = batch
      ? measured.failed.map((r) => `exit ${r.code}: ${r.output.trim().slice(-600)}`)
      : measured.code === 0
        ? []
        : [`exit ${measured.code}: ${measured.output.trim().slice(-1500)}`];
    const registriesCpuMs = after.registriesMs - before.registriesMs;
    const proxiesCpuMs = after.proxiesMs - before.proxiesMs;
    const sample: Sample = {
      round,
      mode: counted ? 'counted' : 'timed',
      tool,
      scenario,
      wallMs: measured.wallMs,
      cpuMs: measured.cpuMs,
      rssKb: measured.rssKb,
      rssMaxKb: batch ? measured.rssMaxKb : measured.rssKb,
      processes: batch ? measured.runs.length : 1,
      registriesCpuMs,
      proxiesCpuMs,
      otherCpuMs: Math.max(
        0,
        after.machineMs - before.machineMs - measured.cpuMs - registriesCpuMs - proxiesCpuMs,
      ),
      ...(sourceCounts !== undefined && { source: sourceCounts }),
      ...(destCounts !== undefined && { destination: destCounts }),
      verdict,
      failures,
    };
    samples.push(sample);
    note(
      `${counted ? 'counted' : `round ${round}`} ${tool.padEnd(10)} ${scenario.padEnd(10)}: wall ${seconds(sample.wallMs)}, ` +
        `CPU ${seconds(sample.cpuMs)}, RSS ${Math.round(sample.rssKb / 1024)} MiB, registries ${seconds(registriesCpuMs)}, ` +
        `others ${seconds(sample.otherCpuMs)}` +
        (sourceCounts === undefined || destCounts === undefined
          ? ''
          : `; ${sourceCounts.requests} requests to source (${sourceCounts.byMethod.GET ?? 0} GET), ` +
            `${destCounts.requests} to destination, ${megabytes(destCounts.bytesIn)} pushed`) +
        `; tags ${verdict.tagsOk}/${verdict.tags}${failures.length > 0 ? `; ${failures.length} FAILED` : ''}`,
    );
  };

  /** Each tool: the mirror cold into a fresh destination, then warm; then the big image into another. */
  const round = async (n: number, counted: boolean, order: readonly Tool[]): Promise<void> => {
    for (const tool of order) {
      const destination = await freshDestination(counted);
      const skopeoHome = tool === 'skopeo' ? await SkopeoHome.create(work) : undefined;
      try {
        await run(n, tool, 'cold', destination, skopeoHome);
        await run(n, tool, 'warm', destination, skopeoHome);
        await run(n, tool, 'warm-named', destination, skopeoHome);
      } finally {
        await skopeoHome?.remove();
        await stopAll(destination);
      }
    }
    if (big === undefined) return;
    for (const tool of order) {
      const destination = await freshDestination(counted);
      const skopeoHome = tool === 'skopeo' ? await SkopeoHome.create(work) : undefined;
      try {
        await run(n, tool, 'big', destination, skopeoHome);
      } finally {
        await skopeoHome?.remove();
        await stopAll(destination);
      }
    }
  };

  // Requests and bytes, through the counting proxies (once: they are the same every time).
  const countStart = performance.now();
  await round(0, true, ['image-sync', 'skopeo']);
  note(`counted pass took ${seconds(performance.now() - countStart)} (${seconds(elapsed())} so far)`);
  // Wall, CPU and RSS, straight to the registries, in rounds (alternating who goes first).
  for (let n = 1; n <= runs; n++) {
    const roundStart = performance.now();
    await round(n, false, n % 2 === 1 ? ['image-sync', 'skopeo'] : ['skopeo', 'image-sync']);
    const roundMs = performance.now() - roundStart;
    note(`round ${n} took ${seconds(roundMs)} (${seconds(elapsed())} so far)`);
    if (n < runs && elapsed() + roundMs > budgetMs) {
      note(`stopping after ${n} round(s): another would pass the ${seconds(budgetMs)} budget`);
      break;
    }
  }

  const get = (tool: Tool, scenario: Scenario) =>
    summarise(samples.filter((s) => s.tool === tool && s.scenario === scenario));
  const rounds = Math.max(0, ...samples.map((s) => s.round));
  const multi = REPOS.filter((r) => r.platforms.length > 1).length;
  say();
  say(machineLine());
  say(
    `Mirror: ${mirror.repos.length} repositories × ${TAGS.length} tags (${multi} of them multi-arch indexes, 2 platforms), ` +
      `${mirror.blobs.size} distinct blobs, ${megabytes(distinct)}; big image: one layer of ${megabytes(bigBytes || BIG_MB * 1e6 * scale)}. ` +
      `Timings: median of ${rounds} round(s) straight to the registries; requests and bytes: one pass through counting proxies. ` +
      `image-sync --proc ${proc}; skopeo: one process per repository, all at once. ${storage.line}`,
  );
  say();
  const cold = [get('image-sync', 'cold'), get('skopeo', 'cold')] as const;
  const warm = [get('image-sync', 'warm'), get('skopeo', 'warm')] as const;
  const named = [get('image-sync', 'warm-named'), get('skopeo', 'warm-named')] as const;
  const bigS = [get('image-sync', 'big'), get('skopeo', 'big')] as const;
  say(scenarioTable('Cold sync', ...cold));
  say();
  say(scenarioTable('Warm re-run (nothing changed)', ...warm));
  say();
  say(
    scenarioTable(
      'Warm re-run, tags named in the config (image-sync --no-referrers: skopeo copies no signatures)',
      ...named,
    ),
  );
  if (big !== undefined) {
    say();
    say(scenarioTable(`One ${megabytes(bigBytes)} layer`, ...bigS));
  }
  say();
  const verdicts = targets(cold, warm, named, bigS, distinct, mirror.blobs.size, big !== undefined);
  for (const line of verdicts.lines) say(line);
  say();
  say(`Total bench time ${seconds(elapsed())}.`);
  for (const s of samples) {
    for (const f of s.failures) note(`${s.tool} ${s.scenario} round ${s.round}: ${f}`);
    for (const p of s.verdict.problems.slice(0, 5)) note(`${s.tool} ${s.scenario} round ${s.round}: ${p}`);
  }
  if (flags.json !== undefined) {
    await writeFile(resolve(flags.json), `${JSON.stringify({ machine: machineLine(), samples }, null, 2)}\n`);
    note(`raw samples written to ${flags.json}`);
  }
  if (samples.some((s) => s.failures.length > 0 || s.verdict.problems.length > 0)) code = 1;
} catch (err) {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  code = 1;
} finally {
  await Promise.allSettled([...live].map((x) => x.stop()));
  await dirs.cleanup();
}
process.exit(code);

// ---------------------------------------------------------------------------------------------

interface Destination {
  readonly registry: Registry;
  /** The counting proxy in front of it, for counted runs. */
  readonly proxy?: FaultProxy;
  stop(): Promise<void>;
}

async function freshDestination(counted: boolean): Promise<Destination> {
  const registry = await startRegistry(storage.options);
  const proxy = counted ? await startFaultProxy(registry.host) : undefined;
  const destination: Destination = {
    registry,
    ...(proxy !== undefined && { proxy }),
    async stop() {
      await proxy?.stop();
      await registry.stop();
    },
  };
  live.add(destination);
  return destination;
}

async function stopAll(...things: { stop(): Promise<void> }[]): Promise<void> {
  for (const t of things) {
    await t.stop();
    live.delete(t);
  }
}

type Pair = readonly [Summary | undefined, Summary | undefined];

/** The ratio image-sync / skopeo of one measure in each timed round: ` (rounds: 0.55, 0.61, 0.58)`. */
function perRound(scenario: Scenario, f: (s: Sample) => number): string {
  const timed = samples.filter((s) => s.mode === 'timed' && s.scenario === scenario);
  const ratios: string[] = [];
  for (const a of timed.filter((s) => s.tool === 'image-sync')) {
    const b = timed.find((s) => s.tool === 'skopeo' && s.round === a.round);
    if (b !== undefined && f(b) > 0) ratios.push((f(a) / f(b)).toFixed(2));
  }
  return ratios.length > 1 ? ` (rounds: ${ratios.join(', ')})` : '';
}

/** The issue's targets, checked on the medians. */
function targets(
  cold: Pair,
  warm: Pair,
  named: Pair,
  big: Pair,
  distinct: number,
  blobs: number,
  withBigImage: boolean,
) {
  const lines = ['Targets (issue 5), on the medians:'];
  const check = (ok: boolean | undefined, text: string) =>
    lines.push(`- ${ok === undefined ? '?' : ok ? '✓ met   ' : '✗ missed'}  ${text}`);
  const [ci, cs] = cold;
  const [wi, ws] = warm;
  const [bi, bs] = big;
  const r = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : a / b;
  const fmt = (x: number | undefined) => (x === undefined ? '?' : x.toFixed(2));
  const coldWall = r(ci?.wallMs, cs?.wallMs);
  check(
    coldWall === undefined ? undefined : coldWall <= 0.6,
    `cold wall ≤ 0.6 × skopeo's: ${fmt(coldWall)}${perRound('cold', (s) => s.wallMs)}`,
  );
  const coldCpu = r(ci?.cpuMs, cs?.cpuMs);
  check(
    coldCpu === undefined ? undefined : coldCpu <= 0.5,
    `cold CPU ≤ 0.5 × skopeo's: ${fmt(coldCpu)}${perRound('cold', (s) => s.cpuMs)}`,
  );
  /** `listed`: the rules take all tags, which the API lists only by GET (one per repository and page). */
  const warmChecks = (pair: Pair, scenario: Scenario, label: string, listed: boolean) => {
    const [mine, peer] = pair;
    const wall = r(mine?.wallMs, peer?.wallMs);
    check(
      wall === undefined ? undefined : wall <= 0.5,
      `${label}: wall ≤ 0.5 × skopeo's: ${fmt(wall)}${perRound(scenario, (s) => s.wallMs)}`,
    );
    const wc = mine?.counts;
    if (wc === undefined) return;
    const gets = wc.source.GET ?? 0;
    const pulls = (wc.sourceRoutes['GET manifest'] ?? 0) + (wc.sourceRoutes['GET blob'] ?? 0);
    const other = Object.entries(wc.sourceRoutes)
      .filter(([k, n]) => k.startsWith('GET ') && n > 0)
      .map(([k, n]) => `${k.slice(4)} ${n}`)
      .join(', ');
    const lists = wc.sourceRoutes['GET tags'] ?? 0;
    const found = `${gets} GET${other === '' ? '' : ` (${other})`}`;
    if (listed && gets > 0 && gets === lists)
      lines.push(
        `- n/a       ${label}: zero GET requests to the source: ${found} — rules that take all tags must ` +
          'list them, and the API lists tags only by GET; the target holds where tags are named',
      );
    else check(gets === 0, `${label}: zero GET requests to the source: ${found}`);
    check(pulls === 0, `${label}: zero manifest or blob GETs (pulls) from the source: ${pulls}`);
  };
  warmChecks(warm, 'warm', 'warm, all tags', true);
  warmChecks(named, 'warm-named', 'warm, tags named', false);
  const mb = (s: Summary | undefined) => (s === undefined ? undefined : (s.rssKb * 1024) / 1e6);
  const coldRss = mb(ci);
  check(
    coldRss === undefined ? undefined : coldRss <= 200,
    `peak RSS ≤ 200 MB, whole mirror at --proc ${proc}: ${coldRss?.toFixed(0) ?? '?'} MB`,
  );
  if (withBigImage) {
    const bigRss = mb(bi);
    check(
      bigRss === undefined ? undefined : bigRss <= 200,
      `peak RSS ≤ 200 MB, the ${BIG_MB} MB-layer image: ${bigRss?.toFixed(0) ?? '?'} MB`,
    );
  }
  const cc = ci?.counts;
  if (cc !== undefined) {
    // A fresh destination needs each distinct blob uploaded at least once, so `uploads ≤ blobs`
    // means no blob was uploaded twice.
    check(
      cc.maxBlobGets <= 1 && cc.uploads <= blobs && cc.destBytes <= distinct * 1.01,
      `each distinct blob crosses the wire at most once per destination registry: at most ${cc.maxBlobGets} GET of any blob, ` +
        `${cc.uploads} uploads for ${blobs} distinct blobs, ${megabytes(cc.destBytes)} pushed for ${megabytes(distinct)}`,
    );
  }
  const wrong = [ci, cs, wi, ws, ...named, bi, bs].some(
    (s) => s !== undefined && (s.tagsOk < s.tags || s.problems > 0),
  );
  check(!wrong, 'every destination tag has the source digest, every manifest and blob below it present');
  return { lines };
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return `${cmd}: unknown`;
  }
}

function machineLine(): string {
  const cpu = cpus();
  const registry = /\s(\d+\.\d+\.\d+)/.exec(version('docker-registry', ['--version']))?.[1] ?? '?';
  const skopeo = /version (\S+)/.exec(version('skopeo', ['--version']))?.[1] ?? '?';
  return (
    `Machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM; ` +
    `Node ${process.version}; docker-registry ${registry}; skopeo ${skopeo}.`
  );
}

/** The bench runs the bundle: say so when src/ is newer than it. */
function warnIfStale(): void {
  const built = statSync(bundle).mtimeMs;
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(root, 'src'));
  if (newest > built)
    note('warning: src/ is newer than dist/cli/index.js — run npm run build to bench the current code');
}

interface Storage {
  /** For startRegistry: where each registry keeps its data. */
  readonly options: { parentDir?: string };
  /** Said in the output, after the mirror's description. */
  readonly line: string;
  /** Said on stderr as the bench starts, when memory was asked for and could not be had. */
  readonly note?: string;
}

/**
 * Where the registries keep their data: in memory (`/dev/shm`) by default, where it has room. On a
 * 2-core machine the registries share the cores with the clients, and a destination's fsyncs on a
 * virtual disk stalled the whole machine now and then — time that is neither tool's, and would not
 * be spent on the client's machine with real registries. `--storage disk` keeps them in the temp dir.
 */
function registryStorage(flag: string | undefined, scale: number): Storage {
  const disk = { options: {}, line: 'Registry storage: on disk (the temp dir).' };
  if (flag === 'disk') return disk;
  if (flag !== 'memory') {
    process.stderr.write(`bench: --storage must be memory or disk, not ${flag}\n`);
    process.exit(2);
  }
  // The source (mirror and big image) and one destination at a time, with room to spare.
  const needed = 2 * (1.1e9 + BIG_MB * 1e6) * scale + 1e9;
  let free = 0;
  try {
    const fs = statfsSync('/dev/shm');
    free = fs.bavail * fs.bsize;
  } catch {
    // no /dev/shm
  }
  if (free < needed)
    return {
      ...disk,
      note: `/dev/shm has ${megabytes(free)} free, not the ${megabytes(needed)} needed: registry storage goes on disk`,
    };
  // tmpfs's own limit may be more than the memory there is: the machine must not swap mid-run.
  if (freemem() < needed + 2e9)
    return {
      ...disk,
      note: `${megabytes(freemem())} of memory free, not the ${megabytes(needed + 2e9)} wanted: registry storage goes on disk`,
    };
  return { options: { parentDir: '/dev/shm' }, line: 'Registry storage: in memory (/dev/shm).' };
}
