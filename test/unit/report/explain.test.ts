import { describe, expect, it } from 'vitest';
import { DigestMismatch, NetworkError, RegistryError } from '../../../src/registry/errors.ts';
import { explain } from '../../../src/report/explain.ts';

describe('explain', () => {
  it.each([
    [
      new RegistryError('x', { status: 401, target: 'reg/v2/a' }),
      'credentials',
      /authentication failed at reg/,
    ],
    [
      new RegistryError('x', { status: 403, method: 'PUT', target: 'reg/v2/a' }),
      'permission',
      /access denied/,
    ],
    [new RegistryError('x', { status: 429 }), 'rate-limited', /rate limited/],
    [new RegistryError('a/b:1 was not found', { status: 404 }), 'not-found', /not found/],
    [new DigestMismatch('sha256:a', 'sha256:b'), 'digest-mismatch', /digest mismatch/],
    [new NetworkError('GET reg/v2/ failed: connection refused'), 'network', /connection refused/],
    [new Error('plain'), 'other', /plain/],
  ])('%s', (err, kind, reason) => {
    const e = explain(err);
    expect(e.kind).toBe(kind);
    expect(e.reason).toMatch(reason);
  });

  it('says who a refused request was sent as, and tells missing credentials from wrong ones', () => {
    const wrong = explain(
      new RegistryError('x', { status: 401, target: 'reg/v2/a', sentAs: { identity: 'as user "ann"' } }),
    );
    expect(wrong.reason).toBe('authentication failed at reg as user "ann" (401)');
    expect(wrong.hint).toContain('check the username and password');
    const none = explain(
      new RegistryError('x', {
        status: 401,
        target: 'reg/v2/a',
        sentAs: { identity: 'with no credentials' },
      }),
    );
    expect(none.reason).toBe('authentication failed at reg with no credentials (401)');
    expect(none.hint).toContain('no credentials were sent to this registry');
  });

  it('names where the refused credentials were configured, in the hint', () => {
    const from = { sentAs: { identity: 'as user "ann"', from: 'auth.yaml: auth["reg"]' } };
    const wrong = explain(new RegistryError('x', { status: 401, target: 'reg/v2/a', ...from }));
    expect(wrong.reason).toBe('authentication failed at reg as user "ann" (401)');
    expect(wrong.hint).toBe(
      'wrong or missing credentials: check the username and password or token (from auth.yaml: auth["reg"])',
    );
    const push = explain(new RegistryError('x', { status: 403, method: 'PUT', target: 'reg/v2/a', ...from }));
    expect(push.hint).toBe(
      'the credentials (from auth.yaml: auth["reg"]) lack push permission on the destination repository',
    );
  });

  it('takes a 401 that denies the access asked (insufficient_scope) for a permission problem', () => {
    const e = explain(new RegistryError('x', { status: 401, method: 'PUT', errors: [{ code: 'DENIED' }] }));
    expect(e.kind).toBe('permission');
    expect(e.hint).toContain('push permission');
  });

  it('says which repository a registry does not know, whatever request met it', () => {
    const err = new RegistryError(
      'GET r.io/v2/a/b/tags/list returned 404: NAME_UNKNOWN (repository name not known)',
      {
        status: 404,
        target: 'r.io/v2/a/b/tags/list',
        errors: [{ code: 'NAME_UNKNOWN' }],
      },
    );
    expect(explain(err).reason).toBe('repository r.io/a/b was not found');
  });

  it('tells push from pull permission', () => {
    expect(explain(new RegistryError('x', { status: 403, method: 'PUT' })).hint).toContain('push permission');
    expect(explain(new RegistryError('x', { status: 403, method: 'GET' })).hint).toContain('pull permission');
  });
});
