/** Medians and the printed tables. */
import type { FaultCounts, FaultProxy } from '../../test/support/fault-proxy.ts';
import type { Verdict } from './verify.ts';

export type Tool = 'image-sync' | 'skopeo';
/** `warm-named`: the warm re-run again, with each repository's tags named in the config. */
export type Scenario = 'cold' | 'warm' | 'warm-named' | 'big';

/** What one side's counting proxy saw during one run. */
export interface Counts extends Pick<FaultCounts, 'requests' | 'byMethod' | 'bytesIn' | 'bytesOut'> {
  /**
   * Requests by method and what they addressed: `HEAD ping` (`/v2/`), `GET tags`, `HEAD manifest`,
   * `GET blob`, `POST mount` (a cross-repository mount that worked: 201), `POST upload` (an upload
   * opened: 202), `PATCH upload`, `PUT upload`, `GET referrers`, `… other`.
   */
  readonly byRoute: Record<string, number>;
  /** Blob GETs by digest. */
  readonly blobGets: Record<string, number>;
  /** Completed blob uploads (`PUT …/blobs/uploads/…` answered 201). */
  readonly uploads: number;
}

const bump = (record: Record<string, number>, key: string): void => {
  record[key] = (record[key] ?? 0) + 1;
};

/** Counts from the proxy's counters and its request log. */
export function countsOf(proxy: Pick<FaultProxy, 'counts' | 'log'>): Counts {
  const byRoute: Record<string, number> = {};
  const blobGets: Record<string, number> = {};
  let uploads = 0;
  for (const e of proxy.log) {
    let route = 'other';
    if (e.path === '/v2/' || e.path === '/v2') route = 'ping';
    else if (/^\/v2\/.+\/manifests\/[^/]+$/.test(e.path)) route = 'manifest';
    else if (/^\/v2\/.+\/blobs\/uploads\/?/.test(e.path))
      route = e.method === 'POST' && e.status === 201 ? 'mount' : 'upload';
    else if (/^\/v2\/.+\/blobs\/[^/]+$/.test(e.path)) route = 'blob';
    else if (/^\/v2\/.+\/tags\/list$/.test(e.path)) route = 'tags';
    else if (/^\/v2\/.+\/referrers\/[^/]+$/.test(e.path)) route = 'referrers';
    bump(byRoute, `${e.method} ${route}`);
    if (e.method === 'GET' && route === 'blob') bump(blobGets, e.path.slice(e.path.lastIndexOf('/') + 1));
    if (e.method === 'PUT' && route === 'upload' && e.status === 201) uploads++;
  }
  const c = proxy.counts;
  return {
    requests: c.requests,
    byMethod: { ...c.byMethod },
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    byRoute,
    blobGets,
    uploads,
  };
}

/**
 * One run of one tool. `timed` runs talk to the registries directly (wall, CPU and RSS come from
 * these); `counted` runs go through the counting proxies (requests and bytes come from these; the
 * proxies' own CPU would distort the timings on a 2-core machine).
 */
export interface Sample {
  /** 0 for the counted pass, 1… for the timed rounds. */
  readonly round: number;
  readonly mode: 'timed' | 'counted';
  readonly tool: Tool;
  readonly scenario: Scenario;
  readonly wallMs: number;
  readonly cpuMs: number;
  /** image-sync: its one process; skopeo: the sum over its parallel processes. */
  readonly rssKb: number;
  /** The largest single process. */
  readonly rssMaxKb: number;
  readonly processes: number;
  /** CPU of the source and destination docker-registry processes during the run. */
  readonly registriesCpuMs: number;
  /** CPU of the benchmark process (the counting proxies, in counted runs) during the run. */
  readonly proxiesCpuMs: number;
  /** CPU of everything else on the machine during the run (noise: other jobs). */
  readonly otherCpuMs: number;
  /** Counted runs only. */
  readonly source?: Counts;
  readonly destination?: Counts;
  readonly verdict: Verdict;
  /** Exit codes other than 0, with the end of their output. */
  readonly failures: readonly string[];
}

export const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const medianRecord = (records: readonly Record<string, number>[]): Record<string, number> => {
  const keys = new Set(records.flatMap((r) => Object.keys(r)));
  return Object.fromEntries([...keys].map((k) => [k, median(records.map((r) => r[k] ?? 0))]));
};

