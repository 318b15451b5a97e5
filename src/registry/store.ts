import type { Readable } from 'node:stream';
import type { BlobStream } from './client/blobs.ts';
import type { ManifestHead } from './client/manifests.ts';
import type { MountResult } from './client/uploads.ts';
import type { Descriptor, RawManifest } from './manifest.ts';
import type { Repository } from './reference.ts';

/** What the engine needs of a place images live: a registry repository or an OCI layout directory. */
export interface ImageStore {
  readonly repo: Repository;
  /** For messages: `ghcr.io/acme/app`, `oci:/path/to/layout`. */
  readonly name: string;
  headManifest(ref: string): Promise<ManifestHead | undefined>;
  getManifest(ref: string): Promise<RawManifest>;
  /**
   * `top`: an image in its own right, not a part of one (an index's child). An OCI layout lists it in
   * index.json even when `ref` is a digest; a registry needs no telling.
   */
  putManifest(
    ref: string,
    manifest: RawManifest,
    opts?: { top?: boolean },
  ): Promise<{ subjectIndexed: boolean }>;
  headBlob(digest: string): Promise<number | undefined>;
  getBlob(digest: string): Promise<BlobStream>;
  mountBlob(digest: string, fromRepository: string): Promise<MountResult>;
  startUpload(): Promise<URL>;
  putUpload(location: URL, digest: string, size: number, body: Readable): Promise<void>;
  patchUpload(location: URL, digest: string, body: Readable): Promise<void>;
  listTags(): Promise<string[]>;
  listReferrers(digest: string): Promise<Descriptor[] | undefined>;
}
