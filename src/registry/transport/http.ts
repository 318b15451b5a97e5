import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { NetworkError, RegistryError, TlsError } from '../errors.ts';
import { request } from './undici.ts';

export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  readonly method: Method;
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  /** A Buffer can be sent again on retry; a stream cannot. */
  readonly body?: Buffer | string | Readable;
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Dispatcher.ResponseData['body'];
  readonly method: Method;
  /** Host and path of the request, safe to show: no query string. */
  readonly target: string;
  readonly url: URL;
}

export const targetOf = (url: URL): string => `${url.host}${url.pathname}`;

/** One HTTP exchange, no interpretation. Connection-level failures become `NetworkError`. */
export async function send(dispatcher: Dispatcher, req: HttpRequest): Promise<HttpResponse> {
  const target = targetOf(req.url);
  try {
    const res = await request(dispatcher, {
      origin: req.url.origin,
      path: `${req.url.pathname}${req.url.search}`,
      method: req.method,
      headers: req.headers ?? {},
      ...(req.body !== undefined && { body: req.body }),
      ...(req.signal !== undefined && { signal: req.signal }),
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      body: res.body,
      method: req.method,
      target,
      url: req.url,
    };
  } catch (err) {
    throw toNetworkError(err, req.method, target);
  }
}

/** Undici and socket errors, during the exchange or while reading a body, in one shape. */
export function toNetworkError(err: unknown, method: string, target: string): Error {
  if (err instanceof RegistryError || (err as { name?: string })?.name === 'AbortError') return err as Error;
  const code = (err as { code?: string })?.code;
  if (code !== undefined && CERTIFICATE_CODES.has(code)) {
    // Node appends advice for its own command line ("try running Node.js with --use-system-ca"),
    // which a user of this tool cannot follow: the hint at the edge says what to do instead.
    const reason =
      err instanceof Error ? err.message.replace(/;\s*if the root CA is installed locally.*$/s, '') : code;
    return new TlsError(`the TLS certificate of ${target.split('/')[0]} is not trusted: ${reason}`, {
      method,
      target,
      cause: err,
    });
  }
  const what = describe(code, err);
  return new NetworkError(`${method} ${target} failed: ${what}`, { method, target, cause: err });
}

/** Node's codes for a handshake that worked but a certificate that did not. */
const CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function describe(code: string | undefined, err: unknown): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'timed out connecting';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'timed out waiting for a response';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timed out waiting for data';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
