import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ANONYMOUS, InsecureRequest, RegistryError, TlsError } from '../errors.ts';
import { isLoopbackRegistry, registryEndpoint } from '../reference.ts';
import { Secrets } from '../secrets.ts';
import { createAgent, type Timeouts, type TlsOptions } from './agent.ts';
import {
  type AuthScheme,
  basicHeader,
  type Credentials,
  fetchToken,
  schemeFromChallenges,
  sentAs,
  TokenCache,
} from './auth.ts';
import { parseChallenges } from './challenge.ts';
import { checkResponse, header } from './check.ts';
import { type HttpRequest, type HttpResponse, type Method, send, targetOf } from './http.ts';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.ts';

export interface ResponseInfo {
  readonly method: Method;
  readonly host: string;
  readonly status: number;
  readonly headers: HttpResponse['headers'];
}

export interface TransportOptions {
  /** Canonical registry name (`docker.io`, `ghcr.io`, `127.0.0.1:5000`). */
  readonly registry: string;
  readonly tls?: TlsOptions;
  readonly credentials?: Credentials;
  readonly userAgent?: string;
  readonly retry?: RetryPolicy;
  readonly timeouts?: Timeouts;
  /** Called with each secret obtained at run time (tokens), before it could be logged. */
  readonly onSecret?: (secret: string) => void;
  /** Every HTTP exchange, for metrics and rate-limit headers. */
  readonly onResponse?: (info: ResponseInfo) => void;
  readonly onRetry?: (error: unknown, retriesLeft: number) => void;
  /** Once aborted, failed requests are not tried again (see RetryControl.stop). */
  readonly stopRetrying?: AbortSignal;
  /** Replaces the connection pool (unit tests pass undici's MockAgent). */
  readonly dispatcher?: Dispatcher;
}

export interface TransportRequest {
  readonly method: Method;
  /** A path on the registry (`/v2/…`) or an absolute URL the registry handed out (upload locations). */
  readonly path: string | URL;
  readonly scopes: readonly string[];
  readonly expect: readonly number[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: HttpRequest['body'];
  readonly signal?: AbortSignal;
}

const MAX_REDIRECTS = 5;
const REDIRECT = new Set([301, 302, 303, 307, 308]);

/**
 * The registry transport, in layers: retry (replayable requests) → authentication (ping, challenge,
 * token per scope, one refresh on 401) → redirects (credentials dropped across hosts) → HTTP.
 */
export class Transport {
  readonly registry: string;
  readonly #agent: Dispatcher;
  readonly #opts: TransportOptions;
  readonly #tokens = new TokenCache();
  readonly #sent = new Secrets();
  readonly #closing = new AbortController();
  #base: Promise<URL> | undefined;
  #resolved: URL | undefined;
  #scheme: AuthScheme = { kind: 'none' };

  constructor(opts: TransportOptions) {
    this.registry = opts.registry;
    this.#opts = opts;
    this.#agent = opts.dispatcher ?? createAgent(opts.tls ?? {}, opts.timeouts);
    const credentials = opts.credentials;
    if (credentials !== undefined) {
      this.#sent.add(credentials.password);
      this.#sent.add(credentials.token);
      const basic = basicHeader(credentials);
      if (basic !== undefined) this.#sent.addHeader(basic);
    }
  }

  close(): Promise<void> {
    // A ping started ahead of need (RegistryClient.connect) may still wait on a registry nothing used.
    this.#closing.abort();
    return this.#agent.close();
  }

