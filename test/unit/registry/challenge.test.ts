import { describe, expect, it } from 'vitest';
import { schemeFromChallenges } from '../../../src/registry/transport/auth.ts';
import { parseChallenges } from '../../../src/registry/transport/challenge.ts';

describe('parseChallenges', () => {
  it('reads a Docker Hub bearer challenge', () => {
    const [c] = parseChallenges(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
    );
    expect(c).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/nginx:pull',
      },
    });
  });
  it('reads basic, unquoted values, escapes and odd spacing', () => {
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
    expect(parseChallenges('bearer  realm = https://x/token , service=reg')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://x/token', service: 'reg' } },
    ]);
    expect(parseChallenges('Bearer realm="a\\"b"')[0]?.params.realm).toBe('a"b');
  });
  it('reads several challenges in one header and across headers', () => {
    const list = parseChallenges(['Basic realm="r", Bearer realm="https://t/",service="s"', 'Negotiate']);
    expect(list.map((c) => c.scheme)).toEqual(['basic', 'bearer', 'negotiate']);
    expect(list[1]?.params).toEqual({ realm: 'https://t/', service: 's' });
  });
  it('keeps scopes with commas and colons intact', () => {
    const [c] = parseChallenges(
      'Bearer realm="https://t",scope="repository:a/b:pull,push repository:c:pull"',
    );
    expect(c?.params.scope).toBe('repository:a/b:pull,push repository:c:pull');
  });
  it('gives nothing for a missing header', () => {
    expect(parseChallenges(undefined)).toEqual([]);
  });
});

describe('schemeFromChallenges', () => {
  it('prefers bearer over basic', () => {
    const s = schemeFromChallenges(
      parseChallenges('Basic realm="r", Bearer realm="https://t/token",service="s"'),
    );
    expect(s.kind).toBe('bearer');
    expect(s.kind === 'bearer' && s.realm.href).toBe('https://t/token');
  });
  it('says basic or none', () => {
    expect(schemeFromChallenges(parseChallenges('Basic realm="r"')).kind).toBe('basic');
    expect(schemeFromChallenges([]).kind).toBe('none');
  });
  it('rejects an unusable realm', () => {
    expect(() => schemeFromChallenges(parseChallenges('Bearer realm="not a url"'))).toThrow(
      'invalid token realm',
    );
  });
});
