import type { LimitFunction } from 'p-limit';
import { VerifiedBlob } from '../registry/digest.ts';
import { RegistryError } from '../registry/errors.ts';
import type { Descriptor } from '../registry/manifest.ts';
import type { ImageStore } from '../registry/store.ts';
import { toNetworkError } from '../registry/transport/http.ts';
import { readBuffers } from '../registry/transport/read-buffers.ts';
import { type RetryPolicy, withRetry } from '../registry/transport/retry.ts';

export interface BlobCopierOptions {
  /** Bounds blob transfers separately from images, so one huge layer does not stall the queue. */
  readonly limit: LimitFunction;
  readonly retry: RetryPolicy;
  /** Bytes as they stream; a transfer that fails takes its bytes back (a negative count). */
  readonly onBytes?: (n: number) => void;
  readonly onRetry?: (what: string, error: unknown, retriesLeft: number) => void;
  /** Once aborted, a failed transfer is not tried again. */
  readonly stop?: AbortSignal;
}

/** Upload failures that mean "this registry wants the streamed PATCH form", not "the data is wrong". */
const MONOLITHIC_REFUSED = new Set([400, 405, 411, 413]);
const DATA_CODES = new Set(['DIGEST_INVALID', 'SIZE_INVALID', 'BLOB_UPLOAD_INVALID']);

/**
 * Makes a blob present in a destination repository with as few bytes on the wire as possible:
 * known there → nothing; present elsewhere on that registry → mount; otherwise stream it from the
 * source. One transfer per blob and destination registry at a time; later asks mount from the first.
 *
 * On a registry that has linked a mounted blob in this run, "is it here?" is asked as a mount from
 * the destination repository itself: 201 means it is, 202 opens the upload — one request where a
 * HEAD and a POST would be two. Elsewhere (a registry may answer every mount with 202) it is a HEAD.
 */
export class BlobCopier {
  readonly #opts: BlobCopierOptions;
  /** `registry\ndigest` → repositories of that registry known to hold the blob in this run. */
  readonly #present = new Map<string, Set<string>>();
  readonly #inflight = new Map<string, Promise<unknown>>();
  readonly #patchOnly = new Set<string>();
  /** Destination registries that have linked a blob mounted from another repository in this run. */
  readonly #mountsHonoured = new Set<string>();

  constructor(opts: BlobCopierOptions) {
    this.#opts = opts;
  }

  /** Returns the bytes streamed (0 when the blob was already there or was mounted). */
  async copy(desc: Descriptor, src: ImageStore, dst: ImageStore): Promise<number> {
    const key = `${dst.repo.registry}\n${desc.digest}`;
    for (;;) {
      if (this.#present.get(key)?.has(dst.repo.repository)) return 0;
      const pending = this.#inflight.get(key);
      if (pending === undefined) break;
      await pending.catch(() => undefined);
    }
    const work = this.#opts.limit(() => this.#copyNew(desc, src, dst, key));
    this.#inflight.set(key, work);
    try {
      const bytes = await work;
      this.#remember(key, dst.repo.repository);
      return bytes;
    } finally {
      if (this.#inflight.get(key) === work) this.#inflight.delete(key);
    }
  }

  async #copyNew(desc: Descriptor, src: ImageStore, dst: ImageStore, key: string): Promise<number> {
    const registry = dst.repo.registry;
    const from = this.#mountSource(key, src, dst);
    const self = from === dst.repo.repository;
    // A refused mount (no pull right on the other repository, say) costs a stream, not the image.
    const mount =
      from === undefined
        ? undefined
        : await dst.mountBlob(desc.digest, from).catch(() => {
            if (self) this.#mountsHonoured.delete(registry);
            return undefined;
          });
    if (mount?.mounted) {
      if (!self) this.#mountsHonoured.add(registry);
      return 0;
    }
    let location = mount?.location;
    if (mount === undefined && (await dst.headBlob(desc.digest)) !== undefined) return 0;
    return withRetry(
      () => {
        const session = location;
        location = undefined;
        return this.#stream(desc, src, dst, session);
      },
      this.#opts.retry,
      {
        onRetry: (error, left) => this.#opts.onRetry?.(`blob ${desc.digest.slice(0, 19)}`, error, left),
        ...(this.#opts.stop !== undefined && { stop: this.#opts.stop }),
      },
    );
  }

  /**
   * A repository of the destination registry to mount from: one this run filled, the source itself,
   * or the destination itself where mounts are honoured (see the class comment).
   */
  #mountSource(key: string, src: ImageStore, dst: ImageStore): string | undefined {
    const known = this.#present.get(key);
    if (known !== undefined && known.size > 0) return known.values().next().value;
    if (src.repo.registry === dst.repo.registry) return src.repo.repository;
    return this.#mountsHonoured.has(dst.repo.registry) ? dst.repo.repository : undefined;
  }

  async #stream(desc: Descriptor, src: ImageStore, dst: ImageStore, session?: URL): Promise<number> {
    const location = session ?? (await dst.startUpload());
    const blob = await src.getBlob(desc.digest);
    let counted = 0;
    const verified = new VerifiedBlob(blob.body, desc.digest, desc.size, (n) => {
      counted += n;
      readBuffers.received(n);
      this.#opts.onBytes?.(n);
    });
    try {
      if (this.#patchOnly.has(dst.repo.registry)) await dst.patchUpload(location, desc.digest, verified);
      else await dst.putUpload(location, desc.digest, desc.size, verified);
      return verified.bytes;
    } catch (err) {
      verified.destroy();
      // Counted as they streamed, these bytes were not copied: the count stays what arrived, once.
      if (counted > 0) this.#opts.onBytes?.(-counted);
      if (verified.failure !== undefined) throw verified.failure;
      // Where the download failed, the upload's error only reports the stream it lost.
      if (verified.sourceFailure !== undefined)
        throw toNetworkError(verified.sourceFailure, 'GET', `${src.name} blob ${desc.digest}`);
      if (this.#refusedMonolithic(err, dst)) {
        this.#patchOnly.add(dst.repo.registry);
        throw new RegistryError('monolithic upload refused; retrying as a streamed upload', { status: 503 });
      }
      throw err;
    }
  }

  #refusedMonolithic(err: unknown, dst: ImageStore): boolean {
    if (this.#patchOnly.has(dst.repo.registry) || !(err instanceof RegistryError)) return false;
    return MONOLITHIC_REFUSED.has(err.status ?? 0) && !err.codes.some((c) => DATA_CODES.has(c));
  }

  #remember(key: string, repository: string): void {
    const repos = this.#present.get(key) ?? new Set<string>();
    repos.add(repository);
    this.#present.set(key, repos);
  }
}
