import { createHash } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fault-injecting HTTP proxy in front of a real registry (loopback only: it listens on 127.0.0.1
 * and forwards only to the loopback upstream it was given). It can cut blob downloads halfway,
 * answer 503 or 429, stall headers or bodies, send blob GETs to an "object storage" server on
 * another origin, serve corrupt blob bytes, answer requests itself — and it logs what it saw.
 */
export interface Faults {
  /** Fraction of blob GETs whose body is cut after half the bytes. */
  cutBlobs?: number;
  /** Fraction of requests (other than the `/v2/` ping) answered 503 (half) or 429 with Retry-After (half). */
  errors?: number;
  /** The 429's `Retry-After`, in seconds (default 1). */
  retryAfterSeconds?: number;
  /** Requests whose path matches are held (see StallSpec). */
  stall?: StallSpec | StallSpec[];
  /** Blob GETs answered 307 to the storage server. */
  redirectBlobs?: boolean;
  /** Blob digests whose bytes are served with one byte flipped. */
  corrupt?: Set<string>;
  /** Every request is answered by closing the connection. */
  down?: boolean;
  /**
   * The same request (method and path; an upload by the digest it closes with) is never faulted more
   * than this many times in a row (default: no limit), so that a client with enough retries gets through.
   */
  maxFaultsInARow?: number;
  /** Answers a request itself when it returns a response (checked before every other fault). */
  intercept?: (req: SeenRequest) => CannedResponse | undefined;
}

export interface StallSpec {
  /** Matched against the path (without query) and, with `method`, the method. */
  readonly match: RegExp;
  readonly method?: string;
  /** Also matched against the query string (an upload's closing PUT names its digest there). */
  readonly query?: RegExp;
  /** How long to hold; the connection is then forwarded (headers stall) or closed (body stall). */
  readonly ms: number;
  /** Only the first N matching requests are held (default: all). */
  readonly times?: number;
  /** Hold after the headers and half the body were sent, instead of before the headers. */
  readonly body?: boolean;
}

export interface SeenRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export interface CannedResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** Send the body chunked, without a Content-Length (unless `headers` give one). */
  readonly chunked?: boolean;
}

export type FaultKind = 'error503' | 'error429' | 'cut' | 'stall' | 'stall-body' | 'corrupt' | 'redirect';

/** One request the proxy received (in arrival order). */
export interface LogEntry {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly authorization: boolean;
  /** The Authorization header itself (credentials: tests check they never show up elsewhere). */
  readonly authorizationValue?: string;
  /** What the client got: the upstream's status, or the injected one. */
  status?: number;
  /** Request body bytes received from the client and passed on. */
  bytesIn: number;
  fault?: FaultKind | 'intercepted' | 'down';
}

export interface FaultCounts {
  requests: number;
  byMethod: Record<string, number>;
  /** Requests that carried an Authorization header. */
  authorization: number;
  cut: number;
  errors: number;
  stalled: number;
  redirected: number;
  intercepted: number;
  /** Requests that reached the storage server carrying an Authorization header. */
  storageAuthorization: number;
  storageRequests: number;
  /** Response body bytes sent to the client, and request body bytes received from it. */
  bytesOut: number;
  bytesIn: number;
}

export interface FaultProxy {
  /** `127.0.0.1:PORT`, to use as the registry host. */
  readonly host: string;
  /** `127.0.0.1:PORT` of the object-storage server redirected blob GETs go to. */
  readonly storageHost: string;
  readonly faults: Faults;
  readonly counts: FaultCounts;
  readonly log: readonly LogEntry[];
  reset(): void;
  stop(): Promise<void>;
}

/**
 * Fault decisions are a hash of the seed, the request's identity and how many times it was seen, so the
 * same requests get the same faults whatever order concurrent requests arrive in.
 */
function chance(seed: number, kind: string, key: string, occurrence: number): number {
  return (
    createHash('sha256').update(`${seed}\n${kind}\n${key}\n${occurrence}`).digest().readUInt32BE(0) / 2 ** 32
  );
}

