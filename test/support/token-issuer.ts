import { createPrivateKey, randomBytes, randomUUID, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SigningKey } from './certs.ts';

/**
 * A small Docker token-auth server (the distribution "token authentication specification", the flow
 * Docker Hub, GHCR and Harbor use), loopback only:
 *
 * - `GET /token?service=S&scope=repository:NAME:pull,push&scope=...[&offline_token=true]`, optionally
 *   with HTTP Basic credentials;
 * - `POST /token` (OAuth2 form): `grant_type=password` + `username`/`password`, or
 *   `grant_type=refresh_token` + `refresh_token`; plus `service`, `scope` (space separated), `client_id`.
 *
 * Tokens are RS256 JWTs whose header carries `x5c` with the signing certificate, which distribution
 * verifies against `auth.token.rootcertbundle`.
 */
export interface TokenIssuerOptions {
  readonly signingKey: SigningKey;
  /** username → password. */
  readonly users?: Readonly<Record<string, string>>;
  /** Anonymous requests get `pull` (true, the default) or nothing at all (an empty `access`). */
  readonly anonymousPull?: boolean;
  /** Per-user restriction of the actions granted, e.g. `{ reader: ['pull'] }`. Unlisted users get what they ask. */
  readonly permissions?: Readonly<Record<string, readonly string[]>>;
  /** Full override: which of the requested actions `user` (null: anonymous) gets on a resource. */
  readonly authorize?: (user: string | null, scope: Scope) => string[];
  readonly service?: string;
  readonly issuer?: string;
  /** Token lifetime in seconds (default 300). */
  readonly expiresIn?: number;
}

export interface Scope {
  readonly type: string;
  readonly name: string;
  readonly actions: string[];
}

export interface TokenRequestRecord {
  readonly method: 'GET' | 'POST';
  /** `password`, `refresh_token`, or undefined for the GET form. */
  readonly grantType: string | undefined;
  /** The authenticated user, null for anonymous, undefined when authentication failed. */
  readonly user: string | null | undefined;
  readonly service: string | undefined;
  readonly scopes: string[];
  readonly clientId: string | undefined;
  readonly offline: boolean;
  readonly status: number;
  /** The `access` claim granted (empty unless status is 200). */
  readonly granted: Scope[];
}

export interface TokenIssuer {
  /** `http://127.0.0.1:PORT/token` */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** Number of requests to /token (any outcome) since start or the last reset(). */
  readonly tokenRequests: number;
  /** The scopes asked for by the most recent request. */
  readonly lastScopes: readonly string[];
  readonly requests: readonly TokenRequestRecord[];
  reset(): void;
  /** Signs a token directly (for tests that need a token without the HTTP dance). */
  issue(user: string | null, scopes: readonly string[]): string;
  stop(): Promise<void>;
}

const DEFAULT_SERVICE = 'image-sync-test-registry';
const DEFAULT_ISSUER = 'image-sync-test-issuer';

