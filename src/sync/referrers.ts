import { referrersTag } from '../registry/client/referrers.ts';
import { sha256 } from '../registry/digest.ts';
import {
  type Descriptor,
  indexAnnotations,
  MediaType,
  parseManifest,
  type RawManifest,
} from '../registry/manifest.ts';
import type { ImageStore } from '../registry/store.ts';
import { type CopyContext, copyByDigest, copyContent, copyOnceThenPut, settleAll, shared } from './tree.ts';

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
  // Once per image and destination; a failed copy is forgotten, so a retry pass tries it again.
  const { job, started } = shared(ctx.referrersCopied, `${dst.name}@${digest}`, async () => {
    const base = referrersTag(digest);
    const tags = COSIGN_SUFFIXES.map((s) => `${base}.${s}`);
    let count = 0;
    const listed = fresh ? await src.listReferrers(digest) : undefined;
    if (listed !== undefined && listed.length > 0) count += await copyListed(digest, listed, src, dst, ctx);
    else tags.unshift(base);
    // When this run listed the source's tags, only the referrer tags it has are worth a HEAD. The
    // HEADs go out together: on a no-op run they are the image's only round trips after its own.
    const wanted = tags.filter((tag) => sourceTags?.has(tag) !== false);
    const copied = await settleAll(wanted.map((tag) => copyTag(tag, src, dst, ctx)));
    return copied.reduce((a, b) => a + b, count);
  });
  return started ? job : 0;
}

/**
 * What a merged referrers tag index records of its making: the digest of the source's index, so that
 * a later run sees from a HEAD of the source (and a read of the destination) that it is current.
 */
const MERGED_FROM = 'dev.image-sync.merged-from';

/**
 * A tag made equal at the destination: a cosign artifact, or a referrers tag index. Others may push
 * referrers to the destination's index too (the tag schema has every pusher add to it), so the entries
 * only it lists are kept after the source's (MERGED_FROM); without them, the source's index is copied
 * byte for byte. An entry the source dropped stays, as one pushed at the destination would. Returns how
 * many artifacts arrived.
 */
async function copyTag(tag: string, src: ImageStore, dst: ImageStore, ctx: CopyContext): Promise<number> {
  const head = await src.headManifest(tag);
  if (head === undefined) return 0;
  const digest = head.digest ?? (await src.getManifest(tag)).digest;
  const there = await dst.headManifest(tag);
  if (there?.digest === digest) return 0;
  const isIndexTag = !tag.includes('.');
  const current = there !== undefined && isIndexTag ? await dst.getManifest(tag) : undefined;
  if (current !== undefined && indexAnnotations(current)?.[MERGED_FROM] === digest) return 0;
  const raw = await src.getManifest(digest);
  const manifest = parseManifest(raw);
  const entries = manifest.kind === 'index' ? manifest.manifests : [];
  if (manifest.kind !== 'index' || !isIndexTag) {
    // The tag index, copied meanwhile, may list this manifest too, and two PUTs of one manifest at
    // once can fail on distribution.
    await copyOnceThenPut(
      ctx,
      dst,
      digest,
      () => copyContent(manifest, entries, src, dst, ctx),
      () => dst.putManifest(tag, raw),
    );
    return 1;
  }
  await copyContent(manifest, entries, src, dst, ctx);
  const theirs = current === undefined ? [] : indexEntries(current);
  const ours = new Set(entries.map((e) => e.digest));
  const extra = theirs.filter((e) => !ours.has(e.digest));
  await dst.putManifest(tag, extra.length === 0 ? raw : appendEntries(raw, extra, { [MERGED_FROM]: digest }));
  const known = new Set(theirs.map((e) => e.digest));
  return entries.filter((e) => !known.has(e.digest)).length;
}

function indexEntries(raw: RawManifest): Descriptor[] {
  const manifest = parseManifest(raw);
  return manifest.kind === 'index' ? [...manifest.manifests] : [];
}

/** The index (a new, empty one without `base`) with `more` entries after its own, and `annotations` added. */
function appendEntries(
  base: RawManifest | undefined,
  more: readonly Descriptor[],
  annotations?: Record<string, string>,
): RawManifest {
  const body =
    base === undefined
      ? { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] as unknown[] }
      : (JSON.parse(base.bytes.toString('utf8')) as {
          manifests: unknown[];
          annotations?: Record<string, string>;
        });
  const out = {
    ...body,
    manifests: [...body.manifests, ...more],
    ...(annotations !== undefined && {
      annotations: { ...('annotations' in body ? body.annotations : {}), ...annotations },
    }),
  };
  const bytes = Buffer.from(JSON.stringify(out));
  return { mediaType: base?.mediaType ?? MediaType.ociIndex, bytes, digest: sha256(bytes) };
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
  const found = (await dst.headManifest(tag)) === undefined ? undefined : await dst.getManifest(tag);
  const current = found !== undefined && parseManifest(found).kind === 'index' ? found : undefined;
  const known = new Set((current === undefined ? [] : indexEntries(current)).map((m) => m.digest));
  const added = listed.filter((d) => !known.has(d.digest));
  if (added.length > 0) await dst.putManifest(tag, appendEntries(current, added));
  return listed.length;
}
