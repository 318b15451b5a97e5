import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BuiltManifest,
  buildArtifact,
  buildImage,
  buildIndex,
  buildLayer,
  MT,
  pushImage,
  sha256,
  writeOciLayout,
} from '../support/images.ts';
import { dispatcherFor, type Registry, type RegistryOptions, startRegistry } from '../support/registry.ts';
import { optsFor, skopeoDigest, skopeoInspectRaw, skopeoListTags } from '../support/skopeo.ts';
import { withTempDir } from '../support/tmp.ts';

// The fixtures the integration tests rely on, checked against the real registry and skopeo.

const USERS = { alice: 'alice-$ecret$1-pw', reader: 'reader-pw' };

const shared = buildLayer('harness-shared', { size: 2048 });
const images: Record<string, BuiltManifest> = {
  oci: buildImage({ seed: 'harness-oci', flavour: 'oci', sharedLayers: [shared] }),
  docker: buildImage({ seed: 'harness-docker', flavour: 'docker', sharedLayers: [shared], layers: 2 }),
  'oci-index': buildIndex({ seed: 'harness-oci-index', flavour: 'oci' }),
  'docker-list': buildIndex({ seed: 'harness-docker-list', flavour: 'docker' }),
};
images.artifact = buildArtifact({ seed: 'harness-artifact', subject: images.oci! });

interface Mode {
  readonly name: string;
  readonly opts: RegistryOptions;
}

const MODES: Mode[] = [
  { name: 'anonymous HTTP', opts: { auth: 'none' } },
  { name: 'htpasswd basic auth', opts: { auth: 'htpasswd', users: USERS } },
  {
    name: 'bearer token auth',
    opts: { auth: 'token', users: USERS, tokenOptions: { permissions: { reader: ['pull'] } } },
  },
  { name: 'HTTPS with the suite CA + htpasswd', opts: { auth: 'htpasswd', tls: true, users: USERS } },
];

describe('fixtures', () => {
  it('builds the documented media types, deterministically', () => {
    expect(images.oci!.mediaType).toBe(MT.ociManifest);
    expect(images.docker!.mediaType).toBe(MT.dockerManifest);
    expect(images['oci-index']!.mediaType).toBe(MT.ociIndex);
    expect(images['docker-list']!.mediaType).toBe(MT.dockerList);
    expect(images['oci-index']!.children.map((c) => c.platform?.architecture)).toEqual([
      'amd64',
      'arm64',
      'arm',
    ]);
    expect(images['docker-list']!.children.every((c) => c.mediaType === MT.dockerManifest)).toBe(true);
    expect(buildIndex({ seed: 'harness-oci-index', flavour: 'oci' }).digest).toBe(
      images['oci-index']!.digest,
    );
    expect(buildIndex({ seed: 'other', flavour: 'oci' }).digest).not.toBe(images['oci-index']!.digest);
    for (const m of Object.values(images)) expect(sha256(m.bytes)).toBe(m.digest);
    // Non-canonical bytes: re-serialising the index changes its digest.
    expect(sha256(JSON.stringify(JSON.parse(images['oci-index']!.bytes.toString())))).not.toBe(
      images['oci-index']!.digest,
    );
    for (const index of [images['oci-index']!, images['docker-list']!]) {
      const parsed = JSON.parse(index.bytes.toString()) as { manifests: { digest: string; size: number }[] };
      expect(parsed.manifests).toEqual(
        index.children.map((c) => expect.objectContaining({ digest: c.digest, size: c.bytes.length })),
      );
    }
    const art = JSON.parse(images.artifact!.bytes.toString()) as {
      config: { mediaType: string };
      subject: unknown;
    };
    expect(art.config.mediaType).toBe(MT.ociEmpty);
    expect(art.subject).toMatchObject({ digest: images.oci!.digest, size: images.oci!.bytes.length });
    const big = buildLayer('big', { size: 3 * 1024 * 1024 });
    expect(big.size).toBeGreaterThan(3 * 1024 * 1024);
  });
});

describe('OCI layout', () => {
  it('writes a layout skopeo reads back byte for byte', async () => {
    await withTempDir(async (dir) => {
      await writeOciLayout(dir, [
        { ref: 'index', built: images['oci-index']! },
        { ref: 'oci', built: images.oci! },
        { ref: 'docker', built: images.docker! },
      ]);
      await writeOciLayout(dir, [{ ref: 'artifact', built: images.artifact! }]);
      const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: unknown[] };
      expect(index.manifests).toHaveLength(4);
      expect(await skopeoDigest(`oci:${dir}:index`)).toBe(images['oci-index']!.digest);
      expect(await skopeoDigest(`oci:${dir}:oci`)).toBe(images.oci!.digest);
      // skopeo 1.9's oci: transport only considers index.json entries with OCI media types.
      await expect(skopeoDigest(`oci:${dir}:docker`)).rejects.toThrow(/no descriptor found/);
      expect(await skopeoDigest(`oci:${dir}:artifact`)).toBe(images.artifact!.digest);
    });
  });
});

