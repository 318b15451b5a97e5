import {
  ANONYMOUS,
  DigestMismatch,
  InsecureRequest,
  NetworkError,
  RegistryError,
  TlsError,
  UnsupportedManifest,
} from '../registry/errors.ts';

export type FailureKind =
  | 'credentials'
  | 'permission'
  | 'not-found'
  | 'rate-limited'
  | 'network'
  | 'digest-mismatch'
  | 'unsupported'
  | 'insecure'
  | 'tls'
  | 'registry'
  | 'other';

export interface Explanation {
  readonly kind: FailureKind;
  /** One line, plain words, safe to show: never a credential. */
  readonly reason: string;
  readonly hint?: string;
}

const WRITES = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);

/** Errors become words here, once, for every shell. */
export function explain(err: unknown): Explanation {
  if (err instanceof DigestMismatch)
    return {
      kind: 'digest-mismatch',
      reason: err.message,
      hint: 'the source served bytes that do not match their digest',
    };
  if (err instanceof UnsupportedManifest) return { kind: 'unsupported', reason: err.message };
  if (err instanceof InsecureRequest) return { kind: 'insecure', reason: err.message };
  if (err instanceof TlsError)
    return {
      kind: 'tls',
      reason: err.message,
      hint: "give the registry's CA bundle as `ca:` in its auth entry, or set `insecure: true`",
    };
  if (err instanceof NetworkError)
    return {
      kind: 'network',
      reason: err.message,
      hint: 'the registry could not be reached reliably; it may be down',
    };
  if (err instanceof RegistryError) return explainStatus(err);
  if (err instanceof Error) return { kind: 'other', reason: err.message };
  return { kind: 'other', reason: String(err) };
}

function explainStatus(err: RegistryError): Explanation {
  const where = err.target?.split('/')[0];
  const at = where === undefined ? '' : ` at ${where}`;
  const as = err.sentAs === undefined ? '' : ` ${err.sentAs.identity}`;
  const from = err.sentAs?.from === undefined ? '' : ` (from ${err.sentAs.from})`;
  if (err.status === 403 || err.hasCode('DENIED')) {
    const writing = err.method !== undefined && WRITES.has(err.method);
    return {
      kind: 'permission',
      reason: `access denied${at}${as} (${err.status ?? 403})`,
      hint: writing
        ? `the credentials${from} lack push permission on the destination repository`
        : `the credentials${from} lack pull permission on this repository`,
    };
  }
  if (err.status === 401 || err.hasCode('UNAUTHORIZED'))
    return {
      kind: 'credentials',
      reason: `authentication failed${at}${as} (${err.status ?? 401})`,
      hint:
        err.sentAs?.identity === ANONYMOUS
          ? 'no credentials were sent to this registry: add an auth entry for it (or log in with docker), or see the warnings about the one it has'
          : `wrong or missing credentials: check the username and password or token${from === '' ? ' for this registry' : from}`,
    };
  if (err.status === 429 || err.hasCode('TOOMANYREQUESTS'))
    return {
      kind: 'rate-limited',
      reason: `rate limited${at} (429)`,
      hint: 'the registry limits requests (Docker Hub: pulls per 6 hours); authenticate or run later',
    };
  if (err.status === 404 || err.hasCode('MANIFEST_UNKNOWN') || err.hasCode('NAME_UNKNOWN'))
    return {
      kind: 'not-found',
      reason: missingRepository(err) ?? err.message,
      hint: 'check the repository, tag and digest names',
    };
  return { kind: 'registry', reason: err.message };
}

/** `repository r.io/a/b was not found` for a registry's NAME_UNKNOWN, whatever request met it. */
function missingRepository(err: RegistryError): string | undefined {
  if (!err.hasCode('NAME_UNKNOWN') || err.target === undefined) return undefined;
  const m = /^([^/]+)\/v2\/(.+?)\/(?:tags|manifests|blobs|referrers)\//.exec(err.target);
  return m === null ? undefined : `repository ${m[1]}/${m[2]} was not found`;
}
