import { createServer } from 'node:http';
import pLimit from 'p-limit';
import { RegistryClient } from '/work/main/src/registry/client.ts';
import { BlobCopier } from '/work/main/src/sync/blobs.ts';
import { createHash } from 'node:crypto';

const data = Buffer.alloc(200_000, 7);
const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
const mode = process.argv[2] ?? 'cut';
const src = createServer((req, res) => {
  if (req.url === '/v2/') return res.writeHead(200).end('{}');
  res.writeHead(200, { 'content-length': data.length });
  res.write(data.subarray(0, 100_000), () => { if (mode === 'cut') res.destroy(); });
});
const dst = createServer((req, res) => {
  if (req.url === '/v2/') return res.writeHead(200).end('{}');
  if (req.method === 'HEAD') return res.writeHead(404).end();
  if (req.method === 'POST') return res.writeHead(202, { location: '/v2/d/blobs/uploads/x', 'content-length': 0 }).end();
  if (mode === 'dst503') { res.writeHead(503).end('no'); return; }
  req.resume(); req.on('end', () => res.writeHead(201).end()); req.on('error', () => {});
});
await new Promise<void>((r) => src.listen(0, '127.0.0.1', () => r()));
await new Promise<void>((r) => dst.listen(0, '127.0.0.1', () => r()));
const sh = `127.0.0.1:${(src.address() as any).port}`, dh = `127.0.0.1:${(dst.address() as any).port}`;
const counts: Record<string, number> = {};
for (let i = 0; i < 60; i++) {
  const client = new RegistryClient({ accessFor: () => ({ key: 'a' }), retry: { retries: 0, minDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 }, timeouts: undefined } as any);
  const copier = new BlobCopier({ limit: pLimit(2), retry: { retries: 0, minDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 } });
  const s = client.repository({ registry: sh, repository: 's' }, 'pull');
  const d = client.repository({ registry: dh, repository: 'd' }, 'push');
  try { await copier.copy({ mediaType: 'x', digest, size: data.length }, s, d); counts.ok = (counts.ok ?? 0) + 1; }
  catch (e) { const m = (e as Error).message.replace(/127\.0\.0\.1:\d+/g, 'H').replace(/sha256:\w+/, 'D').replace(/uploads\/x/, 'U'); counts[m] = (counts[m] ?? 0) + 1; }
  await client.close();
}
console.log(mode, counts);
process.exit(0);
