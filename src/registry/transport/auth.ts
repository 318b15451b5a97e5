import type { Dispatcher } from 'undici';
import { ANONYMOUS, RegistryError, type SentAs } from '../errors.ts';
import type { Challenge } from './challenge.ts';
import { checkResponse } from './check.ts';
import { send } from './http.ts';

export interface Credentials {
  readonly username?: string;
  readonly password?: string;
  /** A registry identity / refresh token, exchanged through the OAuth2 form. */
  readonly token?: string;
  /** Where they were configured, for messages: `auth.yaml: auth["ghcr.io"]`, `docker-credential-gcloud`. Never a secret. */
  readonly from?: string;
}

export type AuthScheme =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic' }
  | { readonly kind: 'bearer'; readonly realm: URL; readonly service: string | undefined };

/** Bearer wins over Basic when a registry offers both. */
export function schemeFromChallenges(challenges: readonly Challenge[]): AuthScheme {
  const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
  if (bearer?.params.realm !== undefined) {
    let realm: URL;
    try {
      realm = new URL(bearer.params.realm);
    } catch {
      throw new RegistryError(`the registry sent an invalid token realm "${bearer.params.realm}"`);
    }
    return { kind: 'bearer', realm, service: bearer.params.service };
  }
  if (challenges.some((c) => c.scheme === 'basic')) return { kind: 'basic' };
  return { kind: 'none' };
}

/** For messages about a refusal: who the client said it was, never with what secret. */
function identity(credentials: Credentials | undefined): string {
  if (credentials?.username !== undefined) return `as user "${credentials.username}"`;
  return credentials?.token !== undefined ? 'with a token' : ANONYMOUS;
}

/** How a request identified itself, for a refusal's message. */
export function sentAs(credentials: Credentials | undefined): SentAs {
  return {
    identity: identity(credentials),
    ...(credentials?.from !== undefined && { from: credentials.from }),
  };
}

export function basicHeader(credentials: Credentials): string | undefined {
  const secret = credentials.password ?? credentials.token;
  if (credentials.username === undefined || secret === undefined) return undefined;
  return `Basic ${Buffer.from(`${credentials.username}:${secret}`).toString('base64')}`;
}

interface CachedToken {
  readonly token: string;
  readonly expiresAt: number;
}

const EXPIRY_MARGIN_MS = 10_000;
const DEFAULT_EXPIRES_IN_S = 60;

/** Bearer tokens per scope set, kept until shortly before they expire; concurrent asks share one fetch. */
export class TokenCache {
  readonly #tokens = new Map<string, CachedToken>();
  readonly #pending = new Map<string, Promise<string>>();

  async get(key: string, fetch: () => Promise<CachedToken>): Promise<string> {
    const cached = this.#tokens.get(key);
    if (cached !== undefined && cached.expiresAt > Date.now()) return cached.token;
    const pending = this.#pending.get(key);
    if (pending !== undefined) return pending;
    const promise = fetch()
      .then((t) => {
        this.#tokens.set(key, t);
        return t.token;
      })
      .finally(() => this.#pending.delete(key));
    this.#pending.set(key, promise);
    return promise;
  }

  invalidate(key: string, token: string): void {
    if (this.#tokens.get(key)?.token === token) this.#tokens.delete(key);
  }
}

export interface TokenRequest {
  /** The registry the token is for: a refusal is reported as that registry's (its auth entry is wrong). */
  readonly registry: string;
  readonly dispatcher: Dispatcher;
  readonly realm: URL;
  readonly service: string | undefined;
  readonly scopes: readonly string[];
  readonly credentials: Credentials | undefined;
  readonly userAgent: string;
  readonly onSecret: (secret: string) => void;
  /** Takes the credentials sent out of an error body (see Secrets). */
  readonly scrub?: (text: string) => string;
}

/**
 * Docker token authentication: the OAuth2 refresh-token form when an identity token is configured,
 * otherwise GET on the realm with Basic credentials (or none, for anonymous pulls).
 */
export async function fetchToken(req: TokenRequest): Promise<CachedToken> {
  const started = Date.now();
  const res =
    req.credentials?.token !== undefined ? await postForm(req, req.credentials.token) : await getToken(req);
  try {
    await checkResponse(res, [200], req.scrub, sentAs(req.credentials));
  } catch (err) {
    if (!(err instanceof RegistryError) || (err.status !== 401 && err.status !== 403)) throw err;
    // The token request's own method says nothing of the access refused; the scopes do.
    const pushing = req.scopes.some((s) => (s.split(':')[2] ?? '').split(',').includes('push'));
    throw new RegistryError(
      `${req.registry}: its token service at ${req.realm.host} refused: ${err.message}`,
      {
        status: err.status,
        method: pushing ? 'PUT' : 'GET',
        target: req.registry,
        errors: err.errors,
        ...(err.sentAs !== undefined && { sentAs: err.sentAs }),
        cause: err,
      },
    );
  }
  const body = (await res.body.json()) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
  const token = typeof body.token === 'string' ? body.token : body.access_token;
  if (typeof token !== 'string' || token === '')
    throw new RegistryError(`the token service at ${req.realm.host} answered without a token`);
  req.onSecret(token);
  const expiresIn =
    typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_EXPIRES_IN_S;
  return { token, expiresAt: started + expiresIn * 1000 - EXPIRY_MARGIN_MS };
}

function getToken(req: TokenRequest) {
  const url = new URL(req.realm);
  if (req.service !== undefined) url.searchParams.set('service', req.service);
  for (const scope of req.scopes) url.searchParams.append('scope', scope);
  const headers: Record<string, string> = { 'user-agent': req.userAgent };
  const basic = req.credentials === undefined ? undefined : basicHeader(req.credentials);
  if (basic !== undefined) headers.authorization = basic;
  return send(req.dispatcher, { method: 'GET', url, headers });
}

function postForm(req: TokenRequest, refreshToken: string) {
  const form = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: 'image-sync',
    scope: req.scopes.join(' '),
  });
  if (req.service !== undefined) form.set('service', req.service);
  return send(req.dispatcher, {
    method: 'POST',
    url: req.realm,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': req.userAgent },
    body: form.toString(),
  });
}
