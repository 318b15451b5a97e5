import { type Repository, registryEndpoint } from '../registry/reference.ts';
import type { RateLimit } from './types.ts';

/** A pull not started because the registry's remaining quota fell to the floor. */
export class QuotaDeferral extends Error {
  override name = 'QuotaDeferral';
}

/**
 * Remembers each registry's `ratelimit-*` headers and says whether one more pull may start. Only
 * manifest GETs count as pulls on Docker Hub; HEAD comparisons go on regardless.
 */
export class QuotaGuard {
  readonly #floor: number;
  readonly #seen = new Map<string, RateLimit>();

  constructor(floor: number) {
    this.#floor = floor;
  }

  record(limit: RateLimit): void {
    this.#seen.set(limit.registry, limit);
  }

  get limits(): RateLimit[] {
    return [...this.#seen.values()];
  }

  mayPull(repo: Repository): boolean {
    const quota = this.#seen.get(registryEndpoint(repo.registry));
    return quota === undefined || quota.remaining > this.#floor;
  }

  /** `ratelimit-remaining: 76;w=21600` → 76. */
  static read(
    host: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ): RateLimit | undefined {
    const first = (name: string) => {
      const v = headers[name];
      const text = Array.isArray(v) ? v[0] : v;
      const n = text === undefined ? Number.NaN : Number.parseInt(text, 10);
      return Number.isNaN(n) ? undefined : n;
    };
    const remaining = first('ratelimit-remaining');
    const limit = first('ratelimit-limit');
    if (remaining === undefined || limit === undefined) return undefined;
    return { registry: host, remaining, limit };
  }
}
