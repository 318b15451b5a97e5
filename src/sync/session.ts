import { resolveAccess } from '../config/access.ts';
import type { LoadedConfig } from '../config/index.ts';
import { RegistryClient } from '../registry/client.ts';
import type { ResponseInfo } from '../registry/transport/transport.ts';
import { type SyncOptions, sync } from './engine.ts';
import { QuotaGuard } from './quota.ts';
import type { SyncReport } from './results.ts';
import type { Logger, RateLimit } from './types.ts';

const DEFAULT_QUOTA_FLOOR = 5;

export interface SessionOptions extends SyncOptions {
  readonly env: Record<string, string | undefined>;
  readonly logger: Logger;
  /** Every secret met at run time (Docker config, helpers, registry tokens), before it could be logged. */
  readonly onSecret: (secret: string) => void;
  /** Registry tokens as they arrive (default: `onSecret`). */
  readonly onToken?: (token: string) => void;
  readonly githubToken?: string;
  readonly githubActor?: string;
  readonly userAgent?: string;
  /** Requests by method, for the benchmark. */
  readonly onResponse?: (info: ResponseInfo) => void;
  /** Stop starting pulls from a registry whose remaining quota is at or below this. */
  readonly quotaFloor?: number;
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
  const quota = new QuotaGuard(opts.quotaFloor ?? DEFAULT_QUOTA_FLOOR);
  const client = new RegistryClient({
    accessFor,
    onSecret: opts.onToken ?? opts.onSecret,
    userAgent: opts.userAgent ?? 'image-sync',
    ...(opts.retry !== undefined && { retry: opts.retry }),
    onRetry: (error, retriesLeft) => opts.emit({ type: 'retry', what: 'request', error, retriesLeft }),
    ...(opts.stop !== undefined && { stopRetrying: opts.stop }),
    onResponse: (info) => {
      opts.onResponse?.(info);
      const limit = QuotaGuard.read(info.host, info.headers);
      if (limit !== undefined) quota.record(limit);
    },
  });
  try {
    const report = await sync(config.rules, client, { ...opts, mayPull: (repo) => quota.mayPull(repo) });
    return { ...report, rateLimits: quota.limits };
  } finally {
    await client.close();
  }
}
