import { resolveAccess } from '../config/access.ts';
import type { LoadedConfig } from '../config/index.ts';
import { RegistryClient } from '../registry/client.ts';
import type { ResponseInfo } from '../registry/transport/transport.ts';
import { type SyncOptions, sync } from './engine.ts';
import type { SyncReport } from './results.ts';
import type { Logger, RateLimit } from './types.ts';

export interface SessionOptions extends SyncOptions {
  readonly env: Record<string, string | undefined>;
  readonly logger: Logger;
  /** Every secret met at run time (Docker config, helpers, registry tokens), before it could be logged. */
  readonly onSecret: (secret: string) => void;
  readonly githubToken?: string;
  readonly githubActor?: string;
  readonly userAgent?: string;
  /** Requests by method, for the benchmark. */
  readonly onResponse?: (info: ResponseInfo) => void;
}

export interface SessionReport extends SyncReport {
  readonly rateLimits: readonly RateLimit[];
}

/** A whole run for a loaded config: credentials, one client, the engine, and the quota seen. */
export async function runSession(config: LoadedConfig, opts: SessionOptions): Promise<SessionReport> {
  const accessFor = await resolveAccess(config, {
    env: opts.env,
    onSecret: opts.onSecret,
    warn: (m) => opts.logger.warn(m),
    ...(opts.githubToken !== undefined && { githubToken: opts.githubToken }),
    ...(opts.githubActor !== undefined && { githubActor: opts.githubActor }),
  });
  const rateLimits = new Map<string, RateLimit>();
  const client = new RegistryClient({
    accessFor,
    onSecret: opts.onSecret,
    userAgent: opts.userAgent ?? 'image-sync',
    ...(opts.retry !== undefined && { retry: opts.retry }),
    onRetry: (error, retriesLeft) => opts.emit({ type: 'retry', what: 'request', error, retriesLeft }),
    onResponse: (info) => {
      opts.onResponse?.(info);
      const quota = readRateLimit(info);
      if (quota !== undefined) rateLimits.set(quota.registry, quota);
    },
  });
  try {
    const report = await sync(config.rules, client, opts);
    return { ...report, rateLimits: [...rateLimits.values()] };
  } finally {
    await client.close();
  }
}

/** `ratelimit-remaining: 76;w=21600` → 76. */
function readRateLimit(info: ResponseInfo): RateLimit | undefined {
  const first = (name: string) => {
    const v = info.headers[name];
    const text = Array.isArray(v) ? v[0] : v;
    const n = text === undefined ? Number.NaN : Number.parseInt(text, 10);
    return Number.isNaN(n) ? undefined : n;
  };
  const remaining = first('ratelimit-remaining');
  const limit = first('ratelimit-limit');
  if (remaining === undefined || limit === undefined) return undefined;
  return { registry: info.host, remaining, limit };
}
