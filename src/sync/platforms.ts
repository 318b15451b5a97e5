import { sha256 } from '../registry/digest.ts';
import type { Descriptor, Platform, RawManifest } from '../registry/manifest.ts';

/** `*` (from `--os` or `--arch` given alone) matches anything; a missing variant matches every variant. */
export function platformMatches(p: Platform | undefined, wanted: readonly Platform[]): boolean {
  if (p === undefined) return false;
  const is = (want: string | undefined, have: string | undefined) =>
    want === undefined || want === '*' || want === have;
  return wanted.some((w) => is(w.os, p.os) && is(w.architecture, p.architecture) && is(w.variant, p.variant));
}

/**
 * An index holding only the wanted platforms' children. Attestation entries stay with the images
 * they describe. Unchanged when nothing was dropped, so the digest
 * is kept byte for byte.
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
  const body = JSON.parse(raw.bytes.toString('utf8')) as { manifests: unknown[] };
  body.manifests = (body.manifests as Descriptor[]).filter((d) => kept.some((k) => k.digest === d.digest));
  const bytes = Buffer.from(JSON.stringify(body, null, 2));
  return { manifest: { mediaType: raw.mediaType, bytes, digest: sha256(bytes) }, kept };
}

/** Docker's attestation manifests point at their image through this annotation. */
function describesKept(d: Descriptor, kept: ReadonlySet<string>): boolean {
  const ref = d.annotations?.['vnd.docker.reference.digest'];
  return ref !== undefined && kept.has(ref);
}
