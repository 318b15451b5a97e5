import { RegistryError } from '../registry/errors.ts';
import { parseManifest, type RawManifest } from '../registry/manifest.ts';
import { formatReference } from '../registry/reference.ts';
import { filterIndex } from './platforms.ts';
import { QuotaDeferral } from './quota.ts';
import { copyReferrers } from './referrers.ts';
import { type CopyContext, copyContent, copyOnce, sourceManifest } from './tree.ts';
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
  const filtering = task.platforms !== undefined && task.platforms.length > 0;
  const compare = !ctx.force && !filtering;
  const named = task.destination.tag ?? task.destination.digest;
  // Both sides at once where the destination reference is known: a no-op image is one round trip, not two.
  const [srcHead, dstHead] = await Promise.allSettled([
    src.headManifest(srcRef),
    compare && named !== undefined ? dst.headManifest(named) : undefined,
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
  const dstRef = named ?? sourceDigest;
  const withReferrers = async (outcome: Omit<CopyOutcome, 'referrers'>): Promise<CopyOutcome> => {
    // A filtered index has a digest of its own: signatures of the source's would not verify against it.
    const referrers =
      task.referrers === false || ctx.dryRun || outcome.sourceDigest !== undefined
        ? 0
        : await copyReferrers(outcome.digest, src, dst, ctx, outcome.status === 'synced', task.sourceTags);
    return { ...outcome, referrers };
  };

  const current = named === undefined && compare ? await dst.headManifest(dstRef) : dstHead.value;
  if (compare && current?.digest === sourceDigest) {
    return withReferrers({ status: 'skipped', digest: sourceDigest, bytes: 0 });
  }

  if (ctx.mayPull?.(task.source) === false) {
    throw new QuotaDeferral(`deferred: the pull quota of ${task.source.registry} is at its floor`);
  }
  const raw = await sourceManifest(ctx, src, sourceDigest);
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
    if (target.digest !== raw.digest)
      ctx.emit({ type: 'index-filtered', task, from: raw.digest, to: target.digest });
    if (!ctx.force && (await dst.headManifest(dstRef))?.digest === target.digest) {
      return withReferrers({ status: 'skipped', ...outcomeDigests(target, raw), bytes: 0 });
    }
  }
  if (ctx.dryRun) return withReferrers({ status: 'planned', ...outcomeDigests(target, raw), bytes: 0 });

  // Another tag of this run may be copying the same image to this repository: one copy, then each tag.
  let copiedHere = false;
  const bytes = await copyOnce(ctx, dst, target.digest, async () => {
    copiedHere = true;
    const moved = await copyContent(manifest, children, src, dst, ctx);
    await dst.putManifest(dstRef, target);
    return moved;
  });
  if (!copiedHere) await dst.putManifest(dstRef, target);
  return withReferrers({ status: 'synced', ...outcomeDigests(target, raw), bytes });
}

function outcomeDigests(target: RawManifest, raw: RawManifest): { digest: string; sourceDigest?: string } {
  return target.digest === raw.digest
    ? { digest: target.digest }
    : { digest: target.digest, sourceDigest: raw.digest };
}