export function parseScope(scope: string): Scope | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter((a) => a !== ''),
  };
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const m = /^Basic\s+(\S+)$/i.exec(header);
  if (m === null) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startTokenIssuer(opts: TokenIssuerOptions): Promise<TokenIssuer> {
  const users = opts.users ?? {};
  const service = opts.service ?? DEFAULT_SERVICE;
  const issuer = opts.issuer ?? DEFAULT_ISSUER;
  const expiresIn = opts.expiresIn ?? 300;
  const anonymousPull = opts.anonymousPull ?? true;
  const key = createPrivateKey(opts.signingKey.keyPem);
  const refreshTokens = new Map<string, string>();
  let requests: TokenRequestRecord[] = [];
  let lastScopes: string[] = [];

  const authorize =
    opts.authorize ??
    ((user: string | null, scope: Scope): string[] => {
      if (user === null) return anonymousPull ? scope.actions.filter((a) => a === 'pull') : [];
      const allowed = opts.permissions?.[user];
      return allowed === undefined ? [...scope.actions] : scope.actions.filter((a) => allowed.includes(a));
    });

  function grant(user: string | null, scopes: readonly string[]): Scope[] {
    const out: Scope[] = [];
    for (const s of scopes) {
      const parsed = parseScope(s);
      if (parsed === undefined) continue;
      const actions = authorize(user, parsed);
      const existing = out.find((o) => o.type === parsed.type && o.name === parsed.name);
      if (existing !== undefined) {
        for (const a of actions) if (!existing.actions.includes(a)) existing.actions.push(a);
      } else {
        out.push({ type: parsed.type, name: parsed.name, actions });
      }
    }
    return out;
  }

  function sign_(user: string | null, access: Scope[], aud: string): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [opts.signingKey.certDerBase64] };
    const claims = {
      iss: issuer,
      sub: user ?? '',
      aud,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(input), key);
    return `${input}.${b64url(signature)}`;
  }

  function checkPassword(user: string, password: string): boolean {
    return Object.hasOwn(users, user) && users[user] === password;
  }

  function send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const data = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(data),
      ...headers,
    });
    res.end(data);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/token') {
      send(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] });
      return;
    }
    let params: URLSearchParams;
    let scopes: string[];
    let grantType: string | undefined;
    let method: 'GET' | 'POST';
    if (req.method === 'GET') {
      method = 'GET';
      params = url.searchParams;
      scopes = params.getAll('scope').flatMap((s) => s.split(' ').filter((x) => x !== ''));
    } else if (req.method === 'POST') {
      method = 'POST';
      params = new URLSearchParams(await readBody(req));
      grantType = params.get('grant_type') ?? undefined;
      scopes = params.getAll('scope').flatMap((s) => s.split(' ').filter((x) => x !== ''));
    } else {
      send(res, 405, { error: 'method not allowed' });
      return;
    }
    const requestedService = params.get('service') ?? undefined;
    const clientId = params.get('client_id') ?? undefined;
    const offline = method === 'POST' || params.get('offline_token') === 'true';
    lastScopes = scopes;
    const record = (status: number, user: string | null | undefined, granted: Scope[] = []): void => {
      requests.push({
        method,
        grantType,
        user,
        service: requestedService,
        scopes,
        clientId,
        offline,
        status,
        granted,
      });
    };
    const unauthorized = (message: string): void => {
      record(401, undefined);
      if (method === 'GET') {
        send(
          res,
          401,
          { errors: [{ code: 'UNAUTHORIZED', message }] },
          {
            'www-authenticate': `Basic realm="${issuer}"`,
          },
        );
      } else {
        send(res, 401, { error: 'invalid_grant', error_description: message });
      }
    };

    let user: string | null;
    if (method === 'GET') {
      const basic = parseBasic(req.headers.authorization);
      if (req.headers.authorization !== undefined && basic === undefined) {
        unauthorized('malformed authorization header');
        return;
      }
      if (basic !== undefined) {
        if (!checkPassword(basic.user, basic.password)) {
          unauthorized('invalid username or password');
          return;
        }
        user = basic.user;
      } else {
        user = null;
      }
    } else if (grantType === 'password') {
      const u = params.get('username');
      const p = params.get('password');
      if (u === null || p === null) {
        record(400, undefined);
        send(res, 400, { error: 'invalid_request', error_description: 'username and password are required' });
        return;
      }
      if (!checkPassword(u, p)) {
        unauthorized('invalid username or password');
        return;
      }
      user = u;
    } else if (grantType === 'refresh_token') {
      const rt = params.get('refresh_token');
      const owner = rt === null ? undefined : refreshTokens.get(rt);
      if (owner === undefined) {
        unauthorized('invalid refresh token');
        return;
      }
      user = owner;
    } else {
      record(400, undefined);
      send(res, 400, { error: 'unsupported_grant_type', error_description: `grant_type ${grantType}` });
      return;
    }

    const granted = grant(user, scopes);
    const token = sign_(user, granted, requestedService ?? service);
    const body: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: expiresIn,
      issued_at: new Date().toISOString(),
    };
    if (offline && user !== null) {
      const rt = params.get('refresh_token') ?? randomBytes(24).toString('base64url');
      refreshTokens.set(rt, user);
      body.refresh_token = rt;
    }
    if (method === 'POST') body.scope = scopes.join(' ');
    record(200, user, granted);
    send(res, 200, body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: String(err) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    get tokenRequests() {
      return requests.length;
    },
    get lastScopes() {
      return lastScopes;
    },
    get requests() {
      return requests;
    },
    reset() {
      requests = [];
      lastScopes = [];
    },
    issue(user, scopes) {
      return sign_(user, grant(user, scopes), service);
    },
    stop() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
