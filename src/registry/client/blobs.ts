import type { Readable } from 'node:stream';
import { header } from '../transport/check.ts';
import { type RepoContext, repoPath } from './context.ts';

/** The blob's size when the repository has it, `undefined` when not. */
export async function headBlob(ctx: RepoContext, digest: string): Promise<number | undefined> {
  const res = await ctx.transport.request({
    method: 'HEAD',
    path: repoPath(ctx, `blobs/${digest}`),
    scopes: ctx.scopes,
    expect: [200, 404],
    ...(ctx.signal !== undefined && { signal: ctx.signal }),
  });
  await res.body.dump();
  return res.status === 200 ? Number(header(res, 'content-length') ?? 0) : undefined;
}

export interface BlobStream {
  readonly body: Readable;
  readonly size: number | undefined;
}

/** GET a blob as a stream, following the registry's redirect to object storage. */
export async function getBlob(ctx: RepoContext, digest: string): Promise<BlobStream> {
  const res = await ctx.transport.request({
    method: 'GET',
    path: repoPath(ctx, `blobs/${digest}`),
    scopes: ctx.scopes,
    expect: [200],
    ...(ctx.signal !== undefined && { signal: ctx.signal }),
  });
  const length = header(res, 'content-length');
  return { body: res.body, size: length === undefined ? undefined : Number(length) };
}
