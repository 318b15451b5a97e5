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

/**
 * A tag made equal at the destination: a cosign artifact, or a referrers tag index. Others may push
 * referrers to the destination's index too (the tag schema has every pusher add to it), so the entries
 * only it lists are kept; without them, the source's index is copied byte for byte. Returns how many
 * artifacts arrived.
 */
async function copyTag(tag: string, src: ImageStore, dst: ImageStore, ctx: CopyContext): Promise<number> {
  const head = await src.headManifest(tag);
  if (head === undefined) return 0;
  const digest = head.digest ?? (await src.getManifest(tag)).digest;
  const there = await dst.headManifest(tag);
  if (there?.digest === digest) return 0;
  const raw = await src.getManifest(digest);
  const manifest = parseManifest(raw);
  const entries = manifest.kind === 'index' ? manifest.manifests : [];
  await copyContent(manifest, entries, src, dst, ctx);
  if (manifest.kind !== 'index' || tag.includes('.')) {
    await dst.putManifest(tag, raw);
    return 1;
  }
  const current = there === undefined ? [] : indexEntries(await dst.getManifest(tag));
  const ours = new Set(entries.map((e) => e.digest));
  const theirs = current.filter((e) => !ours.has(e.digest));
  await dst.putManifest(tag, theirs.length === 0 ? raw : withEntries(raw, theirs));
  const known = new Set(current.map((e) => e.digest));
  return entries.filter((e) => !known.has(e.digest)).length;
}

function indexEntries(raw: RawManifest): Descriptor[] {
  const manifest = parseManifest(raw);
  return manifest.kind === 'index' ? [...manifest.manifests] : [];
}

/** The index with `more` entries after its own. */
function withEntries(raw: RawManifest, more: readonly Descriptor[]): RawManifest {
  const body = JSON.parse(raw.bytes.toString('utf8')) as { manifests: unknown[] };
  body.manifests = [...body.manifests, ...more];
  const bytes = Buffer.from(JSON.stringify(body));
  return { mediaType: raw.mediaType, bytes, digest: sha256(bytes) };
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
