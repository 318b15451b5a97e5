import { type Descriptor, MediaType } from '../manifest.ts';
import { type RepoContext, repoPath } from './context.ts';

/**
 * OCI 1.1 referrers API: the manifests whose `subject` is this digest. `undefined` when the registry
 * does not offer the API (callers then use the `sha256-<hex>` tag schema) — asked once per registry:
 * the first answer settles it, and concurrent callers wait for it.
 */
export async function listReferrers(ctx: RepoContext, digest: string): Promise<Descriptor[] | undefined> {
  const { features } = ctx;
  const known = features.referrersApi;
  if (known !== undefined) return (await known) ? ask(ctx, digest) : undefined;
  let settle: (supported: boolean) => void = () => {};
  features.referrersApi = new Promise((resolve) => {
    settle = resolve;
  });
  try {
    const listed = await ask(ctx, digest);
    settle(listed !== undefined);
    return listed;
  } catch (err) {
    // Nothing learned: the next caller asks again.
    features.referrersApi = undefined;
    settle(true);
    throw err;
  }
}

async function ask(ctx: RepoContext, digest: string): Promise<Descriptor[] | undefined> {
  const res = await ctx.transport.request({
    method: 'GET',
    path: repoPath(ctx, `referrers/${digest}`),
    scopes: ctx.scopes,
    expect: [200, 404, 405],
    headers: { accept: MediaType.ociIndex },
    ...(ctx.signal !== undefined && { signal: ctx.signal }),
  });
  const type = String(res.headers['content-type'] ?? '');
  if (res.status !== 200 || !type.includes(MediaType.ociIndex)) {
    await res.body.dump();
    return undefined;
  }
  const body = (await res.body.json()) as { manifests?: unknown };
  return Array.isArray(body.manifests) ? (body.manifests as Descriptor[]) : [];
}

/** The referrers tag schema's tag for a digest: `sha256:abc…` → `sha256-abc…`. */
export const referrersTag = (digest: string): string => digest.replace(':', '-');
