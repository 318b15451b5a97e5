import type { RegistryClient } from '../registry/client.ts';
import { type Descriptor, type Manifest, parseManifest, type RawManifest } from '../registry/manifest.ts';
import type { Repository } from '../registry/reference.ts';
import type { ImageStore } from '../registry/store.ts';
import type { BlobCopier } from './blobs.ts';
import type { SyncEvent } from './types.ts';

export interface CopyContext {
  readonly client: Pick<RegistryClient, 'repository'>;
  readonly blobs: BlobCopier;
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly signal?: AbortSignal;
  readonly emit: (event: SyncEvent) => void;
  /** `destination@digest` → the copy of that image's referrers, started once per run (again after a failure). */
  readonly referrersCopied: Map<string, Promise<number>>;
  /**
   * Destination references this run wrote, with the bytes moved for them: a later attempt (a retry
   * pass after a failure that came once the tag was written) finds them in place and says synced.
   */
  readonly written: Map<string, number>;
  /** `destination repository@digest` → the copy of that manifest and all below it, started once per run. */
  readonly manifestsCopied: Map<string, Promise<number>>;
  /** `source repository@digest` → its manifest, fetched (a pull) once per run. */
  readonly sourceManifests: Map<string, Promise<RawManifest>>;
  readonly mayPull?: (repo: Repository) => boolean;
}

/** What a manifest references — children of an index, or config and layers of an image — made present. */
export function copyContent(
  manifest: Manifest,
  children: readonly Descriptor[],
  src: ImageStore,
  dst: ImageStore,
  ctx: CopyContext,
): Promise<number> {
  return manifest.kind === 'index'
    ? copyChildren(children, src, dst, ctx)
    : copyBlobs(manifest, src, dst, ctx);
}

/** Children go by digest, each complete before the index that lists them is written. */
async function copyChildren(
  children: readonly Descriptor[],
  src: ImageStore,
  dst: ImageStore,
  ctx: CopyContext,
): Promise<number> {
  const sizes = await settleAll(children.map((child) => copyByDigest(child.digest, src, dst, ctx)));
  return sizes.reduce((a, b) => a + b, 0);
}

/** A manifest by digest with everything below it; nothing moves when the destination has it. */
export function copyByDigest(digest: string, src: ImageStore, dst: ImageStore, ctx: CopyContext) {
  return copyOnce(ctx, dst, digest, async () => {
    if ((await dst.headManifest(digest))?.digest === digest) return 0;
    const raw = await sourceManifest(ctx, src, digest);
    const manifest = parseManifest(raw);
    const children = manifest.kind === 'index' ? manifest.manifests : [];
    const bytes = await copyContent(manifest, children, src, dst, ctx);
    await dst.putManifest(digest, raw);
    return bytes;
  });
}

/**
 * Runs `copy` once per destination repository and digest; later callers wait and move nothing.
 * Two concurrent PUTs of one manifest into one repository can make distribution read its own
 * half-written link file (DIGEST_INVALID). A failure is forgotten, so a retry tries again.
 */
export async function copyOnce(
  ctx: CopyContext,
  dst: ImageStore,
  digest: string,
  copy: () => Promise<number>,
): Promise<number> {
  const { job, started } = shared(ctx.manifestsCopied, `${dst.name}@${digest}`, copy);
  if (started) return job;
  await job;
  return 0;
}

/**
 * What a manifest references, copied once per destination repository and digest (copyOnce), then the
 * manifest put under `put`'s reference: by that copy, or after another caller's copy of the same one,
 * never beside it. Returns the bytes this caller moved.
 */
export async function copyOnceThenPut(
  ctx: CopyContext,
  dst: ImageStore,
  digest: string,
  below: () => Promise<number>,
  put: () => Promise<unknown>,
): Promise<number> {
  let copiedHere = false;
  const bytes = await copyOnce(ctx, dst, digest, async () => {
    copiedHere = true;
    const moved = await below();
    await put();
    return moved;
  });
  if (!copiedHere) await put();
  return bytes;
}

/** A source manifest by digest, fetched (a pull) at most once per run. */
export function sourceManifest(ctx: CopyContext, src: ImageStore, digest: string): Promise<RawManifest> {
  return shared(ctx.sourceManifests, `${src.name}@${digest}`, () => src.getManifest(digest)).job;
}

/** The job under `key`, started now if there is none; a failed job is forgotten, so the next asker starts again. */
export function shared<T>(
  jobs: Map<string, Promise<T>>,
  key: string,
  start: () => Promise<T>,
): { job: Promise<T>; started: boolean } {
  const running = jobs.get(key);
  if (running !== undefined) return { job: running, started: false };
  const job = start();
  jobs.set(key, job);
  job.catch(() => jobs.delete(key));
  return { job, started: true };
}

async function copyBlobs(
  manifest: Extract<Manifest, { kind: 'image' }>,
  src: ImageStore,
  dst: ImageStore,
  ctx: CopyContext,
): Promise<number> {
  const unique = new Map<string, Descriptor>();
  for (const d of [manifest.config, ...manifest.layers]) unique.set(d.digest, d);
  const sizes = await settleAll([...unique.values()].map((d) => ctx.blobs.copy(d, src, dst)));
  return sizes.reduce((a, b) => a + b, 0);
}

/** Like Promise.all, but waits for every sibling to stop before failing, so no work runs on unobserved. */
export async function settleAll<T>(work: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(work);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
