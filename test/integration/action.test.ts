import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRepository } from '../../src/registry/reference.ts';
import { shardOf } from '../../src/sync/plan.ts';
import { runAction } from '../support/action-runner.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { type BuiltManifest, buildImage, buildIndex, pushImage } from '../support/images.ts';
import { type Registry, startRegistry } from '../support/registry.ts';
import { optsFor, skopeoDigest, skopeoListTags } from '../support/skopeo.ts';
import { TempDirs } from '../support/tmp.ts';

/** The bundled action (dist/index.js), started as the runner starts it, against real registries. */
describe('the GitHub Action', () => {
  const dirs = new TempDirs();
  let source: Registry; // htpasswd
  let dest: Registry; // bearer tokens
  const img: Record<string, BuiltManifest> = {};
  const REPOS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];

  beforeAll(async () => {
    [source, dest] = await Promise.all([
      startRegistry({ auth: 'htpasswd', users: { src: 'src-pw-123' } }),
      startRegistry({ auth: 'token', users: { dst: 'dst-pw-456' } }),
    ]);
    img.app = buildImage({ seed: 'action-app', layers: 2, layerSize: 50_000 });
    img.multi = buildIndex({ seed: 'action-multi' });
    await pushImage(source, 'acme/app', '1.0', img.app);
    await pushImage(source, 'acme/multi', '2.0', img.multi);
    for (const name of REPOS) {
      img[name] = buildImage({ seed: `shard-${name}` });
      await pushImage(source, `fleet/${name}`, '1', img[name]!);
    }
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), dest?.stop()]);
    await dirs.cleanup();
  });

  const authYaml = (sourceHost = source.host) =>
    [
      `${sourceHost}:`,
      '  username: src',
      '  password: ${SRC_PW}',
      `${dest.host}:`,
      '  username: dst',
      '  password: ${DST_PW}',
      '',
    ].join('\n');
  const env = { SRC_PW: 'src-pw-123', DST_PW: 'dst-pw-456' };
  async function workspace(files: Record<string, string>) {
    const dir = await dirs.make();
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return dir;
  }
  const atDest = (ref: string) => skopeoDigest(`${dest.host}/${ref}`, optsFor(dest, 'dst'));

  it('reports synced and failed tags in outputs, summary, annotations and the JSON report', async () => {
    const ws = await workspace({ 'auth.yaml': authYaml() });
    const run = await runAction(
      {
        'auth-file': 'auth.yaml',
        images: [
          `${source.host}/acme/app:1.0: ${dest.host}/out/app`,
          `${source.host}/acme/missing:9.9: ${dest.host}/out/missing`,
        ].join('\n'),
        retries: '0',
      },
      { workspace: ws, env },
    );
    expect(run.code).toBe(1);
    expect(run.outputs).toMatchObject({ synced: '1', skipped: '0', failed: '1' });
    expect(Number(run.outputs.bytes)).toBeGreaterThan(100_000);
    expect(await atDest('out/app:1.0')).toBe(img.app!.digest);

    expect(run.summary).toMatch(/^## image-sync: 1 synced, 0 skipped, 1 failed/);
    const failedAt = run.summary.indexOf('### Failed');
    expect(failedAt).toBeGreaterThan(0);
    expect(run.summary.indexOf('### Synced')).toBeGreaterThan(failedAt);
    expect(run.summary).toContain(`${source.host}/acme/missing:9.9`);
    expect(run.summary).toContain('check the repository, tag and digest names');
    expect(run.summary).toContain(`\`${img.app!.digest.slice(7, 19)}\``);

    expect(run.stdout).toMatch(
      /::error title=image-sync%3A tag failed::.*acme\/missing:9\.9 → .*: .*was not found/,
    );
    expect(run.stdout).toContain('::error::1 of 2 tags failed');
    expect(run.stdout).toContain(`::group::${dest.host}/out/app`);
    expect(run.stdout).toContain('::add-mask::src-pw-123');
    expect(run.stdout).toContain('::add-mask::dst-pw-456');

    expect(run.report?.totals).toMatchObject({ synced: 1, failed: 1 });
    expect(run.report?.results.find((r) => r.status === 'failed')?.destination).toBe(
      `${dest.host}/out/missing:9.9`,
    );
  });

  it('does not fail the step when fail-on-error is false', async () => {
    const ws = await workspace({ 'auth.yaml': authYaml() });
    const run = await runAction(
      {
        'auth-file': 'auth.yaml',
        images: `${source.host}/acme/missing:1: ${dest.host}/out/missing2`,
        'fail-on-error': 'false',
        retries: '0',
      },
      { workspace: ws, env },
    );
    expect(run.code).toBe(0);
    expect(run.outputs.failed).toBe('1');
    expect(run.stdout).toContain('::warning::1 of 1 tags failed (fail-on-error is off)');
  });

  it('reuses the Docker config left by docker/login-action: auths and a credential helper', async () => {
    const ws = await workspace({});
    const dockerDir = join(ws, '.docker');
    const bin = join(ws, 'bin');
    await mkdir(dockerDir);
    await mkdir(bin);
    await writeFile(
      join(dockerDir, 'config.json'),
      JSON.stringify({
        auths: { [source.host]: { auth: Buffer.from('src:src-pw-123').toString('base64') } },
        credHelpers: { [dest.host]: 'fake' },
      }),
    );
    // A credential helper is a program on PATH that answers `get` with JSON on stdout.
    await writeFile(
      join(bin, 'docker-credential-fake'),
      `#!/bin/sh\nread server\necho "{\\"ServerURL\\":\\"$server\\",\\"Username\\":\\"dst\\",\\"Secret\\":\\"dst-pw-456\\"}"\n`,
    );
    await chmod(join(bin, 'docker-credential-fake'), 0o755);
    const run = await runAction(
      { images: `${source.host}/acme/app:1.0: ${dest.host}/docker-config/app` },
      { workspace: ws, env: { DOCKER_CONFIG: dockerDir, PATH: `${bin}:${process.env.PATH}` } },
    );
    expect(run.code, run.everything).toBe(0);
    expect(await atDest('docker-config/app:1.0')).toBe(img.app!.digest);
    expect(run.stdout).toContain('::add-mask::dst-pw-456');
    expect(run.stdout).toContain('::add-mask::src-pw-123');
  });

  it('resolves and compares in a dry run but writes nothing; the summary is the plan', async () => {
    const ws = await workspace({ 'auth.yaml': authYaml() });
    const run = await runAction(
      {
        'auth-file': 'auth.yaml',
        images: `${source.host}/acme/multi:2.0: ${dest.host}/dry/multi`,
        'dry-run': 'true',
      },
      { workspace: ws, env },
    );
    expect(run.code, run.everything).toBe(0);
    expect(run.summary).toContain('dry run: 1 to copy, 0 already in place');
    expect(run.summary).toContain('Nothing was written');
    expect(run.summary).toContain(`${dest.host}/dry/multi:2.0`);
    expect(run.outputs).toMatchObject({ synced: '1', bytes: '0' });
    await expect(skopeoListTags(`${dest.host}/dry/multi`, optsFor(dest, 'dst'))).rejects.toThrow();
  });

  it('splits a mirror over a matrix: two shards cover every repository once', async () => {
    // A repository's shard hashes its whole name, the registry's random port included: with six
    // names, one run in 32 would put them all in one shard. A name is lengthened until both have one.
    const targets = REPOS.map((r) => ({ from: r, to: `sharded/${r}` }));
    const shardOfTarget = (to: string) => shardOf(parseRepository(`${dest.host}/${to}`), 2);
    while (new Set(targets.map((t) => shardOfTarget(t.to))).size < 2) targets[0]!.to += '-x';
    const ws = await workspace({
      'auth.yaml': authYaml(),
      'images.yaml': targets.map((t) => `${source.host}/fleet/${t.from}: ${dest.host}/${t.to}`).join('\n'),
    });
    const seen: string[][] = [];
    for (const shard of ['1/2', '2/2']) {
      const run = await runAction(
        { 'auth-file': 'auth.yaml', 'images-file': 'images.yaml', shard },
        { workspace: ws, env },
      );
      expect(run.code, run.everything).toBe(0);
      seen.push((run.report?.results ?? []).map((r) => r.destination));
    }
    const [one, two] = seen as [string[], string[]];
    expect(one.length).toBeGreaterThan(0);
    expect(two.length).toBeGreaterThan(0);
    expect(one.filter((d) => two.includes(d))).toEqual([]);
    expect([...one, ...two].sort()).toEqual(targets.map((t) => `${dest.host}/${t.to}:1`).sort());
    for (const t of targets) expect(await atDest(`${t.to}:1`)).toBe(img[t.from]!.digest);
  });

  it('fails a broken config with exit code 2 and a message naming the file and key, before any request', async () => {
    const proxy = await startFaultProxy(source.host);
    try {
      const ws = await workspace({
        'sync.yaml': `images:\n  ${proxy.host}/acme/app:1.0: ${dest.host}/Upper/app\n`,
      });
      const run = await runAction({ config: 'sync.yaml' }, { workspace: ws });
      expect(run.code).toBe(2);
      expect(run.stdout).toMatch(
        /::error::sync\.yaml: images\[".*acme\/app:1\.0"\]: .*"Upper" must be lower case/,
      );
      expect(run.stdout).not.toMatch(/\n\s+at /);
      expect(proxy.counts.requests).toBe(0);
      // The job summary says so too, where a reader of the run looks first.
      expect(run.summary).toMatch(/^## image-sync: configuration error\n/);
      expect(run.summary).toContain('Nothing was copied');
      expect(run.summary).toMatch(
        /- sync\.yaml: images\\\[".*acme\/app:1\.0"\\\]: .*"Upper" must be lower case/,
      );
    } finally {
      await proxy.stop();
    }
  });

  it('names a bad input and exits 2', async () => {
    const run = await runAction({ images: 'a/b: c/d', concurrency: 'lots' });
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('input "concurrency"');
    expect(run.summary).toContain('input "concurrency"');
    const quiet = await runAction({ images: 'a/b: c/d', concurrency: 'lots', summary: 'false' });
    expect(quiet.code).toBe(2);
    expect(quiet.summary).toBe('');
  });

  describe('cancelled', () => {
    let slow: FaultProxy;
    beforeAll(async () => {
      slow = await startFaultProxy(source.host, { stall: { match: /\/blobs\/sha256:/, ms: 2500 } });
    });
    afterAll(() => slow?.stop());

    it('on SIGINT starts nothing new, lets the running copy finish, and still writes summary and outputs', async () => {
      const ws = await workspace({ 'auth.yaml': authYaml(slow.host) });
      let pid = 0;
      const running = runAction(
        {
          'auth-file': 'auth.yaml',
          images: REPOS.slice(0, 3)
            .map((r) => `${slow.host}/fleet/${r}:1: ${dest.host}/cancel/${r}`)
            .join('\n'),
          concurrency: '1',
        },
        { workspace: ws, env, onSpawn: (p) => (pid = p) },
      );
      // The signal goes once the first copy is under way (its blob held by the proxy), however long
      // the action took to start on a busy machine.
      for (let waited = 0; slow.counts.stalled === 0 && waited < 30_000; waited += 20)
        await new Promise((r) => setTimeout(r, 20));
      expect(slow.counts.stalled).toBeGreaterThan(0);
      process.kill(pid, 'SIGINT');
      const run = await running;
      expect(run.stdout).toContain('SIGINT received');
      expect(run.outputs.synced).toBe('1');
      expect(run.outputs.failed).toBe('2');
      expect(run.summary).toContain('cancelled before it started');
      expect(run.report?.results.filter((r) => r.status === 'synced')).toHaveLength(1);
    });
  });
});
