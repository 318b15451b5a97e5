import { referrersTag } from '../registry/client/referrers.ts';
import { sha256 } from '../registry/digest.ts';
import { type Descriptor, MediaType, parseManifest, type RawManifest } from '../registry/manifest.ts';
import type { ImageStore } from '../registry/store.ts';
import { type CopyContext, copyByDigest, copyContent } from './tree.ts';

/** cosign's tag scheme: `sha256-<hex>.sig`, `.att`, `.sbom` beside the image. */
const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'];

/**
 * Brings what signs, attests or describes an image along with it: cosign's tags, and OCI 1.1
 * referrers — through the referrers API when the source has it, else its `sha256-<hex>` tag index.
 * The API is asked (a GET) only for images this run copied, so no-op runs stay HEAD-only.
 * Returns how many artifacts were copied.
 */
export async function copyReferrers(
  digest: string,
  src: ImageStore,
  dst: ImageStore,
  ctx: CopyContext,
  fresh: boolean,
  sourceTags?: ReadonlySet<string>,
): Promise<number> {
  const key = `${dst.name}@${digest}`;
  if (ctx.referrersDone.has(key)) return 0;
  ctx.referrersDone.add(key);
  const base = referrersTag(digest);
  const tags = COSIGN_SUFFIXES.map((s) => `${base}.${s}`);
  let count = 0;
  const listed = fresh ? await src.listReferrers(digest) : undefined;
  if (listed !== undefined && listed.length > 0) count += await copyListed(digest, listed, src, dst, ctx);
  else tags.unshift(base);
  // When this run listed the source's tags, only the referrer tags it has are worth a HEAD.
  for (const tag of tags) if (sourceTags?.has(tag) !== false) count += await copyTag(tag, src, dst, ctx);
  return count;
}

/** A tag (cosign signature, or a referrers tag index) made equal at the destination. */
async function copyTag(tag: string, src: ImageStore, dst: ImageStore, ctx: CopyContext): Promise<number> {
  const head = await src.headManifest(tag);
  if (head === undefined) return 0;
  const digest = head.digest ?? (await src.getManifest(tag)).digest;
  if ((await dst.headManifest(tag))?.digest === digest) return 0;
  const raw = await src.getManifest(digest);
  const manifest = parseManifest(raw);
  await copyContent(manifest, manifest.kind === 'index' ? manifest.manifests : [], src, dst, ctx);
  await dst.putManifest(tag, raw);
  return manifest.kind === 'index' && tag.indexOf('.') === -1 ? manifest.manifests.length : 1;
}

/** Referrers from the API: each by digest; where the destination has no API, its tag index is kept too. */
async function copyListed(
  subject: string,
  listed: readonly Descriptor[],
  src: ImageStore,
  dst: ImageStore,
  ctx: CopyContext,
): Promise<number> {
  for (const d of listed) await copyByDigest(d.digest, src, dst, ctx);
  if ((await dst.listReferrers(subject)) !== undefined) return listed.length;
  const tag = referrersTag(subject);
  const existing = await dst.headManifest(tag);
  let manifests: Descriptor[] = [];
  if (existing !== undefined) {
    const current = parseManifest(await dst.getManifest(tag));
    if (current.kind === 'index') manifests = [...current.manifests];
  }
  const known = new Set(manifests.map((m) => m.digest));
  const added = listed.filter((d) => !known.has(d.digest));
  if (added.length === 0) return listed.length;
  const bytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...manifests, ...added] }),
  );
  const index: RawManifest = { mediaType: MediaType.ociIndex, bytes, digest: sha256(bytes) };
  await dst.putManifest(tag, index);
  return listed.length;
}
