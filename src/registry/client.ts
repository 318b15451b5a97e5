import type { Readable } from 'node:stream';
import { type BlobStream, getBlob, headBlob } from './client/blobs.ts';
import { type Access, type RepoContext, repoContext } from './client/context.ts';
import { RegistryFeatures } from './client/features.ts';
import { getManifest, headManifest, type ManifestHead, putManifest } from './client/manifests.ts';
import { listReferrers } from './client/referrers.ts';
import { listTags } from './client/tags.ts';
import { type MountResult, mountBlob, patchUpload, putUpload, startUpload } from './client/uploads.ts';
import { LayoutStore } from './layout.ts';
import type { Descriptor, RawManifest } from './manifest.ts';
import { formatRepository, LAYOUT_REGISTRY, type Repository } from './reference.ts';
import type { ImageStore } from './store.ts';
import type { TlsOptions } from './transport/agent.ts';
import type { Credentials } from './transport/auth.ts';
import { Transport, type TransportOptions } from './transport/transport.ts';

export type { BlobStream } from './client/blobs.ts';
export type { Access } from './client/context.ts';
export type { ManifestHead } from './client/manifests.ts';
export type { MountResult } from './client/uploads.ts';
export type { ImageStore } from './store.ts';

/** How to reach one repository: which credentials and TLS settings apply. */
export interface RepositoryAccess {
  /** Repositories with the same key share a transport (and so its connections and tokens). */
  readonly key: string;
  readonly credentials?: Credentials;
  readonly tls?: TlsOptions;
}

export type ClientOptions = Omit<TransportOptions, 'registry' | 'tls' | 'credentials'> & {
  readonly accessFor: (repo: Repository) => RepositoryAccess;
};

/** What the client keeps per registry and credential set. */
interface KnownRegistry {
  readonly transport: Transport;
  readonly features: RegistryFeatures;
}

/** Registries by name, one transport per registry and credential set. */
export class RegistryClient {
  readonly #opts: ClientOptions;
  readonly #registries = new Map<string, KnownRegistry>();

  constructor(opts: ClientOptions) {
    this.#opts = opts;
  }

  repository(repo: Repository, access: Access, signal?: AbortSignal): ImageStore {
    if (repo.registry === LAYOUT_REGISTRY) return new LayoutStore(repo);
    const known = this.#registry(repo);
    return new RepositoryClient(
      repo,
      repoContext(known.transport, known.features, repo.repository, access, signal),
    );
  }

  /**
   * Starts pinging the registries of these repositories now, so that their handshakes overlap each
   * other and the planning instead of waiting for each registry's first request. Nothing is lost on
   * failure: a failed ping is forgotten, and the first request that needs the registry pings again
   * and reports what went wrong.
   */
  connect(repos: Iterable<Repository>): void {
    for (const repo of repos) {
      if (repo.registry === LAYOUT_REGISTRY) continue;
      this.#registry(repo)
        .transport.base()
        .catch(() => {});
    }
  }

  #registry(repo: Repository): KnownRegistry {
    const how = this.#opts.accessFor(repo);
    const key = `${repo.registry}\n${how.key}`;
    let known = this.#registries.get(key);
    if (known === undefined) {
      const transport = new Transport({
        ...this.#opts,
        registry: repo.registry,
        ...(how.tls !== undefined && { tls: how.tls }),
        ...(how.credentials !== undefined && { credentials: how.credentials }),
      });
      known = { transport, features: new RegistryFeatures() };
      this.#registries.set(key, known);
    }
    return known;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#registries.values()].map((t) => t.transport.close()));
  }
}

/** One repository, read (`pull`) or read and written (`push`). */
export class RepositoryClient implements ImageStore {
  readonly repo: Repository;
  readonly #ctx: RepoContext;

  constructor(repo: Repository, ctx: RepoContext) {
    this.repo = repo;
    this.#ctx = ctx;
  }

  get name(): string {
    return formatRepository(this.repo);
  }

  ping(): Promise<URL> {
    return this.#ctx.transport.base();
  }

  headManifest(ref: string): Promise<ManifestHead | undefined> {
    return headManifest(this.#ctx, ref);
  }

  getManifest(ref: string): Promise<RawManifest> {
    return getManifest(this.#ctx, ref);
  }

  putManifest(ref: string, manifest: RawManifest): Promise<{ subjectIndexed: boolean }> {
    return putManifest(this.#ctx, ref, manifest);
  }

  headBlob(digest: string): Promise<number | undefined> {
    return headBlob(this.#ctx, digest);
  }

  getBlob(digest: string): Promise<BlobStream> {
    return getBlob(this.#ctx, digest);
  }

  mountBlob(digest: string, fromRepository: string): Promise<MountResult> {
    return mountBlob(this.#ctx, digest, fromRepository);
  }

  startUpload(): Promise<URL> {
    return startUpload(this.#ctx);
  }

  putUpload(location: URL, digest: string, size: number, body: Readable): Promise<void> {
    return putUpload(this.#ctx, location, digest, size, body);
  }

  patchUpload(location: URL, digest: string, body: Readable): Promise<void> {
    return patchUpload(this.#ctx, location, digest, body);
  }

  listTags(): Promise<string[]> {
    return listTags(this.#ctx);
  }

  listReferrers(digest: string): Promise<Descriptor[] | undefined> {
    return listReferrers(this.#ctx, digest);
  }
}