  /** `https://host` or, for loopback and insecure registries that do not speak TLS, `http://host`. */
  base(): Promise<URL> {
    this.#base ??= this.#ping().catch((err: unknown) => {
      this.#base = undefined;
      throw err;
    });
    return this.#base;
  }

  request(req: TransportRequest): Promise<HttpResponse> {
    const attempt = () => this.#attempt(req);
    if (req.body instanceof Readable) return attempt();
    return withRetry(attempt, this.#opts.retry ?? DEFAULT_RETRY, {
      ...(this.#opts.onRetry !== undefined && { onRetry: this.#opts.onRetry }),
      ...(req.signal !== undefined && { signal: req.signal }),
      ...(this.#opts.stopRetrying !== undefined && { stop: this.#opts.stopRetrying }),
    });
  }

  get #plainAllowed(): boolean {
    return this.#opts.tls?.insecure === true || isLoopbackRegistry(this.registry);
  }

  /**
   * The version check, as a HEAD: its answer is in the status and the challenge, and a no-op run is
   * then HEAD requests only. A registry that refuses it that way is asked again with the GET the
   * specification names, and that answer counts (askAgainWithGet).
   */
  async #ping(): Promise<URL> {
    let { base, res } = await this.#reach(registryEndpoint(this.registry));
    if (askAgainWithGet(res)) {
      await res.body.dump();
      res = await this.#checkVersion(base, 'GET');
    }
    if (res.status === 401) {
      this.#scheme = schemeFromChallenges(parseChallenges(res.headers['www-authenticate']));
    } else {
      await checkResponse(res, [200], this.#sent.scrub);
    }
    await res.body.dump();
    this.#resolved = base;
    return base;
  }

  /**
   * The scheme the registry speaks, and its first answer. TLS is asked first, and plain HTTP only
   * where allowed and the server gave no answer over TLS at all: a certificate problem is reported.
   *
   * A registry on a loopback port, without a CA of its own, is asked in plain text first. One there is
   * nearly always plain (a CI service container, a local mirror), and the refused TLS attempt cost the
   * start of every run about 20 ms: loading TLS and a handshake. The version check carries no
   * credentials, so a TLS port asked in plain text learns nothing. Only a registry's answer (200, 401,
   * or its API version header) is kept; a TLS port's 400 or redirect, or no answer, is asked over TLS.
   * Without a port, plain and TLS would be different servers (80 and 443): TLS first, as elsewhere.
   */
  async #reach(host: string): Promise<{ base: URL; res: HttpResponse }> {
    const tls = new URL(`https://${host}`);
    const plain = new URL(`http://${host}`);
    const first: { res?: HttpResponse; error?: unknown } = this.#plainFirst(plain)
      ? await this.#checkVersion(plain, 'HEAD').then(
          (res) => ({ res }),
          (error: unknown) => ({ error }),
        )
      : {};
    if (first.res !== undefined && isRegistryAnswer(first.res)) return { base: plain, res: first.res };
    try {
      const res = await this.#checkVersion(tls, 'HEAD');
      await first.res?.body.dump();
      return { base: tls, res };
    } catch (err) {
      if (!noAnswer(err) || !this.#plainAllowed) {
        await first.res?.body.dump();
        throw err;
      }
      if (first.res !== undefined) return { base: plain, res: first.res };
      if ('error' in first) throw first.error;
      return { base: plain, res: await this.#checkVersion(plain, 'HEAD') };
    }
  }

  #plainFirst(plain: URL): boolean {
    return isLoopbackRegistry(this.registry) && this.#opts.tls?.ca === undefined && plain.port !== '';
  }

  #checkVersion(base: URL, method: 'HEAD' | 'GET'): Promise<HttpResponse> {
    return this.#send({ method, url: new URL('/v2/', base), signal: this.#closing.signal });
  }

  async #attempt(req: TransportRequest): Promise<HttpResponse> {
    const base = await this.base();
    const url = typeof req.path === 'string' ? new URL(req.path, base) : req.path;
    let authorization = await this.#authorization(req.scopes);
    let res = await this.#sendFollowing(req, url, authorization);
    if (res.status === 401 && !(req.body instanceof Readable)) {
      const challenges = parseChallenges(res.headers['www-authenticate']);
      await res.body.dump();
      if (challenges.length > 0) this.#scheme = schemeFromChallenges(challenges);
      if (authorization?.startsWith('Bearer '))
        this.#tokens.invalidate(scopeKey(req.scopes), authorization.slice(7));
      authorization = await this.#authorization(req.scopes);
      res = await this.#sendFollowing(req, url, authorization);
    }
    const as =
      authorization !== undefined
        ? sentAs(this.#opts.credentials)
        : this.#opts.credentials === undefined
          ? sentAs(undefined)
          : { identity: `${ANONYMOUS} (the registry did not ask for the configured ones)` };
    await checkResponse(res, req.expect, this.#sent.scrub, as);
    return res;
  }

  async #authorization(scopes: readonly string[]): Promise<string | undefined> {
    const scheme = this.#scheme;
    const credentials = this.#opts.credentials;
    if (scheme.kind === 'basic') return credentials === undefined ? undefined : basicHeader(credentials);
    if (scheme.kind !== 'bearer') return undefined;
    this.#assertMayAuthenticate(scheme.realm, 'fetch a token from');
    const token = await this.#tokens.get(scopeKey(scopes), () =>
      fetchToken({
        registry: this.registry,
        dispatcher: this.#agent,
        realm: scheme.realm,
        service: scheme.service,
        scopes,
        credentials,
        userAgent: this.#userAgent,
        onSecret: (secret) => {
          this.#sent.add(secret);
          this.#opts.onSecret?.(secret);
        },
        scrub: this.#sent.scrub,
      }),
    );
    return `Bearer ${token}`;
  }

  async #sendFollowing(
    req: TransportRequest,
    first: URL,
    authorization: string | undefined,
  ): Promise<HttpResponse> {
    let url = first;
    let method = req.method;
    let auth = authorization;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { ...req.headers };
      if (auth !== undefined) {
        this.#assertMayAuthenticate(url, 'send credentials to');
        headers.authorization = auth;
      }
      const res = await this.#send({
        method,
        url,
        headers,
        ...(req.body !== undefined && { body: req.body }),
        ...(req.signal !== undefined && { signal: req.signal }),
      });
      const location = header(res, 'location');
      const follow =
        REDIRECT.has(res.status) && location !== undefined && (method === 'GET' || method === 'HEAD');
      if (!follow) return res;
      if (hop >= MAX_REDIRECTS) throw new RegistryError(`too many redirects from ${targetOf(first)}`);
      await res.body.dump();
      const next = new URL(location, url);
      // Object storage gets its own signed URL: the registry's credentials must not travel with it.
      if (next.origin !== url.origin) auth = undefined;
      if (res.status === 303) method = 'GET';
      url = next;
    }
  }

  async #send(req: HttpRequest): Promise<HttpResponse> {
    const headers = { 'user-agent': this.#userAgent, ...req.headers };
    const res = await send(this.#agent, { ...req, headers });
    this.#opts.onResponse?.({
      method: req.method,
      host: req.url.host,
      status: res.status,
      headers: res.headers,
    });
    return res;
  }

  /** Credentials go over plain HTTP only to insecure registries, or to loopback when the registry itself is plain. */
  #assertMayAuthenticate(url: URL, what: string): void {
    if (url.protocol === 'https:') return;
    if (this.#opts.tls?.insecure === true) return;
    if (this.#resolved?.protocol === 'http:' && isLoopbackRegistry(url.host)) return;
    throw new InsecureRequest(
      `refusing to ${what} ${url.protocol}//${url.host} over plain HTTP: mark the registry ${this.registry} as insecure to allow it`,
    );
  }

  get #userAgent(): string {
    return this.#opts.userAgent ?? 'image-sync';
  }
}

/** No HTTP answer at all (refused, reset, not TLS), as opposed to a certificate problem or a status. */
function noAnswer(err: unknown): boolean {
  return err instanceof RegistryError && err.status === undefined && !(err instanceof TlsError);
}

/** A registry's answer to the version check, not a web server's or a TLS port's. */
function isRegistryAnswer(res: HttpResponse): boolean {
  return (
    res.status === 200 || res.status === 401 || header(res, 'docker-distribution-api-version') !== undefined
  );
}

/**
 * A HEAD version check that said "not like this" (a method or path refused, a 401 without a challenge
 * to follow) is asked again as a GET; a busy or failing registry (408, 429, 5xx) is not asked twice:
 * its answer goes to the retries as it is.
 */
function askAgainWithGet(res: HttpResponse): boolean {
  if (res.status === 401) return parseChallenges(res.headers['www-authenticate']).length === 0;
  if (res.status === 501) return true;
  return res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
}

export function scopeKey(scopes: readonly string[]): string {
  return [...scopes].sort().join(' ');
}

export function repositoryScope(repository: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repository}:${actions}`;
}
