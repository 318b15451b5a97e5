import { sha256 } from '../registry/digest.ts';
import {
  type Descriptor,
  indexAnnotations,
  MediaType,
  type Platform,
  type RawManifest,
} from '../registry/manifest.ts';

/**
 * What a filtered OCI index records of its making, so that a later run can tell it is current from a
 * HEAD of the source: the source index's digest, and the platforms asked for.
 */
export const FILTERED_FROM = 'dev.image-sync.filtered-from';
export const FILTERED_PLATFORMS = 'dev.image-sync.platforms';

/** `linux/amd64,linux/arm/v7`: sorted, so the same platforms in another order give the same key. */
export function platformsKey(wanted: readonly Platform[]): string {
  const names = wanted.map((p) =>
    [p.os, p.architecture, ...(p.variant === undefined ? [] : [p.variant])].join('/'),
  );
  return [...new Set(names)].sort().join(',');
}

/** Whether `index` is what filtering the source index `from` to `wanted` wrote. */
export function isFilteredFrom(index: RawManifest, from: string, wanted: readonly Platform[]): boolean {
  const annotations = indexAnnotations(index);
  return annotations?.[FILTERED_FROM] === from && annotations[FILTERED_PLATFORMS] === platformsKey(wanted);
}

/** `*` (from `--os` or `--arch` given alone) matches anything; a missing variant matches every variant. */
export function platformMatches(p: Platform | undefined, wanted: readonly Platform[]): boolean {
  if (p === undefined) return false;
  const is = (want: string | undefined, have: string | undefined) =>
    want === undefined || want === '*' || want === have;
  return wanted.some((w) => is(w.os, p.os) && is(w.architecture, p.architecture) && is(w.variant, p.variant));
}

/**
 * An index holding only the wanted platforms' children. Attestation entries stay with the images
 * they describe. Unchanged when nothing was dropped, so the digest is kept byte for byte; otherwise an
 * OCI index also records where it came from (FILTERED_FROM). Docker's manifest list has no annotations.
 */
export function filterIndex(
  raw: RawManifest,
  children: readonly Descriptor[],
  wanted: readonly Platform[],
): { manifest: RawManifest; kept: Descriptor[] } {
  const keptDigests = new Set(
    children.filter((c) => platformMatches(c.platform, wanted)).map((c) => c.digest),
  );
  const kept = children.filter((c) => keptDigests.has(c.digest) || describesKept(c, keptDigests));
  if (kept.length === children.length) return { manifest: raw, kept };
  const body = JSON.parse(raw.bytes.toString('utf8')) as {
    manifests: unknown[];
    annotations?: Record<string, string>;
  };
  body.manifests = (body.manifests as Descriptor[]).filter((d) => kept.some((k) => k.digest === d.digest));
  if (raw.mediaType === MediaType.ociIndex) {
    body.annotations = {
      ...body.annotations,
      [FILTERED_FROM]: raw.digest,
      [FILTERED_PLATFORMS]: platformsKey(wanted),
    };
  }
  const bytes = Buffer.from(JSON.stringify(body, null, 2));
  return { manifest: { mediaType: raw.mediaType, bytes, digest: sha256(bytes) }, kept };
}

/** Docker's attestation manifests point at their image through this annotation. */
function describesKept(d: Descriptor, kept: ReadonlySet<string>): boolean {
  const ref = d.annotations?.['vnd.docker.reference.digest'];
  return ref !== undefined && kept.has(ref);
}
