import { sha256 } from '../digest.ts';
import { DigestMismatch, RegistryError } from '../errors.ts';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, type RawManifest } from '../manifest.ts';
import { header } from '../transport/check.ts';
import { type RepoContext, repoPath } from './context.ts';

export interface ManifestHead {
  /** Absent when the registry does not send Docker-Content-Digest on HEAD. */
  readonly digest: string | undefined;
  readonly mediaType: string;
  readonly size: number;
}

/** HEAD: the digest without a GET (HEAD does not count against Docker Hub's pull limit). `undefined` when absent. */
export async function headManifest(ctx: RepoContext, ref: string): Promise<ManifestHead | undefined> {
  const res = await ctx.transport.request({
    method: 'HEAD',
    path: repoPath(ctx, `manifests/${ref}`),
    scopes: ctx.scopes,
    expect: [200, 404],
    headers: { accept: MANIFEST_ACCEPT },
    ...(ctx.signal !== undefined && { signal: ctx.signal }),
  });
  await res.body.dump();
  if (res.status === 404) return undefined;
  return {
    digest: header(res, 'docker-content-digest'),
    mediaType: header(res, 'content-type') ?? '',
    size: Number(header(res, 'content-length') ?? 0),
  };
}

/** GET: exact bytes, size-capped, and checked against the digest when fetched by digest. */
export async function getManifest(ctx: RepoContext, ref: string): Promise<RawManifest> {
  const res = await ctx.transport.request({
    method: 'GET',
    path: repoPath(ctx, `manifests/${ref}`),
    scopes: ctx.scopes,
    expect: [200],
    headers: { accept: MANIFEST_ACCEPT },
    ...(ctx.signal !== undefined && { signal: ctx.signal }),
  });
  const declared = Number(header(res, 'content-length') ?? 0);
  if (declared > MAX_MANIFEST_BYTES) {
    await res.body.dump();
    throw new RegistryError(
      `manifest ${ctx.name}:${ref} is ${declared} bytes, over the 4 MiB limit for manifests`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_MANIFEST_BYTES) {
      res.body.destroy();
      throw new RegistryError(`manifest ${ctx.name}:${ref} is over the 4 MiB limit for manifests`);
    }
    chunks.push(chunk as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  const digest = sha256(bytes);
  if (ref.startsWith('sha256:') && digest !== ref)
    throw new DigestMismatch(ref, digest, { target: res.target });
  return { digest, bytes, mediaType: (header(res, 'content-type') ?? '').split(';')[0]!.trim() };
}

/** Returns whether the registry indexed the manifest's `subject` itself (the `OCI-Subject` header). */
export async function putManifest(
  ctx: RepoContext,
  ref: string,
  manifest: RawManifest,
): Promise<{ subjectIndexed: boolean }> {
  const res = await ctx.transport.request({
    method: 'PUT',
    path: repoPath(ctx, `manifests/${ref}`),
    scopes: ctx.scopes,
    expect: [201, 200],
    headers: { 'content-type': manifest.mediaType },
    body: manifest.bytes,
    ...(ctx.signal !== undefined && { signal: ctx.signal }),
  });
  await res.body.dump();
  const stored = header(res, 'docker-content-digest');
  if (stored !== undefined && stored !== manifest.digest) throw new DigestMismatch(manifest.digest, stored);
  return { subjectIndexed: header(res, 'oci-subject') !== undefined };
}