/** What the counting proxies saw (median over the counted runs). */
export interface CountSummary {
  readonly runs: number;
  readonly wallMs: number;
  readonly sourceBytes: number;
  readonly destBytes: number;
  readonly source: Record<string, number>;
  readonly sourceRoutes: Record<string, number>;
  readonly dest: Record<string, number>;
  readonly destRoutes: Record<string, number>;
  /** Worst over the runs: most GETs of one blob from the source. */
  readonly maxBlobGets: number;
  /** Worst over the runs: completed blob uploads to the destination. */
  readonly uploads: number;
}

/** The timings of a Sample that a summary takes the median of. */
type Timing = 'wallMs' | 'cpuMs' | 'rssKb' | 'rssMaxKb' | 'processes' | 'registriesCpuMs' | 'otherCpuMs';

/** The median of each number over the runs of one tool and scenario. */
export interface Summary extends Pick<Sample, Timing> {
  /** Timed runs. */
  readonly runs: number;
  readonly counts: CountSummary | undefined;
  readonly tags: number;
  /** Worst over all the runs. */
  readonly tagsOk: number;
  readonly problems: number;
  readonly failures: number;
}

/** Timings from the timed runs, requests and bytes from the counted ones, correctness from all. */
export function summarise(samples: readonly Sample[]): Summary | undefined {
  const timedOnly = samples.filter((s) => s.mode === 'timed');
  const timed = timedOnly.length > 0 ? timedOnly : samples;
  const counted = samples.filter((s) => s.mode === 'counted');
  if (timed.length === 0) return undefined;
  const m = (f: (s: Sample) => number) => median(timed.map(f));
  const worst = (f: (s: Sample) => number) => Math.max(...samples.map(f));
  const maxOf = (r: Record<string, number>) => Math.max(0, ...Object.values(r));
  const c = (f: (s: Sample) => number) => median(counted.map(f));
  const counts: CountSummary | undefined =
    counted.length === 0
      ? undefined
      : {
          runs: counted.length,
          wallMs: c((s) => s.wallMs),
          sourceBytes: c((s) => s.source?.bytesOut ?? 0),
          destBytes: c((s) => s.destination?.bytesIn ?? 0),
          source: medianRecord(counted.map((s) => s.source?.byMethod ?? {})),
          sourceRoutes: medianRecord(counted.map((s) => s.source?.byRoute ?? {})),
          dest: medianRecord(counted.map((s) => s.destination?.byMethod ?? {})),
          destRoutes: medianRecord(counted.map((s) => s.destination?.byRoute ?? {})),
          maxBlobGets: Math.max(...counted.map((s) => maxOf(s.source?.blobGets ?? {}))),
          uploads: Math.max(...counted.map((s) => s.destination?.uploads ?? 0)),
        };
  return {
    runs: timed.length,
    wallMs: m((s) => s.wallMs),
    cpuMs: m((s) => s.cpuMs),
    rssKb: m((s) => s.rssKb),
    rssMaxKb: m((s) => s.rssMaxKb),
    processes: m((s) => s.processes),
    registriesCpuMs: m((s) => s.registriesCpuMs),
    otherCpuMs: m((s) => s.otherCpuMs),
    counts,
    tags: median(samples.map((s) => s.verdict.tags)),
    tagsOk: Math.min(...samples.map((s) => s.verdict.tagsOk)),
    problems: worst((s) => s.verdict.problems.length),
    failures: worst((s) => s.failures.length),
  };
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
export const megabytes = (bytes: number): string =>
  bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB`;
const rss = (kb: number): string => `${Math.round((kb * 1024) / 1e6)} MB`;
const ratio = (a: number, b: number): string => (b > 0 && Number.isFinite(a) ? (a / b).toFixed(2) : '–');

const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'];
const ROUTE_ORDER = ['ping', 'tags', 'manifest', 'referrers', 'blob', 'mount', 'upload', 'other'];

function methods(r: Record<string, number>): string {
  const total = Object.values(r).reduce((a, b) => a + b, 0);
  const parts = Object.entries(r)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => METHOD_ORDER.indexOf(a) - METHOD_ORDER.indexOf(b))
    .map(([k, n]) => `${k} ${round(n)}`);
  return total === 0 ? '0' : `**${round(total)}**: ${parts.join(' · ')}`;
}

function routes(r: Record<string, number>): string {
  const key = (k: string) => {
    const [method = '', route = ''] = k.split(' ');
    return ROUTE_ORDER.indexOf(route) * 10 + METHOD_ORDER.indexOf(method);
  };
  const parts = Object.entries(r)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => key(a) - key(b))
    .map(([k, n]) => `${k} ${round(n)}`);
  return parts.length === 0 ? '–' : parts.join(' · ');
}

const round = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/** One markdown table: rows are measures, columns the two tools and their ratio. */
export function scenarioTable(title: string, a: Summary | undefined, b: Summary | undefined): string {
  const cell = (s: Summary | undefined, f: (s: Summary) => string) => (s === undefined ? 'n/a' : f(s));
  const counted = (s: Summary | undefined, f: (c: CountSummary) => string) =>
    s?.counts === undefined ? 'n/a' : f(s.counts);
  const r = (f: (s: Summary) => number | undefined) => {
    const x = a === undefined ? undefined : f(a);
    const y = b === undefined ? undefined : f(b);
    return x === undefined || y === undefined ? '–' : ratio(x, y);
  };
  const runs = a?.runs === b?.runs ? `${a?.runs ?? b?.runs ?? 0}` : `${a?.runs ?? 0} / ${b?.runs ?? 0}`;
  const background = (s: Summary) => `${seconds(s.registriesCpuMs)} · ${seconds(s.otherCpuMs)}`;
  const rows: string[][] = [
    [`**${title}** (timings: median of ${runs})`, 'image-sync', 'skopeo', 'image-sync / skopeo'],
    ['---', '---:', '---:', '---:'],
    ['wall time', cell(a, (s) => seconds(s.wallMs)), cell(b, (s) => seconds(s.wallMs)), r((s) => s.wallMs)],
    [
      'CPU time (user + sys)',
      cell(a, (s) => seconds(s.cpuMs)),
      cell(b, (s) => seconds(s.cpuMs)),
      r((s) => s.cpuMs),
    ],
    [
      'peak RSS',
      cell(a, (s) => rss(s.rssKb)),
      cell(b, (s) =>
        s.processes > 1
          ? `${rss(s.rssKb)} (sum of ${s.processes}; largest ${rss(s.rssMaxKb)})`
          : rss(s.rssKb),
      ),
      r((s) => s.rssKb),
    ],
    ['meanwhile, CPU of the registries · of other processes', cell(a, background), cell(b, background), ''],
    [
      'bytes from source',
      counted(a, (c) => megabytes(c.sourceBytes)),
      counted(b, (c) => megabytes(c.sourceBytes)),
      r((s) => s.counts?.sourceBytes),
    ],
    [
      'bytes to destination',
      counted(a, (c) => megabytes(c.destBytes)),
      counted(b, (c) => megabytes(c.destBytes)),
      r((s) => s.counts?.destBytes),
    ],
    [
      'requests to source',
      counted(a, (c) => methods(c.source)),
      counted(b, (c) => methods(c.source)),
      r((s) => (s.counts === undefined ? undefined : sum(s.counts.source))),
    ],
    ['↳ by kind', counted(a, (c) => routes(c.sourceRoutes)), counted(b, (c) => routes(c.sourceRoutes)), ''],
    [
      'requests to destination',
      counted(a, (c) => methods(c.dest)),
      counted(b, (c) => methods(c.dest)),
      r((s) => (s.counts === undefined ? undefined : sum(s.counts.dest))),
    ],
    ['↳ by kind', counted(a, (c) => routes(c.destRoutes)), counted(b, (c) => routes(c.destRoutes)), ''],
    [
      'most GETs of one blob · blob uploads',
      counted(a, (c) => `${c.maxBlobGets} · ${c.uploads}`),
      counted(b, (c) => `${c.maxBlobGets} · ${c.uploads}`),
      '',
    ],
    [
      'wall time through the counting proxies',
      counted(a, (c) => seconds(c.wallMs)),
      counted(b, (c) => seconds(c.wallMs)),
      r((s) => s.counts?.wallMs),
    ],
    ['destination tags = source digests', cell(a, (s) => correctness(s)), cell(b, (s) => correctness(s)), ''],
  ];
  return rows.map((row) => `| ${row.join(' | ')} |`).join('\n');
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((x, y) => x + y, 0);

function correctness(s: Summary): string {
  const base = `${s.tagsOk}/${s.tags}`;
  const extra = [
    ...(s.problems > 0 ? [`${s.problems} problems`] : []),
    ...(s.failures > 0 ? [`${s.failures} failed processes`] : []),
  ];
  return extra.length === 0 ? `${base} ✓` : `${base} ✗ (${extra.join(', ')})`;
}
