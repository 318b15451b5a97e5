import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonReport } from '../../src/report/json.ts';
import { runCli } from '../support/cli-runner.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { type BuiltManifest, buildArtifact, buildImage, buildIndex, pushImage } from '../support/images.ts';
import { type Registry, startRegistry } from '../support/registry.ts';
import { optsFor, skopeoDigest, skopeoInspectRaw, skopeoListTags } from '../support/skopeo.ts';
import { TempDirs } from '../support/tmp.ts';

/** The CLI against real registries in every auth mode, checked with skopeo. */
describe('image-sync CLI', () => {
  const dirs = new TempDirs();
  let anon: Registry; // plain HTTP, anonymous: the main source
  let basic: Registry; // htpasswd
  let token: Registry; // bearer tokens: the main destination
  let tls: Registry; // HTTPS with the suite CA, htpasswd
  const images: Record<string, BuiltManifest> = {};

  beforeAll(async () => {
    [anon, basic, token, tls] = await Promise.all([
      startRegistry(),
      startRegistry({ auth: 'htpasswd', users: { carol: 'carol-pw' } }),
      startRegistry({ auth: 'token', users: { dave: 'dave-pw' } }),
      startRegistry({ auth: 'htpasswd', tls: true, users: { erin: 'erin-pw' } }),
    ]);
    const shared = buildImage({ seed: 'shared-base' });
    for (const tag of ['v1', 'v2', 'v3', 'latest']) {
      images[`single:${tag}`] = buildImage({ seed: `single-${tag}`, layers: 2, layerSize: 20_000 });
      await pushImage(anon, 'lib/single', tag, images[`single:${tag}`]!);
    }
    images.docker = buildImage({ seed: 'docker', flavour: 'docker' });
    images.multi = buildIndex({ seed: 'multi' });
    images.list = buildIndex({ seed: 'list', flavour: 'docker' });
    images.artifact = buildArtifact({ seed: 'artifact', artifactType: 'application/vnd.example.thing' });
    images.private = buildImage({ seed: 'private' });
    images.secure = buildImage({ seed: 'secure' });
    void shared;
    await pushImage(anon, 'lib/docker', '1.0', images.docker);
    await pushImage(anon, 'lib/multi', '2.0', images.multi);
    await pushImage(anon, 'lib/list', '3.0', images.list);
    await pushImage(anon, 'lib/artifact', 'a1', images.artifact);
    await pushImage(basic, 'priv/app', '1', images.private);
    await pushImage(tls, 'sec/app', '1', images.secure);
  });
  afterAll(async () => {
    await Promise.all([anon, basic, token, tls].map((r) => r?.stop()));
    await dirs.cleanup();
  });

  async function workspace(files: Record<string, string>): Promise<string> {
    const dir = await dirs.make();
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return dir;
  }
  /** One entry under `auth:`: host, user, password, and any further lines of it. */
  const authEntry = (host: string, username: string, password: string, ...more: string[]) =>
    [
      `  ${host}:`,
      `    username: ${username}`,
      `    password: ${password}`,
      ...more.map((l) => `    ${l}`),
    ].join('\n');
  const tokenAuth = () => `${authEntry(token.host, 'dave', 'dave-pw')}\n`;
  const atDest = (ref: string) => skopeoDigest(`${token.host}/${ref}`, optsFor(token, 'dave'));
  const tagsAtDest = (repo: string) => skopeoListTags(`${token.host}/${repo}`, optsFor(token, 'dave'));
  async function report(dir: string): Promise<JsonReport> {
    return JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as JsonReport;
  }

  it('handles every rule form of image-syncer in one combined file', async () => {
    const a = anon.host;
    const t = token.host;
    const v1 = images['single:v1']!.digest;
    const dir = await workspace({
      'config.yaml': [
        'auth:',
        tokenAuth(),
        'images:',
        `  ${a}/lib/single: ${t}/all/single`,
        `  ${a}/lib/single:v1: ${t}/one/single`,
        `  ${a}/lib/single:v2: ${t}/renamed/single:release`,
        `  ${a}/lib/single:v1,v2: ${t}/list/single`,
        `  ${a}/lib/single:v2,v3: ${t}/pairs/single:a,b`,
        `  ${a}/lib/single:/^v[12]$/: ${t}/regex/single`,
        `  ${a}/lib/single@${v1}: [${t}/pinned/single:pinned, ${t}/bydigest/single]`,
        `  ${a}/lib/docker:1.0: ""`,
        `  ${a}/lib/multi:2.0: [${t}/m1/multi, ${t}/m2/multi]`,
        '',
      ].join('\n'),
    });
    const run = await runCli(
      ['--config', 'config.yaml', '--registry', t, '--namespace', 'defaults', '--report', 'report.json'],
      { cwd: dir },
    );
    expect(run.code, run.stderr).toBe(0);

    expect((await tagsAtDest('all/single')).sort()).toEqual(['latest', 'v1', 'v2', 'v3']);
    for (const tag of ['v1', 'v2', 'v3', 'latest'])
      expect(await atDest(`all/single:${tag}`)).toBe(images[`single:${tag}`]!.digest);
    expect(await tagsAtDest('one/single')).toEqual(['v1']);
    expect(await atDest('renamed/single:release')).toBe(images['single:v2']!.digest);
    expect((await tagsAtDest('list/single')).sort()).toEqual(['v1', 'v2']);
    expect(await atDest('pairs/single:a')).toBe(images['single:v2']!.digest);
    expect(await atDest('pairs/single:b')).toBe(images['single:v3']!.digest);
    expect((await tagsAtDest('regex/single')).sort()).toEqual(['v1', 'v2']);
    expect(await atDest('pinned/single:pinned')).toBe(v1);
    expect(await atDest(`bydigest/single@${v1}`)).toBe(v1);
    expect(await atDest('defaults/docker:1.0')).toBe(images.docker!.digest);
    expect(await atDest('m1/multi:2.0')).toBe(images.multi!.digest);
    expect(await atDest('m2/multi:2.0')).toBe(images.multi!.digest);

    const r = await report(dir);
    expect(r.totals).toMatchObject({ synced: 17, skipped: 0, failed: 0 });
    expect(r.results.map((x) => x.destination)).toContain(`${t}/renamed/single:release`);
    expect(r.results.every((x) => x.source.startsWith(`${a}/lib/`))).toBe(true);
  });

  it('copies every manifest kind byte for byte: Docker schema 2, OCI and Docker indexes, OCI artifacts', async () => {
    const dir = await workspace({
      'config.yaml': [
        'auth:',
        tokenAuth(),
        'images:',
        `  ${anon.host}/lib/docker:1.0: ${token.host}/kinds/docker`,
        `  ${anon.host}/lib/multi:2.0: ${token.host}/kinds/oci-index`,
        `  ${anon.host}/lib/list:3.0: ${token.host}/kinds/docker-list`,
        `  ${anon.host}/lib/artifact:a1: ${token.host}/kinds/artifact`,
        '',
      ].join('\n'),
    });
    const run = await runCli(['--config', 'config.yaml'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(await atDest('kinds/docker:1.0')).toBe(images.docker!.digest);
    expect(await atDest('kinds/oci-index:2.0')).toBe(images.multi!.digest);
    expect(await atDest('kinds/docker-list:3.0')).toBe(images.list!.digest);
    expect(await atDest('kinds/artifact:a1')).toBe(images.artifact!.digest);
    // The index arrived as the exact bytes the builder wrote (3-space indentation), not re-serialised.
    const raw = await skopeoInspectRaw(`${token.host}/kinds/docker-list:3.0`, optsFor(token, 'dave'));
    expect(raw.equals(images.list!.bytes)).toBe(true);
    for (const child of images.list!.children)
      expect(await atDest(`kinds/docker-list@${child.digest}`)).toBe(child.digest);
  });

  it('reads separate auth (JSON) and images (YAML) files: htpasswd source to token destination', async () => {
    const dir = await workspace({
      'auth.json': JSON.stringify({
        [basic.host]: { username: 'carol', password: '${CAROL_PW}' },
        [token.host]: { username: 'dave', password: 'dave-pw' },
      }),
      'images.yaml': `${basic.host}/priv/app:1: ${token.host}/separate/app\n`,
    });
    const run = await runCli(['--auth', 'auth.json', '--images', 'images.yaml'], {
      cwd: dir,
      env: { CAROL_PW: 'carol-pw' },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(await atDest('separate/app:1')).toBe(images.private!.digest);
  });

  it('trusts a private CA given as `ca:`, and skips verification for `insecure: true`', async () => {
    const dir = await workspace({
      'with-ca.yaml': [
        'auth:',
        authEntry(tls.host, 'erin', 'erin-pw', `ca: ${tls.caFile}`),
        tokenAuth(),
        'images:',
        `  ${tls.host}/sec/app:1: ${token.host}/tls/with-ca`,
        '',
      ].join('\n'),
      'insecure.yaml': [
        'auth:',
        authEntry(tls.host, 'erin', 'erin-pw', 'insecure: true'),
        tokenAuth(),
        'images:',
        `  ${tls.host}/sec/app:1: ${token.host}/tls/insecure`,
        '',
      ].join('\n'),
      'untrusted.yaml': [
        'auth:',
        authEntry(tls.host, 'erin', 'erin-pw'),
        tokenAuth(),
        'images:',
        `  ${tls.host}/sec/app:1: ${token.host}/tls/untrusted`,
        '',
      ].join('\n'),
    });
    const withCa = await runCli(['--config', 'with-ca.yaml'], { cwd: dir });
    expect(withCa.code, withCa.stderr).toBe(0);
    expect(await atDest('tls/with-ca:1')).toBe(images.secure!.digest);
    const insecure = await runCli(['--config', 'insecure.yaml'], { cwd: dir });
    expect(insecure.code, insecure.stderr).toBe(0);
    expect(await atDest('tls/insecure:1')).toBe(images.secure!.digest);
    // Without either, the certificate is not trusted and nothing is sent with credentials.
    const untrusted = await runCli(['--config', 'untrusted.yaml', '--retries', '0'], { cwd: dir });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr, untrusted.stderr).toMatch(/certificate/i);
    // Node's advice for its own command line is no use to a user of this tool: the hint says what is.
    expect(untrusted.stderr).not.toContain('--use-system-ca');
    expect(untrusted.stderr).toContain('`ca:`');
  });

  it('fails only the tag whose password is wrong, syncs the rest, and exits 1', async () => {
    const dir = await workspace({
      'config.yaml': [
        'auth:',
        authEntry(basic.host, 'carol', 'not-carols-password'),
        tokenAuth(),
        'images:',
        `  ${basic.host}/priv/app:1: ${token.host}/wrongpw/private`,
        `  ${anon.host}/lib/single:v3: ${token.host}/wrongpw/public`,
        '',
      ].join('\n'),
    });
    const run = await runCli(['--config', 'config.yaml', '--report', 'report.json'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(await atDest('wrongpw/public:v3')).toBe(images['single:v3']!.digest);
    const r = await report(dir);
    const failed = r.results.find((x) => x.status === 'failed');
    expect(failed?.destination).toBe(`${token.host}/wrongpw/private:1`);
    expect(failed?.error).toContain(`authentication failed at ${basic.host} as user "carol" (401)`);
    expect(run.stderr).toContain(
      `wrong or missing credentials: check the username and password or token (from config.yaml: auth["${basic.host}"])`,
    );
    expect(run.stderr).not.toContain('not-carols-password');
    await expect(tagsAtDest('wrongpw/private')).rejects.toThrow();
  });

  it('names the registry whose credentials a token service refused, not the token service', async () => {
    const dir = await workspace({
      'config.yaml': [
        'auth:',
        authEntry(token.host, 'dave', 'not-daves-password'),
        'images:',
        `  ${anon.host}/lib/single:v1: ${token.host}/refused/single`,
        '',
      ].join('\n'),
    });
    const run = await runCli(['--config', 'config.yaml', '--report', 'report.json'], { cwd: dir });
    expect(run.code).toBe(1);
    const r = await report(dir);
    expect(r.results[0]?.error).toContain(`authentication failed at ${token.host} as user "dave" (401)`);
    expect(run.stderr).toContain(`(from config.yaml: auth["${token.host}"])`);
    expect(run.stderr).not.toContain('not-daves-password');
  });

  it('filters platforms into a new index (and says so), or keeps the index byte for byte when nothing is dropped', async () => {
    const dir = await workspace({
      'config.yaml': [
        'auth:',
        tokenAuth(),
        'images:',
        `  ${anon.host}/lib/multi:2.0: ${token.host}/platforms/amd64`,
        '',
      ].join('\n'),
      'all.yaml': [
        'auth:',
        tokenAuth(),
        'images:',
        `  ${anon.host}/lib/multi:2.0: ${token.host}/platforms/all`,
        '',
      ].join('\n'),
    });
    const run = await runCli(
      ['--config', 'config.yaml', '--arch', 'amd64', '--os', 'linux', '--report', 'report.json'],
      {
        cwd: dir,
      },
    );
    expect(run.code, run.stderr).toBe(0);
    const raw = await skopeoInspectRaw(`${token.host}/platforms/amd64:2.0`, optsFor(token, 'dave'));
    const index = JSON.parse(raw.toString()) as { manifests: { platform: { architecture: string } }[] };
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(['amd64']);
    const r = await report(dir);
    expect(r.results[0]?.sourceDigest).toBe(images.multi!.digest);
    expect(r.results[0]?.digest).not.toBe(images.multi!.digest);
    expect(await atDest('platforms/amd64:2.0')).toBe(r.results[0]?.digest);
    expect(run.stderr).toContain(
      `platform filter: ${token.host}/platforms/amd64:2.0 gets a new index ${r.results[0]?.digest}, not the source's ${images.multi!.digest}`,
    );

    const all = await runCli(['--config', 'all.yaml', '--platform', 'linux/amd64,linux/arm64,linux/arm/v7'], {
      cwd: dir,
    });
    expect(all.code, all.stderr).toBe(0);
    expect(await atDest('platforms/all:2.0')).toBe(images.multi!.digest);
  });

  it('puts a filtered index from a pinned source into an untagged destination under its own digest, and finds it there again', async () => {
    const dir = await workspace({
      'config.yaml': [
        'auth:',
        tokenAuth(),
        'images:',
        `  - source: ${anon.host}/lib/multi@${images.multi!.digest}`,
        `    destination: ${token.host}/platforms/pinned`,
        '    platforms: linux/amd64',
        '',
      ].join('\n'),
    });
    const args = ['--config', 'config.yaml', '--report', 'report.json'];
    const first = await runCli(args, { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const r = await report(dir);
    const filtered = r.results[0]?.digest;
    expect(r.results[0]).toMatchObject({ status: 'synced', sourceDigest: images.multi!.digest });
    expect(filtered).not.toBe(images.multi!.digest);
    expect(r.results[0]?.destination).toBe(`${token.host}/platforms/pinned@${filtered}`);
    expect(await atDest(`platforms/pinned@${filtered}`)).toBe(filtered);
    expect(first.stderr).toContain(
      `platform filter: ${token.host}/platforms/pinned gets a new index ${filtered}`,
    );

    const again = await runCli(args, { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect((await report(dir)).results[0]).toMatchObject({ status: 'skipped', digest: filtered });
  });

  describe('a second run', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(anon.host);
    });
    afterAll(() => proxy?.stop());

    it('skips everything with HEAD requests only: no manifest or blob GET at the source', async () => {
      const dir = await workspace({
        'config.yaml': [
          'auth:',
          tokenAuth(),
          'images:',
          `  ${proxy.host}/lib/single:v1,v2: ${token.host}/second/single`,
          `  ${proxy.host}/lib/multi:2.0: ${token.host}/second/multi`,
          `  ${proxy.host}/lib/docker:1.0: ${token.host}/second/docker`,
          '',
        ].join('\n'),
      });
      const first = await runCli(['--config', 'config.yaml', '--report', 'report.json'], { cwd: dir });
      expect(first.code, first.stderr).toBe(0);
      expect((await report(dir)).totals.synced).toBe(4);
      expect(proxy.counts.byMethod.GET ?? 0).toBeGreaterThan(0);

      proxy.reset();
      const second = await runCli(['--config', 'config.yaml', '--report', 'report.json'], { cwd: dir });
      expect(second.code, second.stderr).toBe(0);
      const r = await report(dir);
      expect(r.totals).toMatchObject({ synced: 0, skipped: 4, failed: 0, bytes: 0 });
      // No GET at all, not even the version check (/v2/): a no-op run is HEAD requests only.
      expect(proxy.counts.byMethod.GET ?? 0).toBe(0);
      expect(proxy.counts.byMethod.HEAD ?? 0).toBeGreaterThanOrEqual(4);
      expect(await atDest('second/multi:2.0')).toBe(images.multi!.digest);

      const forced = await runCli(['--config', 'config.yaml', '--force', '--report', 'report.json'], {
        cwd: dir,
      });
      expect(forced.code, forced.stderr).toBe(0);
      expect((await report(dir)).totals.synced).toBe(4);
    });

    it('with a platform filter too: a filtered index, a kept one, an image of one platform and a manifest list', async () => {
      const dir = await workspace({
        'config.yaml': [
          'auth:',
          tokenAuth(),
          'images:',
          `  ${proxy.host}/lib/multi:2.0: ${token.host}/warm-filtered/multi`,
          `  ${proxy.host}/lib/single:v1: ${token.host}/warm-filtered/single`,
          `  ${proxy.host}/lib/list:3.0: ${token.host}/warm-filtered/list`,
          '',
        ].join('\n'),
        'all.yaml': [
          'auth:',
          tokenAuth(),
          'images:',
          `  ${proxy.host}/lib/multi:2.0: ${token.host}/warm-filtered/all`,
          '',
        ].join('\n'),
      });
      const amd64 = ['--config', 'config.yaml', '--platform', 'linux/amd64', '--report', 'report.json'];
      const everything = ['--config', 'all.yaml', '--platform', 'linux/amd64,linux/arm64,linux/arm/v7'];
      for (const args of [amd64, everything]) {
        const first = await runCli(args, { cwd: dir });
        expect(first.code, first.stderr).toBe(0);
      }
      const written = await atDest('warm-filtered/multi:2.0');
      expect(written).not.toBe(images.multi!.digest);
      expect(await atDest('warm-filtered/all:2.0')).toBe(images.multi!.digest);

      proxy.reset();
      const second = await runCli(amd64, { cwd: dir });
      expect(second.code, second.stderr).toBe(0);
      expect((await report(dir)).results).toMatchObject([
        { status: 'skipped', digest: written, sourceDigest: images.multi!.digest },
        { status: 'skipped', digest: images['single:v1']!.digest },
        { status: 'skipped' },
      ]);
      expect(second.stderr).not.toContain('platform filter');
      const all = await runCli(everything, { cwd: dir });
      expect(all.stderr).toContain('0 synced, 1 skipped, 0 failed');
      // Docker's manifest list records nothing of its filtering: it alone is read again (one GET).
      const gets = proxy.log.filter((e) => e.method === 'GET' && e.path !== '/v2/');
      expect(gets.map((e) => e.path)).toEqual([expect.stringMatching(/^\/v2\/lib\/list\/manifests\//)]);
      expect(await atDest('warm-filtered/multi:2.0')).toBe(written);
    });
  });

  it('writes nothing in a dry run, and lists what it would copy', async () => {
    const dir = await workspace({
      'config.yaml': [
        'auth:',
        tokenAuth(),
        'images:',
        `  ${anon.host}/lib/single:v1: ${token.host}/dry/single`,
        '',
      ].join('\n'),
    });
    const run = await runCli(['--config', 'config.yaml', '--dry-run', '--report', 'report.json'], {
      cwd: dir,
    });
    expect(run.code, run.stderr).toBe(0);
    const r = await report(dir);
    expect(r.dryRun).toBe(true);
    expect(r.results).toMatchObject([{ status: 'planned', digest: images['single:v1']!.digest }]);
    await expect(tagsAtDest('dry/single')).rejects.toThrow();
  });

  it('writes the images that succeeded as an images file, and its log to --log', async () => {
    const dir = await workspace({
      'config.yaml': [
        'auth:',
        tokenAuth(),
        'images:',
        `  ${anon.host}/lib/single:v2: ${token.host}/out/single`,
        `  ${anon.host}/lib/single:v3: [${token.host}/out/a, ${token.host}/out/b]`,
        '',
      ].join('\n'),
    });
    // A file that cannot be written is refused before anything is synced.
    const refused = await runCli(['--config', 'config.yaml', '--report', 'missing-dir/report.json'], {
      cwd: dir,
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      'image-sync: flag --report: "missing-dir/report.json" cannot be written (its directory does not exist)',
    );
    await expect(tagsAtDest('out/single')).rejects.toThrow();

    const run = await runCli(
      [
        '--config',
        'config.yaml',
        '--output-success-images',
        'ok.json',
        '--output-images-format',
        'json',
        '--log',
        'run.log',
      ],
      { cwd: dir },
    );
    expect(run.code, run.stderr).toBe(0);
    // image-syncer's images format, every destination kept: fed back, it syncs the same.
    expect(JSON.parse(await readFile(join(dir, 'ok.json'), 'utf8'))).toEqual({
      [`${anon.host}/lib/single:v2`]: `${token.host}/out/single:v2`,
      [`${anon.host}/lib/single:v3`]: [`${token.host}/out/a:v3`, `${token.host}/out/b:v3`],
    });
    expect(await readFile(join(dir, 'run.log'), 'utf8')).toContain(`${token.host}/out/single:v2`);
  });
});
