import { describe, expect, it } from 'vitest';
import {
  formatReference,
  isLoopbackRegistry,
  parseReference,
  parseRepository,
  registryEndpoint,
  splitReference,
} from '../../../src/registry/reference.ts';

describe('parseReference', () => {
  it.each([
    ['nginx', 'docker.io', 'library/nginx', undefined, undefined],
    ['nginx:1.27', 'docker.io', 'library/nginx', '1.27', undefined],
    ['bitnami/redis:7', 'docker.io', 'bitnami/redis', '7', undefined],
    ['docker.io/nginx', 'docker.io', 'library/nginx', undefined, undefined],
    ['index.docker.io/library/nginx:x', 'docker.io', 'library/nginx', 'x', undefined],
    ['registry.hub.docker.com/acme/app', 'docker.io', 'acme/app', undefined, undefined],
    ['registry-1.docker.io/acme/app', 'docker.io', 'acme/app', undefined, undefined],
    ['ghcr.io/acme/app:v1.2.3', 'ghcr.io', 'acme/app', 'v1.2.3', undefined],
    ['localhost:5000/a/b/c:t', 'localhost:5000', 'a/b/c', 't', undefined],
    ['localhost/app', 'localhost', 'app', undefined, undefined],
    ['127.0.0.1:5000/app', '127.0.0.1:5000', 'app', undefined, undefined],
    ['[::1]:5000/app:1', '[::1]:5000', 'app', '1', undefined],
    ['quay.io/a/b_c__d-e.f', 'quay.io', 'a/b_c__d-e.f', undefined, undefined],
    ['Registry.Example.com/app', 'Registry.Example.com', 'app', undefined, undefined],
    [`ghcr.io/a/b@sha256:${'a'.repeat(64)}`, 'ghcr.io', 'a/b', undefined, `sha256:${'a'.repeat(64)}`],
    [`ghcr.io/a/b:t@sha256:${'b'.repeat(64)}`, 'ghcr.io', 'a/b', 't', `sha256:${'b'.repeat(64)}`],
  ])('%s', (input, registry, repository, tag, digest) => {
    const ref = parseReference(input);
    expect(ref.registry).toBe(registry);
    expect(ref.repository).toBe(repository);
    expect(ref.tag).toBe(tag);
    expect(ref.digest).toBe(digest);
  });

  it.each([
    ['', 'empty'],
    ['Nginx', 'lower case'],
    ['ghcr.io/Acme/app', '"Acme" must be lower case'],
    ['ghcr.io//app', 'empty path component'],
    ['ghcr.io/app-', 'not a valid path component'],
    ['ghcr.io/app:-bad', 'not a valid tag'],
    [`ghcr.io/app:${'t'.repeat(129)}`, 'not a valid tag'],
    ['ghcr.io/app@sha256:abc', 'not a valid digest'],
    [`ghcr.io/app@sha256:${'A'.repeat(64)}`, 'not a valid digest'],
    [`ghcr.io/${'a'.repeat(250)}`, 'longer than 255'],
    ['bad_host:5000/app', 'not a valid registry host'],
  ])('rejects %j (%s)', (input, problem) => {
    expect(() => parseReference(input)).toThrow(problem);
  });
});

describe('helpers', () => {
  it('splits the tag after the host port, not at it', () => {
    expect(splitReference('localhost:5000/app')).toEqual({ name: 'localhost:5000/app' });
    expect(splitReference('localhost:5000/app:/v1\\..*/')).toEqual({
      name: 'localhost:5000/app',
      tag: '/v1\\..*/',
    });
  });
  it('formats canonical references', () => {
    expect(formatReference(parseReference('nginx:1'))).toBe('docker.io/library/nginx:1');
    expect(parseRepository('docker.io/library/nginx')).toEqual({
      registry: 'docker.io',
      repository: 'library/nginx',
    });
  });
  it('reaches Docker Hub at registry-1.docker.io', () => {
    expect(registryEndpoint('docker.io')).toBe('registry-1.docker.io');
    expect(registryEndpoint('ghcr.io')).toBe('ghcr.io');
  });
  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['[::1]:5000', true],
    ['127.0.0.1.example.com', false],
    ['ghcr.io', false],
    ['10.0.0.1:5000', false],
  ])('loopback %s → %s', (host, expected) => {
    expect(isLoopbackRegistry(host)).toBe(expected);
  });
});