describe.each(MODES)('registry harness: $name', ({ opts }) => {
  let reg: Registry;

  beforeAll(async () => {
    reg = await startRegistry(opts);
    for (const [name, built] of Object.entries(images)) await pushImage(reg, `harness/${name}`, 'v1', built);
    // By digest only (no tag).
    await pushImage(reg, 'harness/untagged', null, images.oci!);
  });

  afterAll(async () => {
    await reg?.stop();
  });

  const user = opts.auth === 'none' ? undefined : 'alice';

  it.each(Object.keys(images))('skopeo sees the exact bytes of %s', async (name) => {
    const built = images[name]!;
    const o = optsFor(reg, user);
    expect(await skopeoDigest(`${reg.host}/harness/${name}:v1`, o)).toBe(built.digest);
    for (const child of built.children) {
      expect(await skopeoDigest(`${reg.host}/harness/${name}@${child.digest}`, o)).toBe(child.digest);
    }
  });

  it('pushes by digest and lists tags', async () => {
    const o = optsFor(reg, user);
    const raw = await skopeoInspectRaw(`${reg.host}/harness/untagged@${images.oci!.digest}`, o);
    expect(raw.equals(images.oci!.bytes)).toBe(true);
    // distribution 2.8 answers 404 NAME_UNKNOWN for the tags of a repository that has no tag at all.
    await expect(skopeoListTags(`${reg.host}/harness/untagged`, o)).rejects.toThrow(/404/);
    expect(await skopeoListTags(`${reg.host}/harness/oci`, o)).toEqual(['v1']);
  });

  it.runIf(opts.auth === 'none')('pushes a multi-MB layer', async () => {
    const big = buildImage({ seed: 'harness-big', layerSize: 4 * 1024 * 1024 });
    await pushImage(reg, 'harness/big', 'v1', big);
    expect(await skopeoDigest(`${reg.host}/harness/big:v1`, optsFor(reg))).toBe(big.digest);
  });

  it.runIf(opts.auth !== 'none')('refuses a wrong password', async () => {
    const ref = `${reg.host}/harness/oci:v1`;
    await expect(skopeoDigest(ref, optsFor(reg, { username: 'alice', password: 'wrong' }))).rejects.toThrow(
      /unauthorized|authentication required|401/i,
    );
    const dispatcher = dispatcherFor(reg);
    try {
      const auth = `Basic ${Buffer.from('alice:wrong').toString('base64')}`;
      if (opts.auth === 'htpasswd') {
        const res = await request(`${reg.url}/v2/`, { headers: { authorization: auth }, dispatcher });
        await res.body.dump();
        expect(res.statusCode).toBe(401);
      } else {
        const issuer = reg.tokenIssuer!;
        const url = `${issuer.realm}?service=${issuer.service}&scope=repository:harness/oci:pull`;
        const res = await request(url, { headers: { authorization: auth } });
        await res.body.dump();
        expect(res.statusCode).toBe(401);
        const ok = await request(url, {
          headers: { authorization: `Basic ${Buffer.from(`alice:${USERS.alice}`).toString('base64')}` },
        });
        expect(ok.statusCode).toBe(200);
        expect((await ok.body.json()) as object).toHaveProperty('token');
      }
    } finally {
      await dispatcher.close();
    }
  });

  it.runIf(opts.auth === 'token')('token issuer: anonymous pull, read-only user, counters', async () => {
    const issuer = reg.tokenIssuer!;
    issuer.reset();
    // Anonymous pull works.
    expect(await skopeoDigest(`${reg.host}/harness/docker:v1`, optsFor(reg))).toBe(images.docker!.digest);
    expect(issuer.tokenRequests).toBeGreaterThan(0);
    expect(issuer.lastScopes).toContain('repository:harness/docker:pull');
    expect(issuer.requests.at(-1)?.user).toBeNull();
    // The read-only user can pull but not push.
    const reader = { username: 'reader', password: USERS.reader };
    expect(await skopeoDigest(`${reg.host}/harness/oci:v1`, optsFor(reg, reader))).toBe(images.oci!.digest);
    await expect(pushImage(reg, 'harness/by-reader', 'v1', images.oci!, reader)).rejects.toThrow(/401|403/);
    // Anonymous push is refused too.
    await expect(pushImage(reg, 'harness/anon', 'v1', images.oci!, null)).rejects.toThrow(/401|403/);
  });

  it.runIf(opts.auth === 'token')('token issuer: OAuth2 password and refresh_token grants', async () => {
    const issuer = reg.tokenIssuer!;
    const post = async (form: Record<string, string>) => {
      const res = await request(issuer.realm, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    };
    const common = {
      service: issuer.service,
      scope: 'repository:harness/oci:pull',
      client_id: 'image-sync-test',
    };
    const bad = await post({ ...common, grant_type: 'password', username: 'alice', password: 'nope' });
    expect(bad.status).toBe(401);
    const good = await post({ ...common, grant_type: 'password', username: 'alice', password: USERS.alice });
    expect(good.status).toBe(200);
    expect(typeof good.body.refresh_token).toBe('string');
    const refreshed = await post({
      ...common,
      grant_type: 'refresh_token',
      refresh_token: good.body.refresh_token as string,
    });
    expect(refreshed.status).toBe(200);
    // The token works against the registry.
    const res = await request(`${reg.url}/v2/harness/oci/manifests/v1`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${refreshed.body.access_token as string}`, accept: MT.ociManifest },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(res.headers['docker-content-digest']).toBe(images.oci!.digest);
  });
});
