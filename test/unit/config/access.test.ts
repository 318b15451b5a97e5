import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveAccess } from '../../../src/config/access.ts';
import { authResolver, type LoadedConfig } from '../../../src/config/index.ts';
import { parseRepository } from '../../../src/registry/reference.ts';

function config(auth: Parameters<typeof authResolver>[0], repos: string[]): LoadedConfig {
  return {
    auth: authResolver(auth),
    warnings: [],
    rules: repos.map((r) => ({
      origin: { file: 'f', key: r },
      source: { registry: 'oci:', repository: '/tmp/source-layout' },
      select: { kind: 'all' },
      destinations: [
        { repo: r.startsWith('oci:') ? { registry: 'oci:', repository: r.slice(4) } : parseRepository(r) },
      ],
    })),
  } as LoadedConfig;
}

async function dockerConfig(body: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'docker-config-'));
  await writeFile(join(dir, 'config.json'), JSON.stringify(body));
  return dir;
}

const base = { onSecret: () => {}, warn: () => {} };

describe('resolveAccess', () => {
  it('prefers the auth file, then the Docker config, then the GitHub token for ghcr.io, else anonymous, and says which', async () => {
    const dir = await dockerConfig({
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hub-pw').toString('base64') },
        'quay.io': { auth: Buffer.from('quayuser:docker-quay-pw').toString('base64') },
      },
    });
    const cfg = config(
      [
        {
          registry: 'quay.io',
          auth: { username: 'fileuser', password: 'file-pw', insecure: false, origin: 'auth.yaml: quay.io' },
        },
      ],
      ['quay.io/x/y', 'docker.io/x/y', 'ghcr.io/x/y', 'other.example/x/y'],
    );
    const secrets: string[] = [];
    const access = await resolveAccess(cfg, {
      ...base,
      onSecret: (s) => secrets.push(s),
      env: { DOCKER_CONFIG: dir },
      githubToken: 'ghs_token',
      githubActor: 'octocat',
    });
    expect(access(parseRepository('quay.io/x/y')).credentials).toEqual({
      username: 'fileuser',
      password: 'file-pw',
      from: 'auth.yaml: quay.io',
    });
    expect(access(parseRepository('nginx')).credentials).toEqual({
      username: 'hubuser',
      password: 'hub-pw',
      from: `${join(dir, 'config.json')}: auths["https://index.docker.io/v1/"]`,
    });
    expect(access(parseRepository('ghcr.io/x/y')).credentials).toEqual({
      username: 'octocat',
      password: 'ghs_token',
      from: "the workflow's GitHub token",
    });
    expect(access(parseRepository('other.example/x/y')).credentials).toBeUndefined();
    expect(secrets).toContain('hub-pw');
    expect(secrets).not.toContain('docker-quay-pw');
  });

  it('asks a credential helper, and takes "<token>" as an identity token', async () => {
    const dir = await dockerConfig({
      credHelpers: { 'registry.example': 'ecr-login' },
      credsStore: 'desktop',
    });
    const asked: string[] = [];
    const secrets: string[] = [];
    const access = await resolveAccess(config([], ['registry.example/a/b', 'docker.io/a/b']), {
      ...base,
      onSecret: (s) => secrets.push(s),
      env: { DOCKER_CONFIG: dir },
      runHelper: async (name, server) => {
        asked.push(`${name} ${server}`);
        return name === 'ecr-login'
          ? JSON.stringify({ Username: 'AWS', Secret: 'ecr-pw' })
          : JSON.stringify({ Username: '<token>', Secret: 'identity' });
      },
    });
    expect(access(parseRepository('registry.example/a/b')).credentials).toEqual({
      username: 'AWS',
      password: 'ecr-pw',
      from: 'docker-credential-ecr-login',
    });
    expect(access(parseRepository('docker.io/a/b')).credentials).toEqual({
      token: 'identity',
      from: 'docker-credential-desktop',
    });
    expect(asked.sort()).toEqual(['desktop https://index.docker.io/v1/', 'ecr-login registry.example']);
    // Basic auth sends `user:password`: that is a secret too (the shells mask it and its base64).
    expect(secrets.sort()).toEqual(['AWS:ecr-pw', 'ecr-pw', 'identity']);
  });

  it('keeps going with a warning when a helper fails, and never asks about layout directories', async () => {
    const dir = await dockerConfig({ credsStore: 'broken' });
    const warnings: string[] = [];
    const asked: string[] = [];
    const access = await resolveAccess(config([], ['registry.example/a/b', 'oci:/tmp/layout']), {
      ...base,
      warn: (w) => warnings.push(w),
      env: { DOCKER_CONFIG: dir },
      runHelper: async (_name, server) => {
        asked.push(server);
        throw new Error('no such program');
      },
    });
    expect(access(parseRepository('registry.example/a/b')).credentials).toBeUndefined();
    expect(warnings[0]).toContain('docker-credential-broken gave no credentials for registry.example');
    expect(asked).toEqual(['registry.example']);
  });

  it('takes a real helper\'s "credentials not found" as none, without a warning, as Docker does', async () => {
    // A real program on PATH: the answer comes on stdout with exit code 1.
    const bin = await mkdtemp(join(tmpdir(), 'image-sync-helper-'));
    const helper = join(bin, 'docker-credential-empty');
    await writeFile(helper, '#!/bin/sh\necho "credentials not found in native keychain"\nexit 1\n');
    await chmod(helper, 0o755);
    const dir = await dockerConfig({ credsStore: 'empty' });
    const warnings: string[] = [];
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path ?? ''}`;
    try {
      const access = await resolveAccess(config([], ['registry.example/a/b']), {
        ...base,
        warn: (w) => warnings.push(w),
        env: { DOCKER_CONFIG: dir },
      });
      expect(access(parseRepository('registry.example/a/b')).credentials).toBeUndefined();
      expect(warnings).toEqual([]);
    } finally {
      process.env.PATH = path;
    }
  });

  it('says so when a Docker config auth is not base64 of user:password, without showing it', async () => {
    const dir = await dockerConfig({ auths: { 'registry.example': { auth: 'alice:AlicePw-77q' } } });
    const warnings: string[] = [];
    const access = await resolveAccess(config([], ['registry.example/a/b']), {
      ...base,
      warn: (w) => warnings.push(w),
      env: { DOCKER_CONFIG: dir },
    });
    expect(access(parseRepository('registry.example/a/b')).credentials).toBeUndefined();
    expect(warnings).toEqual([
      `the Docker config's "auth" for registry.example is not base64 of user:password; ignored`,
    ]);
  });
});
