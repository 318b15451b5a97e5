import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStream } from './client/blobs.ts';
import type { ManifestHead } from './client/manifests.ts';
import type { MountResult } from './client/uploads.ts';
import { sha256 } from './digest.ts';
import { DigestMismatch, RegistryError } from './errors.ts';
import { type Descriptor, MediaType, type RawManifest } from './manifest.ts';
import type { Repository } from './reference.ts';
import type { ImageStore } from './store.ts';

const REF_NAME = 'org.opencontainers.image.ref.name';
/** The distribution spec's tag grammar. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

/** index.json is rewritten whole; writers to one directory take turns. */
const indexLocks = new Map<string, Promise<unknown>>();

/**
 * An OCI image layout directory (image-spec `image-layout.md`): `oci-layout`, `index.json` whose
 * entries carry the tag in `org.opencontainers.image.ref.name`, and `blobs/sha256/<hex>`. Blobs are
 * streamed to a temporary file and renamed into place only once complete and verified.
 */
export class LayoutStore implements ImageStore {
  readonly repo: Repository;
  readonly #dir: string;

  constructor(repo: Repository) {
    this.repo = repo;
    this.#dir = repo.repository;
  }

  get name(): string {
    return `oci:${this.#dir}`;
  }

  async headManifest(ref: string): Promise<ManifestHead | undefined> {
    const entry = await this.#find(ref);
    if (entry !== undefined) return { digest: entry.digest, mediaType: entry.mediaType, size: entry.size };
    if (!ref.startsWith('sha256:')) return undefined;
    const size = await this.headBlob(ref);
    if (size === undefined) return undefined;
    const raw = await this.getManifest(ref);
    return { digest: ref, mediaType: raw.mediaType, size };
  }

  async getManifest(ref: string): Promise<RawManifest> {
    const digest = ref.startsWith('sha256:') ? ref : (await this.#find(ref))?.digest;
    if (digest === undefined) throw notFound(`${this.name}:${ref}`);
    const bytes = await readFile(this.#blobPath(digest)).catch(() => {
      throw notFound(`${this.name}@${digest}`);
    });
    const actual = sha256(bytes);
    if (actual !== digest) throw new DigestMismatch(digest, actual, { target: this.name });
    const body = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    const entry = await this.#find(ref);
    const mediaType =
      typeof body.mediaType === 'string' ? body.mediaType : (entry?.mediaType ?? MediaType.ociManifest);
    return { digest, bytes, mediaType };
  }

  async putManifest(
    ref: string,
    manifest: RawManifest,
    opts: { top?: boolean } = {},
  ): Promise<{ subjectIndexed: boolean }> {
    await this.#init();
    const path = this.#blobPath(manifest.digest);
    if ((await this.headBlob(manifest.digest)) === undefined) {
      const tmp = `${path}.${randomUUID()}.tmp`;
      await writeFile(tmp, manifest.bytes);
      await rename(tmp, path);
    }
    const entry = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
    if (!ref.startsWith('sha256:')) {
      await this.#updateIndex((index) => {
        index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== ref);
        index.manifests.push({ ...entry, annotations: { [REF_NAME]: ref } });
      });
    } else if (opts.top === true) {
      // Untagged, as skopeo writes `oci:dir` without a tag: without an entry nothing could find it.
      await this.#updateIndex((index) => {
        if (!index.manifests.some((m) => m.digest === manifest.digest)) index.manifests.push(entry);
      });
    }
    return { subjectIndexed: false };
  }

  async headBlob(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.#blobPath(digest))).size;
    } catch {
      return undefined;
    }
  }

  async getBlob(digest: string): Promise<BlobStream> {
    const size = await this.headBlob(digest);
    if (size === undefined) throw notFound(`${this.name} blob ${digest}`);
    return { body: createReadStream(this.#blobPath(digest)), size };
  }

  async mountBlob(digest: string, fromRepository: string): Promise<MountResult> {
    if (fromRepository === this.#dir && (await this.headBlob(digest)) !== undefined) return { mounted: true };
    return { mounted: false, location: await this.startUpload() };
  }

  async startUpload(): Promise<URL> {
    await this.#init();
    return new URL(`file://${join(this.#dir, 'blobs', 'sha256', `.upload-${randomUUID()}`)}`);
  }

  async putUpload(location: URL, digest: string, _size: number, body: Readable): Promise<void> {
    const tmp = decodeURIComponent(location.pathname);
    try {
      await pipeline(body, createWriteStream(tmp));
      await rename(tmp, this.#blobPath(digest));
    } finally {
      await rm(tmp, { force: true });
    }
  }

  patchUpload(location: URL, digest: string, body: Readable): Promise<void> {
    return this.putUpload(location, digest, 0, body);
  }

  /**
   * The ref names that are tags. Others, such as the full references some tools write
   * (`docker.io/acme/app:v2`), cannot be a destination tag and are left out.
   */
  async listTags(): Promise<string[]> {
    if ((await stat(join(this.#dir, 'index.json')).catch(() => undefined)) === undefined)
      throw new RegistryError(`${this.name} was not found: no OCI layout (index.json) there`, {
        status: 404,
        errors: [{ code: 'NAME_UNKNOWN' }],
      });
    const index = await this.#readIndex();
    return index.manifests.flatMap((m) => {
      const name = m.annotations?.[REF_NAME];
      return name !== undefined && TAG.test(name) ? [name] : [];
    });
  }

  async listReferrers(): Promise<Descriptor[] | undefined> {
    return undefined;
  }

  #blobPath(digest: string): string {
    const [algorithm, hex] = digest.split(':');
    if (algorithm !== 'sha256' || hex === undefined || !/^[a-f0-9]{64}$/.test(hex))
      throw new RegistryError(`unsupported digest ${digest} in ${this.name}`);
    return join(this.#dir, 'blobs', algorithm, hex);
  }

  async #find(ref: string): Promise<Descriptor | undefined> {
    const index = await this.#readIndex();
    return index.manifests.find((m) => m.annotations?.[REF_NAME] === ref || m.digest === ref);
  }

  async #readIndex(): Promise<LayoutIndex> {
    let text: string;
    try {
      text = await readFile(join(this.#dir, 'index.json'), 'utf8');
    } catch {
      return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    }
    const index = JSON.parse(text) as Partial<LayoutIndex>;
    if (!Array.isArray(index.manifests))
      throw new RegistryError(`${this.name}/index.json has no manifests list`);
    return { schemaVersion: 2, mediaType: MediaType.ociIndex, ...index, manifests: index.manifests };
  }

  async #updateIndex(change: (index: LayoutIndex) => void): Promise<void> {
    const previous = indexLocks.get(this.#dir) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const index = await this.#readIndex();
        change(index);
        const path = join(this.#dir, 'index.json');
        const tmp = `${path}.${randomUUID()}.tmp`;
        await writeFile(tmp, `${JSON.stringify(index, null, 2)}\n`);
        await rename(tmp, path);
      });
    indexLocks.set(this.#dir, next);
    await next;
  }

  async #init(): Promise<void> {
    await mkdir(join(this.#dir, 'blobs', 'sha256'), { recursive: true });
    const marker = join(this.#dir, 'oci-layout');
    if ((await stat(marker).catch(() => undefined)) === undefined)
      await writeFile(marker, `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
  }
}

function notFound(what: string): RegistryError {
  return new RegistryError(`${what} was not found`, { status: 404, errors: [{ code: 'MANIFEST_UNKNOWN' }] });
}
