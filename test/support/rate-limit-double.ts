import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A registry double for Docker Hub's pull quota: passes everything to a real registry (loopback)
 * and adds `ratelimit-limit` / `ratelimit-remaining` headers, counting each manifest GET as a pull.
 */
export interface RateLimitDouble {
  readonly host: string;
  /** Pulls (manifest GETs) that reached the registry. */
  readonly pulls: () => number;
  stop(): Promise<void>;
}

const MANIFEST = /^\/v2\/.+\/manifests\/[^/]+$/;

export async function startRateLimitDouble(
  upstream: string,
  limit: number,
  remaining: number,
): Promise<RateLimitDouble> {
  const [hostname, port] = upstream.split(':');
  let left = remaining;
  let pulls = 0;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && MANIFEST.test(path)) {
      pulls++;
      left = Math.max(0, left - 1);
    }
    const out = httpRequest(
      { host: hostname, port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, {
          ...up.headers,
          'ratelimit-limit': `${limit};w=21600`,
          'ratelimit-remaining': `${left};w=21600`,
        });
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    pulls: () => pulls,
    stop: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
