import { type Repository, registryEndpoint } from '../registry/reference.ts';
import type { RateLimit } from './types.ts';

/** A pull not started because the registry's remaining quota fell to the floor. */
export class QuotaDeferral extends Error {
  override name = 'QuotaDeferral';
}

/**
 * Remembers each registry's `ratelimit-*` headers and says whether one more pull may start. Only
 * manifest GETs count as pulls on Docker Hub; HEAD comparisons go on regardless.
 *
 * Several pulls start at once, before any answer says what they cost: each one allowed is taken off
 * at once, and an answer never raises the count again (one sent before those pulls would).
 */
export class QuotaGuard {
  readonly #floor: number;
  readonly #seen = new Map<string, RateLimit>();
  /** Pulls that may still start, by registry endpoint. */
  readonly #left = new Map<string, number>();

  constructor(floor: number) {
    this.#floor = floor;
  }

  record(limit: RateLimit): void {
    this.#seen.set(limit.registry, limit);
    const left = this.#left.get(limit.registry);
    this.#left.set(limit.registry, Math.min(left ?? limit.remaining, limit.remaining));
  }

  get limits(): RateLimit[] {
    return [...this.#seen.values()];
  }

  /** Whether a pull may start now; if so, it is counted as started. */
  mayPull(repo: Repository): boolean {
    const registry = registryEndpoint(repo.registry);
    const left = this.#left.get(registry);
    if (left === undefined) return true;
    if (left <= this.#floor) return false;
    this.#left.set(registry, left - 1);
    return true;
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
