import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InsecureRequest, RegistryError, TlsError } from '../../../src/registry/errors.ts';
import { Transport } from '../../../src/registry/transport/transport.ts';

const FAST = { retries: 3, minDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 50 };
let agent: MockAgent;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
});
afterEach(() => agent.close());

function transport(registry: string, extra: Partial<ConstructorParameters<typeof Transport>[0]> = {}) {
  return new Transport({ registry, dispatcher: agent, retry: FAST, ...extra });
}

describe('Transport', () => {
  it('fetches a bearer token with Basic credentials and reuses it per scope', async () => {
    const reg = agent.get('https://reg.example');
    const auth = agent.get('https://auth.example');
    reg.intercept({ path: '/v2/', method: 'HEAD' }).reply(401, '', {
      headers: { 'www-authenticate': 'Bearer realm="https://auth.example/token",service="reg"' },
    });
    let tokenCalls = 0;
    auth
      .intercept({ path: (p) => p.startsWith('/token?'), method: 'GET' })
      .reply((opts) => {
        tokenCalls++;
        expect(opts.path).toContain('scope=repository%3Aa%2Fb%3Apull');
        expect(opts.path).toContain('service=reg');
        expect((opts.headers as Record<string, string>).authorization).toBe(`Basic ${btoa('u:p')}`);
        return { statusCode: 200, data: { token: 'tok-1', expires_in: 300 } };
      })
      .persist();
    const seen: string[] = [];
    reg
      .intercept({ path: '/v2/a/b/tags/list', method: 'GET' })
      .reply((opts) => {
        seen.push((opts.headers as Record<string, string>).authorization ?? '');
        return { statusCode: 200, data: { tags: ['1'] } };
      })
      .times(2);
    const secrets: string[] = [];
    const t = transport('reg.example', {
      credentials: { username: 'u', password: 'p' },
      onSecret: (s) => secrets.push(s),
    });
    for (let i = 0; i < 2; i++)
      await (
        await t.request({
          method: 'GET',
          path: '/v2/a/b/tags/list',
          scopes: ['repository:a/b:pull'],
          expect: [200],
        })
      ).body.dump();
    expect(tokenCalls).toBe(1);
    expect(seen).toEqual(['Bearer tok-1', 'Bearer tok-1']);
    expect(secrets).toEqual(['tok-1']);
  });

  it("reports a token service's refusal as the registry's, for the access its scopes asked", async () => {
    const reg = agent.get('https://reg.example');
    reg.intercept({ path: '/v2/', method: 'HEAD' }).reply(401, '', {
      headers: { 'www-authenticate': 'Bearer realm="https://auth.example/token",service="reg"' },
    });
    agent
      .get('https://auth.example')
      .intercept({ path: (p) => p.startsWith('/token?'), method: 'GET' })
      .reply(403, { errors: [{ code: 'DENIED' }] })
      .persist();
    const t = transport('reg.example', { credentials: { username: 'ann', password: 'pw' } });
    const refused = (scopes: string[]) =>
      t
        .request({ method: 'HEAD', path: '/v2/a/b/manifests/1', scopes, expect: [200] })
        .catch((e: unknown) => e);
    const pull = await refused(['repository:a/b:pull']);
    expect(pull).toMatchObject({
      status: 403,
      target: 'reg.example',
      method: 'GET',
      sentAs: { identity: 'as user "ann"' },
    });
    const push = await refused(['repository:a/b:pull,push']);
    expect(push).toMatchObject({ status: 403, target: 'reg.example', method: 'PUT' });
  });

  it('takes a 401 whose challenge says insufficient_scope for a denial, not for wrong credentials', async () => {
    const reg = agent.get('https://reg.example');
    reg.intercept({ path: '/v2/', method: 'HEAD' }).reply(401, '', {
      headers: { 'www-authenticate': 'Basic realm="r"' },
    });
    reg
      .intercept({ path: '/v2/a/b/manifests/1', method: 'PUT' })
      .reply(401, '', {
        headers: {
          'www-authenticate': 'Basic realm="r",error="insufficient_scope",scope="repository:a/b:push"',
        },
      })
      .times(2);
    const t = transport('reg.example', { credentials: { username: 'reader', password: 'pw' } });
    const err = await t
      .request({ method: 'PUT', path: '/v2/a/b/manifests/1', scopes: [], expect: [201], body: '{}' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).hasCode('DENIED')).toBe(true);
  });

  it('uses the OAuth2 refresh-token form when an identity token is configured', async () => {
    agent
      .get('https://reg.example')
      .intercept({ path: '/v2/', method: 'HEAD' })
      .reply(401, '', {
        headers: { 'www-authenticate': 'Bearer realm="https://reg.example/oauth",service="svc"' },
      });
    agent
      .get('https://reg.example')
      .intercept({ path: '/oauth', method: 'POST' })
      .reply((opts) => {
        const form = new URLSearchParams(String(opts.body));
        expect(form.get('grant_type')).toBe('refresh_token');
        expect(form.get('refresh_token')).toBe('identity-xyz');
        expect(form.get('scope')).toBe('repository:a:pull');
        return { statusCode: 200, data: { access_token: 'acc' } };
      });
    agent.get('https://reg.example').intercept({ path: '/v2/a/manifests/1', method: 'HEAD' }).reply(200, '');
    const t = transport('reg.example', { credentials: { token: 'identity-xyz' } });
    const res = await t.request({
      method: 'HEAD',
      path: '/v2/a/manifests/1',
      scopes: ['repository:a:pull'],
      expect: [200],
    });
    expect(res.status).toBe(200);
  });

  it('refreshes the token once on 401, then reports the 401', async () => {
    const reg = agent.get('https://reg.example');
    reg.intercept({ path: '/v2/', method: 'HEAD' }).reply(401, '', {
      headers: { 'www-authenticate': 'Bearer realm="https://reg.example/token"' },
    });
    let n = 0;
    reg
      .intercept({ path: (p) => p.startsWith('/token'), method: 'GET' })
      .reply(() => ({ statusCode: 200, data: { token: `t${++n}` } }))
      .persist();
    reg
      .intercept({ path: '/v2/a/tags/list', method: 'GET' })
      .reply(401, { errors: [{ code: 'UNAUTHORIZED' }] })
      .times(2);
    const err = await transport('reg.example')
      .request({ method: 'GET', path: '/v2/a/tags/list', scopes: ['repository:a:pull'], expect: [200] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).status).toBe(401);
    expect((err as RegistryError).codes).toEqual(['UNAUTHORIZED']);
    expect(n).toBe(2);
  });

  it('follows a blob redirect to another host without the Authorization header', async () => {
    const reg = agent.get('https://reg.example');
    reg
      .intercept({ path: '/v2/', method: 'HEAD' })
      .reply(401, '', { headers: { 'www-authenticate': 'Basic realm="r"' } });
    reg
      .intercept({ path: '/v2/a/blobs/sha256:x', method: 'GET' })
      .reply(307, '', { headers: { location: 'https://storage.example/obj?sig=1' } });
    let auth: string | undefined = 'unset';
    agent
      .get('https://storage.example')
      .intercept({ path: '/obj?sig=1', method: 'GET' })
      .reply((opts) => {
        auth = (opts.headers as Record<string, string>).authorization;
        return { statusCode: 200, data: 'blob' };
      });
    const res = await transport('reg.example', { credentials: { username: 'u', password: 'p' } }).request({
      method: 'GET',
      path: '/v2/a/blobs/sha256:x',
      scopes: [],
      expect: [200],
    });
    expect(await res.body.text()).toBe('blob');
    expect(auth).toBeUndefined();
  });

  it('asks the version check with GET where HEAD gets neither 200 nor 401, and follows that answer', async () => {
    const reg = agent.get('https://reg.example');
    const auth = agent.get('https://auth.example');
    reg.intercept({ path: '/v2/', method: 'HEAD' }).reply(405, '');
    reg.intercept({ path: '/v2/', method: 'GET' }).reply(401, '{}', {
      headers: { 'www-authenticate': 'Bearer realm="https://auth.example/token",service="reg"' },
    });
    auth.intercept({ path: (p) => p.startsWith('/token?'), method: 'GET' }).reply(200, { token: 'tok' });
    reg
      .intercept({ path: '/v2/a/tags/list', method: 'GET', headers: { authorization: 'Bearer tok' } })
      .reply(200, { tags: ['1'] });
    const res = await transport('reg.example').request({
      method: 'GET',
      path: '/v2/a/tags/list',
      scopes: ['repository:a:pull'],
      expect: [200],
    });
    expect(await res.body.json()).toEqual({ tags: ['1'] });
    agent.assertNoPendingInterceptors();
  });

  it('retries a busy version check as HEAD, without asking again with GET', async () => {
    const reg = agent.get('https://reg.example');
    reg.intercept({ path: '/v2/', method: 'HEAD' }).reply(503, '');
    reg.intercept({ path: '/v2/', method: 'HEAD' }).reply(429, '', { headers: { 'retry-after': '0' } });
    reg.intercept({ path: '/v2/', method: 'HEAD' }).reply(200, '');
    reg.intercept({ path: '/v2/a/tags/list', method: 'GET' }).reply(200, { tags: [] });
    reg.intercept({ path: '/v2/', method: 'GET' }).reply(200, '').persist();
    const res = await transport('reg.example').request({
      method: 'GET',
      path: '/v2/a/tags/list',
      scopes: [],
      expect: [200],
    });
    expect(res.status).toBe(200);
    const left = agent.pendingInterceptors();
    // A persisted interceptor stays pending only while it has never been used.
    expect(left.map((i) => `${i.method} ${i.path}`)).toEqual(['GET /v2/']);
  });

  it("reports the GET version check's refusal when HEAD was refused too", async () => {
    const reg = agent.get('https://reg.example');
    reg.intercept({ path: '/v2/', method: 'HEAD' }).reply(403, '');
    reg
      .intercept({ path: '/v2/', method: 'GET' })
      .reply(403, { errors: [{ code: 'DENIED', message: 'blocked by policy' }] });
    const err = await transport('reg.example')
      .request({ method: 'GET', path: '/v2/a/tags/list', scopes: [], expect: [200] })
      .catch((e: unknown) => e);
    expect((err as RegistryError).status).toBe(403);
    expect((err as Error).message).toContain('blocked by policy');
    agent.assertNoPendingInterceptors();
  });

  describe('version check on loopback', () => {
    const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const tagsOf = (t: Transport) =>
      t.request({ method: 'GET', path: '/v2/a/tags/list', scopes: [], expect: [200] });
    /** The HEAD version check on 127.0.0.1:5000, in plain HTTP or over TLS. */
    const versionCheck = (scheme: 'http' | 'https') =>
      agent.get(`${scheme}://127.0.0.1:5000`).intercept({ path: '/v2/', method: 'HEAD' });

    it('asks in plain HTTP first, and not over TLS when plain is answered', async () => {
      const plain = agent.get('http://127.0.0.1:5000');
      versionCheck('https').reply(200, '');
      versionCheck('http').reply(200, '');
      plain.intercept({ path: '/v2/a/tags/list', method: 'GET' }).reply(200, { tags: ['1'] });
      expect(await (await tagsOf(transport('127.0.0.1:5000'))).body.json()).toEqual({ tags: ['1'] });
      const left = agent.pendingInterceptors();
      expect(left.map((i) => `${i.origin} ${i.method} ${i.path}`)).toEqual([
        'https://127.0.0.1:5000 HEAD /v2/',
      ]);
    });

    it("goes over TLS when the plain answer is a TLS port's 400", async () => {
      const tls = agent.get('https://127.0.0.1:5000');
      versionCheck('http').reply(400, 'Client sent an HTTP request to an HTTPS server.');
      versionCheck('https').reply(200, '');
      tls.intercept({ path: '/v2/a/tags/list', method: 'GET' }).reply(200, { tags: ['2'] });
      expect(await (await tagsOf(transport('127.0.0.1:5000'))).body.json()).toEqual({ tags: ['2'] });
      agent.assertNoPendingInterceptors();
    });

    it('keeps a plain 400 when TLS is not spoken either, and asks again with GET', async () => {
      const plain = agent.get('http://127.0.0.1:5000');
      versionCheck('http').reply(400, '');
      versionCheck('https').replyWithError(refused());
      plain.intercept({ path: '/v2/', method: 'GET' }).reply(200, '{}');
      plain.intercept({ path: '/v2/a/tags/list', method: 'GET' }).reply(200, { tags: ['3'] });
      expect(await (await tagsOf(transport('127.0.0.1:5000'))).body.json()).toEqual({ tags: ['3'] });
      agent.assertNoPendingInterceptors();
    });

    it('reports the plain attempt when neither scheme connects', async () => {
      versionCheck('http').replyWithError(refused()).times(4);
      versionCheck('https')
        .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
        .times(4);
      const err = await tagsOf(transport('127.0.0.1:5000')).catch((e: unknown) => e);
      expect((err as Error).message).toContain('connection refused');
      // Both schemes were asked on every attempt.
      agent.assertNoPendingInterceptors();
    });

    it("goes over TLS when the plain answer is a web server's, not a registry's (a redirect)", async () => {
      const tls = agent.get('https://127.0.0.1:5000');
      versionCheck('http').reply(301, '', { headers: { location: 'https://127.0.0.1:5000/v2/' } });
      versionCheck('https').reply(200, '');
      tls.intercept({ path: '/v2/a/tags/list', method: 'GET' }).reply(200, { tags: ['5'] });
      expect(await (await tagsOf(transport('127.0.0.1:5000'))).body.json()).toEqual({ tags: ['5'] });
      agent.assertNoPendingInterceptors();
    });

    it("reports a certificate problem over TLS, not the TLS port's plain 400", async () => {
      versionCheck('http').reply(400, 'plain to TLS');
      versionCheck('https').replyWithError(
        Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      );
      const err = await tagsOf(transport('127.0.0.1:5000')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TlsError);
      expect((err as Error).message).toContain('is not trusted');
    });

    it('asks over TLS first without a port: plain and TLS would be two servers (80 and 443)', async () => {
      const tls = agent.get('https://localhost');
      agent.get('http://localhost').intercept({ path: '/v2/', method: 'HEAD' }).reply(404, 'a web page');
      tls.intercept({ path: '/v2/', method: 'HEAD' }).reply(200, '');
      tls.intercept({ path: '/v2/a/tags/list', method: 'GET' }).reply(200, { tags: ['6'] });
      expect(await (await tagsOf(transport('localhost'))).body.json()).toEqual({ tags: ['6'] });
      const left = agent.pendingInterceptors();
      expect(left.map((i) => `${i.origin} ${i.method} ${i.path}`)).toEqual(['http://localhost HEAD /v2/']);
    });

    it('asks over TLS first when the registry has a CA of its own', async () => {
      const tls = agent.get('https://127.0.0.1:5000');
      versionCheck('http').reply(200, '');
      versionCheck('https').reply(200, '');
      tls.intercept({ path: '/v2/a/tags/list', method: 'GET' }).reply(200, { tags: ['4'] });
      const t = transport('127.0.0.1:5000', { tls: { ca: '/not/read/with/a/mock/agent.pem' } });
      expect(await (await tagsOf(t)).body.json()).toEqual({ tags: ['4'] });
      const left = agent.pendingInterceptors();
      expect(left.map((i) => `${i.origin} ${i.method} ${i.path}`)).toEqual([
        'http://127.0.0.1:5000 HEAD /v2/',
      ]);
    });
  });

  it('retries 503 and 429, honouring Retry-After', async () => {
    const reg = agent.get('https://reg.example');
    reg.intercept({ path: '/v2/', method: 'HEAD' }).reply(200, '');
    reg.intercept({ path: '/v2/a/tags/list', method: 'GET' }).reply(503, 'busy');
    reg
      .intercept({ path: '/v2/a/tags/list', method: 'GET' })
      .reply(429, '', { headers: { 'retry-after': '0' } });
    reg.intercept({ path: '/v2/a/tags/list', method: 'GET' }).reply(200, { tags: [] });
    const retries: number[] = [];
    const res = await transport('reg.example', { onRetry: (_e, left) => retries.push(left) }).request({
      method: 'GET',
      path: '/v2/a/tags/list',
      scopes: [],
      expect: [200],
    });
    expect(res.status).toBe(200);
    expect(retries).toEqual([3, 2]);
  });

  it('does not retry a 404', async () => {
    const reg = agent.get('https://reg.example');
    reg.intercept({ path: '/v2/', method: 'HEAD' }).reply(200, '');
    reg
      .intercept({ path: '/v2/a/tags/list', method: 'GET' })
      .reply(404, { errors: [{ code: 'NAME_UNKNOWN', message: 'x' }] });
    const err = await transport('reg.example')
      .request({ method: 'GET', path: '/v2/a/tags/list', scopes: [], expect: [200] })
      .catch((e: unknown) => e);
    expect((err as RegistryError).status).toBe(404);
    expect((err as RegistryError).isTemporary()).toBe(false);
  });

  it('refuses a plain-HTTP token realm for a TLS registry not marked insecure', async () => {
    agent
      .get('https://reg.example')
      .intercept({ path: '/v2/', method: 'HEAD' })
      .reply(401, '', {
        headers: { 'www-authenticate': 'Bearer realm="http://auth.example/token"' },
      });
    const err = await transport('reg.example', { credentials: { username: 'u', password: 'p' } })
      .request({ method: 'GET', path: '/v2/a/tags/list', scopes: [], expect: [200] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsecureRequest);
    expect((err as Error).message).toContain('mark the registry reg.example as insecure');
  });

  it('allows that realm once the registry is marked insecure', async () => {
    agent
      .get('https://reg.example')
      .intercept({ path: '/v2/', method: 'HEAD' })
      .reply(401, '', {
        headers: { 'www-authenticate': 'Bearer realm="http://auth.example/token"' },
      });
    agent
      .get('http://auth.example')
      .intercept({ path: (p) => p.startsWith('/token'), method: 'GET' })
      .reply(200, { token: 't' });
    agent
      .get('https://reg.example')
      .intercept({ path: '/v2/a/tags/list', method: 'GET' })
      .reply(200, { tags: [] });
    const t = transport('reg.example', {
      tls: { insecure: true },
      credentials: { username: 'u', password: 'p' },
    });
    const res = await t.request({ method: 'GET', path: '/v2/a/tags/list', scopes: [], expect: [200] });
    expect(res.status).toBe(200);
  });
});
