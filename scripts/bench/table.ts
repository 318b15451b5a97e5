/** Medians and the printed tables. */
import type { FaultCounts, FaultProxy } from '../../test/support/fault-proxy.ts';
import type { Verdict } from './verify.ts';

export type Tool = 'image-sync' | 'skopeo';
export type Scenario = 'cold' | 'warm' | 'big';

/** What one side's counting proxy saw during one run. */
export interface Counts extends Pick<FaultCounts, 'requests' | 'byMethod' | 'bytesIn' | 'bytesOut'> {
  /**
   * Requests by method and what they addressed: `GET ping` (`/v2/`), `GET tags`, `HEAD manifest`,
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

export interface Sample {
  readonly round: number;
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
  /** CPU of the benchmark process (the two counting proxies) during the run. */
  readonly proxiesCpuMs: number;
  /** CPU of everything else on the machine during the run (noise: other jobs). */
  readonly otherCpuMs: number;
  readonly source: Counts;
  readonly destination: Counts;
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

/** The median of each number over the samples of one tool and scenario. */
export interface Summary {
  readonly runs: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly rssKb: number;
  readonly rssMaxKb: number;
  readonly processes: number;
  readonly registriesCpuMs: number;
  readonly proxiesCpuMs: number;
  readonly otherCpuMs: number;
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
  readonly tags: number;
  /** Worst over the runs. */
  readonly tagsOk: number;
  readonly problems: number;
  readonly failures: number;
}

export function summarise(samples: readonly Sample[]): Summary | undefined {
  if (samples.length === 0) return undefined;
  const m = (f: (s: Sample) => number) => median(samples.map(f));
  const worst = (f: (s: Sample) => number) => Math.max(...samples.map(f));
  const maxOf = (r: Record<string, number>) => Math.max(0, ...Object.values(r));
  return {
    runs: samples.length,
    wallMs: m((s) => s.wallMs),
    cpuMs: m((s) => s.cpuMs),
    rssKb: m((s) => s.rssKb),
    rssMaxKb: m((s) => s.rssMaxKb),
    processes: m((s) => s.processes),
    registriesCpuMs: m((s) => s.registriesCpuMs),
    proxiesCpuMs: m((s) => s.proxiesCpuMs),
    otherCpuMs: m((s) => s.otherCpuMs),
    sourceBytes: m((s) => s.source.bytesOut),
    destBytes: m((s) => s.destination.bytesIn),
    source: medianRecord(samples.map((s) => s.source.byMethod)),
    sourceRoutes: medianRecord(samples.map((s) => s.source.byRoute)),
    dest: medianRecord(samples.map((s) => s.destination.byMethod)),
    destRoutes: medianRecord(samples.map((s) => s.destination.byRoute)),
    maxBlobGets: worst((s) => maxOf(s.source.blobGets)),
    uploads: worst((s) => s.destination.uploads),
    tags: m((s) => s.verdict.tags),
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

export interface ScenarioTitle {
  readonly scenario: Scenario;
  readonly title: string;
}

/** One markdown table: rows are measures, columns the two tools and their ratio. */
export function scenarioTable(title: string, a: Summary | undefined, b: Summary | undefined): string {
  const cell = (s: Summary | undefined, f: (s: Summary) => string) => (s === undefined ? 'n/a' : f(s));
  const r = (f: (s: Summary) => number) => (a === undefined || b === undefined ? '–' : ratio(f(a), f(b)));
  const runs = a?.runs === b?.runs ? `${a?.runs ?? b?.runs ?? 0}` : `${a?.runs ?? 0} / ${b?.runs ?? 0}`;
  const rows: string[][] = [
    [`**${title}** (median of ${runs})`, 'image-sync', 'skopeo', 'image-sync / skopeo'],
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
          ? `${rss(s.rssKb)} (${s.processes} processes; largest ${rss(s.rssMaxKb)})`
          : rss(s.rssKb),
      ),
      r((s) => s.rssKb),
    ],
    [
      'meanwhile, CPU of: registries · counting proxies · other processes',
      cell(a, (s) => `${seconds(s.registriesCpuMs)} · ${seconds(s.proxiesCpuMs)} · ${seconds(s.otherCpuMs)}`),
      cell(b, (s) => `${seconds(s.registriesCpuMs)} · ${seconds(s.proxiesCpuMs)} · ${seconds(s.otherCpuMs)}`),
      '',
    ],
    [
      'bytes from source',
      cell(a, (s) => megabytes(s.sourceBytes)),
      cell(b, (s) => megabytes(s.sourceBytes)),
      r((s) => s.sourceBytes),
    ],
    [
      'bytes to destination',
      cell(a, (s) => megabytes(s.destBytes)),
      cell(b, (s) => megabytes(s.destBytes)),
      r((s) => s.destBytes),
    ],
    [
      'requests to source',
      cell(a, (s) => methods(s.source)),
      cell(b, (s) => methods(s.source)),
      r((s) => sum(s.source)),
    ],
    ['↳ by kind', cell(a, (s) => routes(s.sourceRoutes)), cell(b, (s) => routes(s.sourceRoutes)), ''],
    [
      'requests to destination',
      cell(a, (s) => methods(s.dest)),
      cell(b, (s) => methods(s.dest)),
      r((s) => sum(s.dest)),
    ],
    ['↳ by kind', cell(a, (s) => routes(s.destRoutes)), cell(b, (s) => routes(s.destRoutes)), ''],
    [
      'most GETs of one blob · blob uploads',
      cell(a, (s) => `${s.maxBlobGets} · ${s.uploads}`),
      cell(b, (s) => `${s.maxBlobGets} · ${s.uploads}`),
      '',
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
