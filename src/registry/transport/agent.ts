import { readFileSync } from 'node:fs';
import { Agent } from 'undici';

export interface TlsOptions {
  /** Skip certificate verification (the registry is marked `insecure`). */
  readonly insecure?: boolean;
  /** Path to a PEM bundle of extra CAs to trust. */
  readonly ca?: string;
}

export interface Timeouts {
  readonly connectMs: number;
  /** Time allowed for response headers. */
  readonly headersMs: number;
  /** Longest silence allowed between two chunks of a body. */
  readonly bodyMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 15_000, headersMs: 60_000, bodyMs: 60_000 };

/** One keep-alive connection pool per TLS setting; undici pools per origin inside it. */
export function createAgent(tls: TlsOptions, timeouts: Timeouts = DEFAULT_TIMEOUTS): Agent {
  const ca = tls.ca === undefined ? undefined : readFileSync(tls.ca, 'utf8');
  return new Agent({
    connect: {
      timeout: timeouts.connectMs,
      rejectUnauthorized: !tls.insecure,
      ...(ca !== undefined && { ca: [ca] }),
    },
    connections: 16,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.bodyMs,
  });
}
