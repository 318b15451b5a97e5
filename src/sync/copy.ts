import type { RegistryClient, RepositoryClient } from '../registry/client.ts';
import { RegistryError } from '../registry/errors.ts';
import { type Descriptor, type Manifest, parseManifest, type RawManifest } from '../registry/manifest.ts';
import { formatReference } from '../registry/reference.ts';
import type { BlobCopier } from './blobs.ts';
import { filterIndex } from './platforms.ts';
import type { SyncEvent, Task } from './types.ts';

export interface CopyContext {
  readonly client: RegistryClient;
  readonly blobs: BlobCopier;
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly signal?: AbortSignal;
  readonly emit: (event: SyncEvent) => void;
}

export interface CopyOutcome {
  readonly status: 'synced' | 'skipped' | 'planned';
  readonly digest: string;
  readonly sourceDigest?: string;
  readonly bytes: number;
}

/**
 * One image: HEAD both sides and stop when they match; otherwise children, then blobs, then the
 * manifest, then the tag — so a tag never points at anything incomplete.
 */
export async function copyImage(task: Task, ctx: CopyContext): Promise<CopyOutcome> {
  const src = ctx.client.repository(task.source, 'pull', ctx.signal);
  const dst = ctx.client.repository(task.destination, ctx.dryRun ? 'pull' : 'push', ctx.signal);
  const srcRef = task.source.digest ?? task.source.tag ?? 'latest';
  const head = await src.headManifest(srcRef);
  if (head === undefined) {
    throw new RegistryError(`${formatReference(task.source)} was not found`, {
      status: 404,
      errors: [{ code: 'MANIFEST_UNKNOWN' }],
    });
  }
  const sourceDigest = head.digest ?? (await src.getManifest(srcRef)).digest;
  const dstRef = task.destination.tag ?? task.destination.digest ?? sourceDigest;
  const filtering = task.platforms !== undefined && task.platforms.length > 0;

  if (!ctx.force && !filtering && (await dst.headManifest(dstRef))?.digest === sourceDigest) {
    return { status: 'skipped', digest: sourceDigest, bytes: 0 };
  }

  const raw = await src.getManifest(sourceDigest);
  const manifest = parseManifest(raw);
  let target = raw;
  let children = manifest.kind === 'index' ? manifest.manifests : [];
  if (filtering && manifest.kind === 'index') {
    const filtered = filterIndex(raw, manifest.manifests, task.platforms ?? []);
    if (filtered.kept.length === 0) {
      throw new RegistryError(`${formatReference(task.source)} has none of the requested platforms`);
    }
    target = filtered.manifest;
    children = filtered.kept;
    if (target.digest !== raw.digest) ctx.emit({ type: 'index-filtered', task, from: raw.digest, to: target.digest });
    if (!ctx.force && (await dst.headManifest(dstRef))?.digest === target.digest) {
      return { status: 'skipped', ...outcomeDigests(target, raw), bytes: 0 };
    }
  }
  if (ctx.dryRun) return { status: 'planned', ...outcomeDigests(target, raw), bytes: 0 };

  const bytes =
    manifest.kind === 'index'
      ? await copyChildren(children, src, dst, ctx)
      : await copyBlobs(manifest, src, dst, ctx);
  await dst.putManifest(dstRef, target);
  return { status: 'synced', ...outcomeDigests(target, raw), bytes };
}

function outcomeDigests(target: RawManifest, raw: RawManifest): { digest: string; sourceDigest?: string } {
  return target.digest === raw.digest ? { digest: target.digest } : { digest: target.digest, sourceDigest: raw.digest };
}

/** Children go by digest, each complete before the index that lists them is written. */
async function copyChildren(
  children: readonly Descriptor[],
  src: RepositoryClient,
  dst: RepositoryClient,
  ctx: CopyContext,
): Promise<number> {
  const sizes = await settleAll(children.map((child) => copyByDigest(child.digest, src, dst, ctx)));
  return sizes.reduce((a, b) => a + b, 0);
}

async function copyByDigest(digest: string, src: RepositoryClient, dst: RepositoryClient, ctx: CopyContext) {
  if ((await dst.headManifest(digest))?.digest === digest) return 0;
  const raw = await src.getManifest(digest);
  const manifest = parseManifest(raw);
  const bytes =
    manifest.kind === 'index'
      ? await copyChildren(manifest.manifests, src, dst, ctx)
      : await copyBlobs(manifest, src, dst, ctx);
  await dst.putManifest(digest, raw);
  return bytes;
}

async function copyBlobs(
  manifest: Extract<Manifest, { kind: 'image' }>,
  src: RepositoryClient,
  dst: RepositoryClient,
  ctx: CopyContext,
): Promise<number> {
  const unique = new Map<string, Descriptor>();
  for (const d of [manifest.config, ...manifest.layers]) unique.set(d.digest, d);
  const sizes = await settleAll([...unique.values()].map((d) => ctx.blobs.copy(d, src, dst)));
  return sizes.reduce((a, b) => a + b, 0);
}

/** Like Promise.all, but waits for every sibling to stop before failing, so no work runs on unobserved. */
async function settleAll<T>(work: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(work);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
