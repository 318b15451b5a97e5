import type { Readable } from 'node:stream';
import { RegistryError } from '../errors.ts';
import { header } from '../transport/check.ts';
import type { HttpResponse } from '../transport/http.ts';
import { type RepoContext, repoPath } from './context.ts';

/** Mounted, or the registry declined and opened an ordinary upload session instead. */
export type MountResult = { readonly mounted: true } | { readonly mounted: false; readonly location: URL };

/** Cross-repository mount: the registry links a blob it already holds, no bytes move. */
export async function mountBlob(ctx: RepoContext, digest: string, from: string): Promise<MountResult> {
  const query = new URLSearchParams({ mount: digest, from });
  const res = await ctx.transport.request({
    method: 'POST',
    path: `${repoPath(ctx, 'blobs/uploads/')}?${query}`,
    scopes: from === ctx.name ? ctx.scopes : [...ctx.scopes, `repository:${from}:pull`],
    expect: [201, 202],
    headers: { 'content-length': '0' },
    ...(ctx.signal !== undefined && { signal: ctx.signal }),
  });
  await res.body.dump();
  return res.status === 201 ? { mounted: true } : { mounted: false, location: uploadLocation(res) };
}

export async function startUpload(ctx: RepoContext): Promise<URL> {
  const res = await ctx.transport.request({
    method: 'POST',
    path: repoPath(ctx, 'blobs/uploads/'),
    scopes: ctx.scopes,
    expect: [202],
    headers: { 'content-length': '0' },
    ...(ctx.signal !== undefined && { signal: ctx.signal }),
  });
  await res.body.dump();
  return uploadLocation(res);
}

/** Monolithic upload: the whole blob in the closing PUT, its length known in advance. */
export async function putUpload(
  ctx: RepoContext,
  location: URL,
  digest: string,
  size: number,
  body: Readable,
) {
  const res = await ctx.transport.request({
    method: 'PUT',
    path: withDigest(location, digest),
    scopes: ctx.scopes,
    expect: [201],
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    body,
    ...(ctx.signal !== undefined && { signal: ctx.signal }),
  });
  await res.body.dump();
}

/** Streamed upload, for registries that refuse a body on PUT: one PATCH with the data, then an empty PUT. */
export async function patchUpload(ctx: RepoContext, location: URL, digest: string, body: Readable) {
  const patched = await ctx.transport.request({
    method: 'PATCH',
    path: location,
    scopes: ctx.scopes,
    expect: [202],
    headers: { 'content-type': 'application/octet-stream' },
    body,
    ...(ctx.signal !== undefined && { signal: ctx.signal }),
  });
  await patched.body.dump();
  const res = await ctx.transport.request({
    method: 'PUT',
    path: withDigest(uploadLocation(patched, location), digest),
    scopes: ctx.scopes,
    expect: [201],
    headers: { 'content-length': '0' },
    ...(ctx.signal !== undefined && { signal: ctx.signal }),
  });
  await res.body.dump();
}

function uploadLocation(res: HttpResponse, fallback?: URL): URL {
  const location = header(res, 'location');
  if (location === undefined) {
    if (fallback !== undefined) return fallback;
    throw new RegistryError(`${res.method} ${res.target} started an upload without a Location`);
  }
  return new URL(location, res.url);
}

function withDigest(location: URL, digest: string): URL {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url;
}
