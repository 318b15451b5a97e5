import type { ManifestHead } from '../registry/client/manifests.ts';
import { RegistryError } from '../registry/errors.ts';
import {
  isImageMediaType,
  MediaType,
  type Platform,
  parseManifest,
  type RawManifest,
} from '../registry/manifest.ts';
import { formatReference } from '../registry/reference.ts';
import type { ImageStore } from '../registry/store.ts';
import { filterIndex, isFilteredFrom } from './platforms.ts';
import { QuotaDeferral } from './quota.ts';
import { copyReferrers } from './referrers.ts';
import { type CopyContext, copyContent, copyOnceThenPut, sourceManifest } from './tree.ts';
import type { Task } from './types.ts';

export type { CopyContext } from './tree.ts';

export interface CopyOutcome {
  readonly status: 'synced' | 'skipped' | 'planned';
  readonly digest: string;
  readonly sourceDigest?: string;
  readonly bytes: number;
  /** Signatures, attestations and other referrers copied with the image. */
  readonly referrers: number;
}

/**
 * One image: HEAD both sides and stop when they match; otherwise children, then blobs, then the
 * manifest, then the tag — so a tag never points at anything incomplete.
 */
export async function copyImage(task: Task, ctx: CopyContext): Promise<CopyOutcome> {
  const src = ctx.client.repository(task.source, 'pull', ctx.signal);
  const dst = ctx.client.repository(task.destination, ctx.dryRun ? 'pull' : 'push', ctx.signal);
  const srcRef = task.source.digest ?? task.source.tag ?? 'latest';
  const platforms = task.platforms ?? [];
  const tag = task.destination.tag;
  // Untagged, a destination is addressed by digest: the pinned source's, asked for up front, and —
  // once a platform filter has made a new index — that index's own.
  const named = tag ?? task.destination.digest;
  // Both sides at once where the destination reference is known: a no-op image is one round trip, not two.
  const [srcHead, dstHead] = await Promise.allSettled([
    src.headManifest(srcRef),
    !ctx.force && named !== undefined ? dst.headManifest(named) : undefined,
  ]);
  if (srcHead.status === 'rejected') throw srcHead.reason;
  const head = srcHead.value;
  if (head === undefined) {
    throw new RegistryError(`${formatReference(task.source)} was not found`, {
      status: 404,
      errors: [{ code: 'MANIFEST_UNKNOWN' }],
    });
  }
  if (dstHead.status === 'rejected') throw dstHead.reason;
  const sourceDigest = head.digest ?? (await src.getManifest(srcRef)).digest;
  const written = formatReference(task.destination);
  const withReferrers = async (found: Omit<CopyOutcome, 'referrers'>): Promise<CopyOutcome> => {
    // In place because an earlier attempt of this run wrote it (and then failed): that was a copy.
    const earlier = found.status === 'skipped' ? ctx.written.get(written) : undefined;
    const outcome = earlier === undefined ? found : { ...found, status: 'synced' as const, bytes: earlier };
    // A filtered index has a digest of its own: signatures of the source's would not verify against it.
    const referrers =
      task.referrers === false || ctx.dryRun || outcome.sourceDigest !== undefined
        ? 0
        : await copyReferrers(outcome.digest, src, dst, ctx, outcome.status === 'synced', task.sourceTags);
    return { ...outcome, referrers };
  };

  const current = named === undefined && !ctx.force ? await dst.headManifest(sourceDigest) : dstHead.value;
  // A platform filter applies to indexes only: an image of one platform is copied as it is. A HEAD
  // that does not name an image's media type may be an index's.
  const filtering = platforms.length > 0 && !isImageMediaType(head.mediaType);
  const there = ctx.force
    ? undefined
    : await upToDate(current, sourceDigest, filtering ? platforms : [], dst);
  if (there !== undefined) return withReferrers({ status: 'skipped', ...there, bytes: 0 });

  if (ctx.mayPull?.(task.source) === false) {
    throw new QuotaDeferral(`deferred: the pull quota of ${task.source.registry} is at its floor`);
  }
  const raw = await sourceManifest(ctx, src, sourceDigest);
  const manifest = parseManifest(raw);
  let target = raw;
  let children = manifest.kind === 'index' ? manifest.manifests : [];
  if (platforms.length > 0 && manifest.kind === 'index') {
    const filtered = filterIndex(raw, manifest.manifests, platforms);
    if (filtered.kept.length === 0) {
      throw new RegistryError(`${formatReference(task.source)} has none of the requested platforms`);
    }
    target = filtered.manifest;
    children = filtered.kept;
    // Docker's manifest lists carry no record of their filtering: their comparison comes only now.
    // An untagged destination is addressed by digest, and the filtered index has its own.
    const existing =
      ctx.force || tag !== undefined || target.digest === named
        ? current
        : await dst.headManifest(target.digest);
    if (!ctx.force && existing?.digest === target.digest) {
      return withReferrers({ status: 'skipped', ...outcomeDigests(target, raw), bytes: 0 });
    }
    if (target.digest !== raw.digest)
      ctx.emit({ type: 'index-filtered', task, from: raw.digest, to: target.digest });
  }
  if (ctx.dryRun) return withReferrers({ status: 'planned', ...outcomeDigests(target, raw), bytes: 0 });

  // Another tag of this run may be copying the same image to this repository: one copy, then each tag.
  const ref = tag ?? target.digest;
  const bytes = await copyOnceThenPut(
    ctx,
    dst,
    target.digest,
    () => copyContent(manifest, children, src, dst, ctx),
    () => dst.putManifest(ref, target, { top: true }),
  );
  ctx.written.set(written, bytes);
  return withReferrers({ status: 'synced', ...outcomeDigests(target, raw), bytes });
}

/**
 * The digests of what the destination already holds for this task, from HEADs and reads of the
 * destination only, so that an unchanged image costs the source no pull: the source's manifest, or
 * the index a platform filter made of it (recorded in the index, see FILTERED_FROM).
 */
async function upToDate(
  current: ManifestHead | undefined,
  sourceDigest: string,
  platforms: readonly Platform[],
  dst: ImageStore,
): Promise<{ digest: string; sourceDigest?: string } | undefined> {
  if (current?.digest === undefined) return undefined;
  if (platforms.length === 0) return current.digest === sourceDigest ? { digest: sourceDigest } : undefined;
  if (current.digest === sourceDigest) {
    // The source's own manifest, already here: an image is copied as it is, an index is current if
    // the filter keeps all of it.
    const raw = await dst.getManifest(sourceDigest);
    const manifest = parseManifest(raw);
    if (manifest.kind !== 'index') return { digest: sourceDigest };
    const kept = filterIndex(raw, manifest.manifests, platforms).manifest.digest === sourceDigest;
    return kept ? { digest: sourceDigest } : undefined;
  }
  // Only an OCI index records its filtering (FILTERED_FROM): reading a Docker manifest list tells nothing.
  if (current.mediaType !== MediaType.ociIndex) return undefined;
  const index = await dst.getManifest(current.digest);
  return isFilteredFrom(index, sourceDigest, platforms)
    ? { digest: current.digest, sourceDigest }
    : undefined;
}

function outcomeDigests(target: RawManifest, raw: RawManifest): { digest: string; sourceDigest?: string } {
  return target.digest === raw.digest
    ? { digest: target.digest }
    : { digest: target.digest, sourceDigest: raw.digest };
}
