/** Typed errors of the registry client. Turned into plain words once, at the edge (src/report/). */

/** One entry of the OCI distribution error body: `{"errors":[{"code","message","detail"}]}`. */
export interface OciErrorEntry {
  readonly code: string;
  readonly message?: string;
}

export interface RegistryErrorInit {
  readonly status?: number;
  readonly method?: string;
  /** Host and path only: never a query string or credentials. */
  readonly target?: string;
  readonly errors?: readonly OciErrorEntry[];
  readonly retryAfterMs?: number;
  /** How a refused request (401, 403) identified itself. */
  readonly sentAs?: SentAs;
  readonly cause?: unknown;
}

/** How a request identified itself, in words (`as user "ann"`, `with no credentials`), and where those credentials were configured. */
export interface SentAs {
  readonly identity: string;
  readonly from?: string;
}

/** `identity` of a request sent without credentials. */
export const ANONYMOUS = 'with no credentials';

const TEMPORARY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
const TEMPORARY_CODES = new Set(['TOOMANYREQUESTS', 'UNAVAILABLE']);

export class RegistryError extends Error {
  override name = 'RegistryError';
  readonly status: number | undefined;
  readonly method: string | undefined;
  readonly target: string | undefined;
  readonly errors: readonly OciErrorEntry[];
  readonly retryAfterMs: number | undefined;
  readonly sentAs: SentAs | undefined;

  constructor(message: string, init: RegistryErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.method = init.method;
    this.target = init.target;
    this.errors = init.errors ?? [];
    this.retryAfterMs = init.retryAfterMs;
    this.sentAs = init.sentAs;
  }

  get codes(): string[] {
    return this.errors.map((e) => e.code);
  }

  hasCode(code: string): boolean {
    return this.errors.some((e) => e.code === code);
  }

  /** Worth trying again: the server or the network may answer differently next time. */
  isTemporary(): boolean {
    if (this.status !== undefined && TEMPORARY_STATUS.has(this.status)) return true;
    return this.errors.some((e) => TEMPORARY_CODES.has(e.code));
  }
}

/** The connection failed, was reset, or timed out before a complete answer arrived. */
export class NetworkError extends RegistryError {
  override name = 'NetworkError';
  override isTemporary(): boolean {
    return true;
  }
}

/** Bytes received do not hash to the digest (or size) they were asked for. Never temporary: the source is wrong. */
export class DigestMismatch extends RegistryError {
  override name = 'DigestMismatch';
  readonly expected: string;
  readonly actual: string;
  constructor(expected: string, actual: string, init: RegistryErrorInit = {}) {
    super(`digest mismatch: expected ${expected}, got ${actual}`, init);
    this.expected = expected;
    this.actual = actual;
  }
  override isTemporary(): boolean {
    return false;
  }
}

/** A download was cut short: fewer bytes than announced. Temporary: the next try may get them all. */
export class ShortRead extends NetworkError {
  override name = 'ShortRead';
}

/** The server speaks TLS but its certificate is not trusted (or not for this host). Not temporary. */
export class TlsError extends RegistryError {
  override name = 'TlsError';
  override isTemporary(): boolean {
    return false;
  }
}

/** Docker schema 1, or a media type we cannot interpret. */
export class UnsupportedManifest extends RegistryError {
  override name = 'UnsupportedManifest';
  override isTemporary(): boolean {
    return false;
  }
}

/** The client refused to do something unsafe (e.g. credentials over plain HTTP). */
export class InsecureRequest extends RegistryError {
  override name = 'InsecureRequest';
  override isTemporary(): boolean {
    return false;
  }
}

export function isTemporary(err: unknown): boolean {
  return err instanceof RegistryError && err.isTemporary();
}
