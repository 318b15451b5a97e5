import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fault-injecting HTTP proxy in front of a real registry (loopback only). It can cut blob
 * downloads halfway, answer 503 or 429, stall, send blob GETs to an "object storage" server on
 * another origin, and serve corrupt blob bytes — and it counts what it saw.
 */
export interface Faults {
  /** Fraction of blob GETs whose body is cut after half the bytes. */
  cutBlobs?: number;
  /** Fraction of requests answered 503 (half) or 429 with Retry-After (half). */
  errors?: number;
  /** Requests whose path matches are held this long before being forwarded. */
  stall?: { match: RegExp; ms: number };
  /** Blob GETs answered 307 to the storage server. */
  redirectBlobs?: boolean;
  /** Blob digests whose bytes are served with one byte flipped. */
  corrupt?: Set<string>;
  /** Every request is answered by closing the connection. */
  down?: boolean;
}

export interface FaultCounts {
  requests: number;
  byMethod: Record<string, number>;
  cut: number;
  errors: number;
  stalled: number;
  redirected: number;
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
  readonly faults: Faults;
  readonly counts: FaultCounts;
  reset(): void;
  stop(): Promise<void>;
}

/** Deterministic: the same seed injects the same faults in the same order. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const BLOB_GET = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/;

export async function startFaultProxy(upstream: string, faults: Faults = {}, seed = 42): Promise<FaultProxy> {
  const upstreamUrl = new URL(upstream.includes('://') ? upstream : `http://${upstream}`);
  const rand = random(seed);
  const counts = emptyCounts();
  const stored = new Map<string, Buffer>();

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

  async function handle(req: IncomingMessage, res: ServerResponse) {
    counts.requests++;
    counts.byMethod[req.method ?? '?'] = (counts.byMethod[req.method ?? '?'] ?? 0) + 1;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (faults.down) {
      req.socket.destroy();
      return;
    }
    if (faults.stall?.match.test(path)) {
      counts.stalled++;
      await new Promise((r) => setTimeout(r, faults.stall?.ms ?? 0));
      if (res.destroyed || req.socket.destroyed) return;
    }
    if (path !== '/v2/' && faults.errors !== undefined && rand() < faults.errors) {
      counts.errors++;
      req.resume();
      if (rand() < 0.5) res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable');
      else
        res
          .writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' })
          .end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      return;
    }
    const blob = req.method === 'GET' ? BLOB_GET.exec(path)?.[1] : undefined;
    req.on('data', (chunk: Buffer) => (counts.bytesIn += chunk.length));
    const upstreamRes = await forward(req);
    const tampering =
      faults.corrupt?.has(blob ?? '') ||
      faults.redirectBlobs ||
      (faults.cutBlobs !== undefined && faults.cutBlobs > 0);
    if (blob === undefined || upstreamRes.statusCode !== 200 || !tampering) {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.on('data', (chunk: Buffer) => (counts.bytesOut += chunk.length));
      upstreamRes.pipe(res);
      return;
    }
    let body = await readAll(upstreamRes);
    if (faults.corrupt?.has(blob)) {
      body = Buffer.from(body);
      body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0xff;
    }
    if (faults.redirectBlobs) {
      counts.redirected++;
      const key = `/objects/${blob}?signature=${Math.floor(rand() * 1e9)}`;
      stored.set(key, body);
      res.writeHead(307, { location: `http://${storageHost}${key}`, 'content-length': 0 }).end();
      return;
    }
    if (faults.cutBlobs !== undefined && rand() < faults.cutBlobs && body.length > 1) {
      counts.cut++;
      res.writeHead(200, { ...upstreamRes.headers, 'content-length': body.length });
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
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
    faults,
    counts,
    reset() {
      Object.assign(counts, emptyCounts());
    },
    async stop() {
      await Promise.all([close(proxy), close(storage)]);
    },
  };
}

function emptyCounts(): FaultCounts {
  return {
    requests: 0,
    byMethod: {},
    cut: 0,
    errors: 0,
    stalled: 0,
    redirected: 0,
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
