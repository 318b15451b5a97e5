import { RegistryError, UnsupportedManifest } from './errors.ts';
import { isValidDigest } from './reference.ts';

export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

const INDEX_TYPES = new Set<string>([MediaType.ociIndex, MediaType.dockerList]);

export const isIndexMediaType = (mediaType: string): boolean => INDEX_TYPES.has(mediaType);
export const isImageMediaType = (mediaType: string): boolean => IMAGE_TYPES.has(mediaType);
const IMAGE_TYPES = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest]);
const SCHEMA1_TYPES = new Set<string>([MediaType.dockerSchema1, MediaType.dockerSchema1Signed]);

/** What we ask for: every modern type, and schema 1 last so that it is named rather than converted. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.dockerList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
  MediaType.dockerSchema1Signed,
  MediaType.dockerSchema1,
].join(', ');

/** Registries refuse manifests above 4 MiB (distribution's limit); anything larger is not a manifest. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export type Manifest =
  | {
      readonly kind: 'index';
      readonly mediaType: string;
      readonly manifests: readonly Descriptor[];
      readonly subject?: Descriptor;
    }
  | {
      readonly kind: 'image';
      readonly mediaType: string;
      readonly config: Descriptor;
      readonly layers: readonly Descriptor[];
      readonly subject?: Descriptor;
    };

/** A manifest as stored: its exact bytes are what gets copied, the parse is only read. */
export interface RawManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

/**
 * The annotations of an OCI index, or undefined (another kind, or not JSON). Lenient on purpose: it
 * reads records this tool may have left in an index, and a manifest without them is simply not one.
 */
export function indexAnnotations(raw: RawManifest): Readonly<Record<string, unknown>> | undefined {
  if (raw.mediaType !== MediaType.ociIndex) return undefined;
  try {
    return (JSON.parse(raw.bytes.toString('utf8')) as { annotations?: Record<string, unknown> }).annotations;
  } catch {
    return undefined;
  }
}

export function parseManifest(raw: RawManifest): Manifest {
  let body: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(raw.bytes.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    body = parsed as Record<string, unknown>;
  } catch {
    throw new UnsupportedManifest(`manifest ${raw.digest} is not valid JSON`);
  }
  const mediaType = typeof body.mediaType === 'string' ? body.mediaType : raw.mediaType;
  if (SCHEMA1_TYPES.has(mediaType) || body.schemaVersion === 1) {
    throw new UnsupportedManifest(
      `manifest ${raw.digest} is an unsupported legacy manifest (Docker schema 1); push it again with a current Docker to convert it`,
    );
  }
  const subject = body.subject === undefined ? undefined : descriptor(body.subject, raw.digest, 'subject');
  const extra = subject === undefined ? {} : { subject };
  if (INDEX_TYPES.has(mediaType) || (Array.isArray(body.manifests) && !IMAGE_TYPES.has(mediaType))) {
    const list = Array.isArray(body.manifests) ? body.manifests : [];
    return {
      kind: 'index',
      mediaType,
      manifests: list.map((d, i) => descriptor(d, raw.digest, `manifests[${i}]`)),
      ...extra,
    };
  }
  if (body.config !== undefined) {
    const layers = Array.isArray(body.layers) ? body.layers : [];
    return {
      kind: 'image',
      mediaType,
      config: descriptor(body.config, raw.digest, 'config'),
      layers: layers.map((d, i) => descriptor(d, raw.digest, `layers[${i}]`)),
      ...extra,
    };
  }
  throw new UnsupportedManifest(`manifest ${raw.digest} has an unknown media type "${mediaType}"`);
}

function descriptor(value: unknown, manifest: string, where: string): Descriptor {
  const d = value as Partial<Record<keyof Descriptor, unknown>> | null;
  const ok =
    typeof d === 'object' &&
    d !== null &&
    typeof d.mediaType === 'string' &&
    typeof d.digest === 'string' &&
    isValidDigest(d.digest) &&
    typeof d.size === 'number' &&
    Number.isSafeInteger(d.size) &&
    d.size >= 0;
  if (!ok) throw new RegistryError(`manifest ${manifest} has an invalid descriptor at ${where}`);
  return d as Descriptor;
}