/** `PUT /v2/r/blobs/uploads/<uuid>?digest=d` → `PUT /v2/r/blobs/uploads/ d`: retries get new upload ids. */
function requestKey(method: string, url: string): string {
  const [path = '/', query = ''] = url.split('?');
  const upload = /^(\/v2\/.+\/blobs\/uploads\/)[^/]+$/.exec(path);
  if (upload === null) return `${method} ${path}`;
  return `${method} ${upload[1]} ${new URLSearchParams(query).get('digest') ?? ''}`;
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const BLOB_GET = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/;
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/;

export async function startFaultProxy(upstream: string, faults: Faults = {}, seed = 42): Promise<FaultProxy> {
  const upstreamUrl = new URL(upstream.includes('://') ? upstream : `http://${upstream}`);
  if (!LOOPBACK.test(upstreamUrl.hostname) || upstreamUrl.protocol !== 'http:')
    throw new Error(`the fault proxy forwards to plain-HTTP loopback registries only, not ${upstream}`);
  const rand = random(seed);
  const counts = emptyCounts();
  let log: LogEntry[] = [];
  const stored = new Map<string, Buffer>();
  const stallsUsed = new Map<StallSpec, number>();
  const seen = new Map<string, number>();
  const inARow = new Map<string, number>();
  /** Whether to inject fault `kind` (with `probability`) into this occurrence of request `key`. */
  const decide = (
    kind: string,
    key: string,
    occurrence: number,
    probability: number | undefined,
  ): boolean => {
    if (probability === undefined || probability <= 0) return false;
    if ((inARow.get(key) ?? 0) >= (faults.maxFaultsInARow ?? Number.POSITIVE_INFINITY)) return false;
    return chance(seed, kind, key, occurrence) < probability;
  };
  const timers = new Set<() => void>();

  /** Resolves after `ms`, or as soon as the client goes away, or when the proxy stops. */
  const hold = (ms: number, res: ServerResponse): Promise<void> =>
    new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        timers.delete(done);
        res.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timers.add(done);
      res.once('close', done);
    });

  const storage = createServer((req, res) => {
    counts.storageRequests++;
    if (req.headers.authorization !== undefined) counts.storageAuthorization++;
    const body = stored.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
      .end(body);
  });
  const storageHost = await listen(storage);

  const proxy = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });

  function stallFor(method: string, path: string, query: string): StallSpec | undefined {
    const specs =
      faults.stall === undefined ? [] : Array.isArray(faults.stall) ? faults.stall : [faults.stall];
    for (const spec of specs) {
      if (!spec.match.test(path) || (spec.method !== undefined && spec.method !== method)) continue;
      if (spec.query !== undefined && !spec.query.test(query)) continue;
      const used = stallsUsed.get(spec) ?? 0;
      if (spec.times !== undefined && used >= spec.times) continue;
      stallsUsed.set(spec, used + 1);
      return spec;
    }
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const method = req.method ?? '?';
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    const key = requestKey(method, req.url ?? '/');
    const occurrence = (seen.get(key) ?? 0) + 1;
    seen.set(key, occurrence);
    const faulted = (yes: boolean) => inARow.set(key, yes ? (inARow.get(key) ?? 0) + 1 : 0);
    const entry: LogEntry = {
      at: performance.now(),
      method,
      path,
      query,
      bytesIn: 0,
      authorization: req.headers.authorization !== undefined,
      ...(req.headers.authorization !== undefined && { authorizationValue: req.headers.authorization }),
    };
    log.push(entry);
    counts.requests++;
    counts.byMethod[method] = (counts.byMethod[method] ?? 0) + 1;
    if (entry.authorization) counts.authorization++;
    if (faults.down) {
      entry.fault = 'down';
      req.socket.destroy();
      return;
    }
    const canned = faults.intercept?.({ method, path, headers: req.headers });
    if (canned !== undefined) {
      counts.intercepted++;
      entry.fault = 'intercepted';
      entry.status = canned.status;
      req.resume();
      const body = canned.body === undefined ? Buffer.alloc(0) : Buffer.from(canned.body);
      res.writeHead(canned.status, {
        ...(canned.chunked !== true && { 'content-length': body.length }),
        ...canned.headers,
      });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }
    const stall = stallFor(method, path, query);
    if (stall !== undefined && stall.body !== true) {
      counts.stalled++;
      entry.fault = 'stall';
      await hold(stall.ms, res);
      if (res.destroyed || req.socket.destroyed) return;
    }
    if (path !== '/v2/' && decide('error', key, occurrence, faults.errors)) {
      counts.errors++;
      faulted(true);
      req.resume();
      if (chance(seed, 'status', key, occurrence) < 0.5) {
        entry.fault = 'error503';
        entry.status = 503;
        res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable');
      } else {
        entry.fault = 'error429';
        entry.status = 429;
        res
          .writeHead(429, {
            'retry-after': String(faults.retryAfterSeconds ?? 1),
            'content-type': 'application/json',
          })
          .end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      }
      return;
    }
    const blob = method === 'GET' ? BLOB_GET.exec(path)?.[1] : undefined;
    req.on('data', (chunk: Buffer) => {
      counts.bytesIn += chunk.length;
      entry.bytesIn += chunk.length;
    });
    const upstreamRes = await forward(req);
    entry.status = upstreamRes.statusCode;
    const stallBody = stall?.body === true && upstreamRes.statusCode === 200;
    const tampering =
      faults.corrupt?.has(blob ?? '') ||
      faults.redirectBlobs ||
      (faults.cutBlobs !== undefined && faults.cutBlobs > 0);
    if (!stallBody && (blob === undefined || upstreamRes.statusCode !== 200 || !tampering)) {
      faulted(false);
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.on('data', (chunk: Buffer) => (counts.bytesOut += chunk.length));
      upstreamRes.pipe(res);
      return;
    }
    let body = await readAll(upstreamRes);
    if (blob !== undefined && faults.corrupt?.has(blob)) {
      entry.fault = 'corrupt';
      body = Buffer.from(body);
      body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0xff;
    }
    if (stallBody && stall !== undefined) {
      counts.stalled++;
      entry.fault = 'stall-body';
      res.writeHead(200, { ...upstreamRes.headers, 'content-length': body.length });
      res.write(body.subarray(0, body.length >> 1));
      counts.bytesOut += body.length >> 1;
      await hold(stall.ms, res);
      res.destroy();
      return;
    }
    if (faults.redirectBlobs) {
      counts.redirected++;
      entry.fault = 'redirect';
      entry.status = 307;
      const key = `/objects/${blob}?signature=${Math.floor(rand() * 1e9)}`;
      stored.set(key, body);
      res.writeHead(307, { location: `http://${storageHost}${key}`, 'content-length': 0 }).end();
      return;
    }
    if (body.length > 1 && decide('cut', key, occurrence, faults.cutBlobs)) {
      counts.cut++;
      faulted(true);
      entry.fault = 'cut';
      res.writeHead(200, { ...upstreamRes.headers, 'content-length': body.length });
      counts.bytesOut += body.length >> 1;
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
    faulted(false);
    counts.bytesOut += body.length;
    res.writeHead(200, { ...upstreamRes.headers, 'content-length': body.length }).end(body);
  }

  function forward(req: IncomingMessage): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const out = httpRequest(
        {
          host: upstreamUrl.hostname,
          port: upstreamUrl.port,
          method: req.method,
          path: req.url,
          // The Host header stays the proxy's, so the registry's upload Locations point back here.
          headers: req.headers,
        },
        resolve,
      );
      out.on('error', reject);
      req.pipe(out);
    });
  }

  const host = await listen(proxy);
  return {
    host,
    storageHost,
    faults,
    counts,
    get log() {
      return log;
    },
    reset() {
      Object.assign(counts, emptyCounts());
      log = [];
      stallsUsed.clear();
      seen.clear();
      inARow.clear();
    },
    async stop() {
      for (const release of [...timers]) release();
      await Promise.all([close(proxy), close(storage)]);
    },
  };
}

function emptyCounts(): FaultCounts {
  return {
    requests: 0,
    byMethod: {},
    authorization: 0,
    cut: 0,
    errors: 0,
    stalled: 0,
    redirected: 0,
    intercepted: 0,
    storageAuthorization: 0,
    storageRequests: 0,
    bytesOut: 0,
    bytesIn: 0,
  };
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
