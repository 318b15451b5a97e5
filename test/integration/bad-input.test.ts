import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonReport } from '../../src/report/json.ts';
import { runAction } from '../support/action-runner.ts';
import { runCli } from '../support/cli-runner.ts';
import {
  type CannedResponse,
  type FaultProxy,
  type SeenRequest,
  startFaultProxy,
} from '../support/fault-proxy.ts';
import { buildImage, MT, pushImage } from '../support/images.ts';
import { dispatcherFor, type Registry, startRegistry, tagsAt } from '../support/registry.ts';
import { optsFor, skopeoDigest } from '../support/skopeo.ts';
import { TempDirs } from '../support/tmp.ts';

// Issue 6, bad input: every broken config gets one clear message naming the file, the key and the
// problem; config errors exit 2 before any request is made, and nothing is written. The registries
// named in the configs sit behind pass-through proxies that count every request they see.

const dirs = new TempDirs();
let source: Registry;
let destination: Registry;
let srcProxy: FaultProxy;
let dstProxy: FaultProxy;

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  [srcProxy, dstProxy] = await Promise.all([startFaultProxy(source.host), startFaultProxy(destination.host)]);
});

afterAll(async () => {
  await Promise.all([srcProxy?.stop(), dstProxy?.stop()]);
  await Promise.all([source?.stop(), destination?.stop()]);
  await dirs.cleanup();
});

/** One expected message: where (`file` or `file: key`) and what is wrong. */
type Problem = readonly [at: string, problem: string | RegExp];

interface Case {
  readonly name: string;
  /** Files in the workspace; `SRC` and `DST` are replaced by the proxied registries' hosts. */
  readonly files?: Readonly<Record<string, string>>;
  /** CLI arguments (default `--config sync.yaml`), or the action's inputs. */
  readonly args?: readonly string[];
  readonly inputs?: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
  /** Every message, in order; no other line may be printed. */
  readonly expect: readonly Problem[];
}

const CONFIG = ['--config', 'sync.yaml'];
const yaml = (...lines: string[]) => ({ 'sync.yaml': `${lines.join('\n')}\n` });
const rule = (source: string, destination: string) => yaml('images:', `  ${source}: ${destination}`);
const VALID = 'SRC/team/app:v1: DST/mirror/app';
const at = (key: string) => `sync.yaml: ${key}`;
const img = (key: string) => at(`images["${key}"]`);

const CASES: readonly Case[] = [
  // ---- files that do not parse, or are not there -----------------------------------------------
  {
    name: 'broken YAML (an unclosed flow sequence)',
    files: yaml('images:', '  SRC/team/app:v1: [DST/mirror/app', '  SRC/team/b:v1: DST/b'),
    expect: [['sync.yaml', /^not valid YAML at line \d+, column \d+: /]],
  },
  {
    name: 'broken JSON (a trailing comma)',
    files: { 'sync.json': '{\n  "images": {\n    "SRC/team/app:v1": "DST/mirror/app",\n  }\n}\n' },
    args: ['--config', 'sync.json'],
    expect: [['sync.json', /^not valid JSON at line 4, column \d+/]],
  },
  { name: 'an empty config file', files: { 'sync.yaml': '' }, expect: [['sync.yaml', 'is empty']] },
  {
    name: 'a config that is a list, not a mapping',
    files: yaml('- SRC/team/app:v1', '- DST/mirror/app'),
    expect: [['sync.yaml', 'must be a mapping with auth: and images: sections']],
  },
  {
    name: 'a config file that does not exist',
    args: ['--config', 'missing.yaml'],
    expect: [['flag --config: missing.yaml', /^file not found \(.*\/missing\.yaml\)$/]],
  },
  {
    name: 'an auth file that does not exist',
    files: { 'images.yaml': `${VALID}\n` },
    args: ['--auth', 'no-auth.yaml', '--images', 'images.yaml'],
    expect: [['flag --auth: no-auth.yaml', /^file not found \(.*\/no-auth\.yaml\)$/]],
  },
  {
    name: 'a combined file without images:',
    files: yaml('auth:', '  SRC:', '    username: u', '    password: p'),
    expect: [
      [
        'sync.yaml',
        'has no images: section, and no images file or inline images were given (a file that is the source → destination map itself is an images file)',
      ],
    ],
  },
  {
    name: 'an images file holding a combined config',
    files: { 'images.yaml': `images:\n  ${VALID}\n` },
    args: ['--images', 'images.yaml'],
    expect: [
      [
        'images.yaml',
        /^has a top-level "images:" section, but the images file is the source → destination map itself/,
      ],
    ],
  },
  // ---- images of the wrong shape ----------------------------------------------------------------
  {
    name: 'images: a string',
    files: yaml('images: SRC/team/app:v1'),
    expect: [[at('images'), 'must be a mapping of source → destination, or a list of rules']],
  },
  {
    name: 'images: empty',
    files: yaml('images: {}'),
    expect: [[at('images'), 'no image rules (the images are empty)']],
  },
  {
    name: 'a destination that is a number',
    files: rule('SRC/team/app:v1', '42'),
    expect: [
      [
        img('SRC/team/app:v1'),
        'the destination must be a string or a list of strings ("" for the default registry)',
      ],
    ],
  },
  {
    name: 'an empty list of destinations',
    files: rule('SRC/team/app:v1', '[]'),
    expect: [[img('SRC/team/app:v1'), 'must not be empty']],
  },
  {
    name: 'no destination at all',
    files: yaml('images:', '  SRC/team/app:v1:'),
    expect: [[img('SRC/team/app:v1'), 'no destination (write "" for the default registry)']],
  },
  {
    name: 'a rule object without a destination',
    files: yaml('images:', '  - source: SRC/team/app:v1'),
    expect: [[at('images[0]'), 'needs a "destination" or "destinations"']],
  },
  // ---- references --------------------------------------------------------------------------------
  {
    name: 'an empty source',
    files: rule('""', 'DST/mirror/app'),
    expect: [[img(''), 'source "": the source is empty']],
  },
  {
    name: 'an upper-case repository in the source',
    files: rule('SRC/Team/App:v1', 'DST/mirror/app'),
    expect: [[img('SRC/Team/App:v1'), 'source "SRC/Team/App:v1": "Team" must be lower case']],
  },
  {
    name: 'an upper-case repository in the destination',
    files: rule('SRC/team/app:v1', 'DST/Mirror/app'),
    expect: [[img('SRC/team/app:v1'), 'destination "DST/Mirror/app": "Mirror" must be lower case']],
  },
  {
    name: 'an invalid path component',
    files: rule('SRC/team/-app:v1', 'DST/mirror/app'),
    expect: [[img('SRC/team/-app:v1'), 'source "SRC/team/-app:v1": "-app" is not a valid path component']],
  },
  {
    name: 'an invalid tag',
    files: rule('"SRC/team/app:v1!"', 'DST/mirror/app'),
    expect: [[img('SRC/team/app:v1!'), 'source "SRC/team/app:v1!": "v1!" is not a valid tag']],
  },
  {
    name: 'a digest that is too short',
    files: rule('SRC/team/app@sha256:abc123', 'DST/mirror/app'),
    expect: [
      [
        img('SRC/team/app@sha256:abc123'),
        'source "SRC/team/app@sha256:abc123": "sha256:abc123" is not a valid digest',
      ],
    ],
  },
  {
    name: 'a digest in upper-case hex',
    files: rule(`SRC/team/app@sha256:${'AB'.repeat(32)}`, 'DST/mirror/app'),
    expect: [
      [
        img(`SRC/team/app@sha256:${'AB'.repeat(32)}`),
        `source "SRC/team/app@sha256:${'AB'.repeat(32)}": "sha256:${'AB'.repeat(32)}" is not a valid digest`,
      ],
    ],
  },
  {
    name: 'a destination digest that is not the source’s',
    files: rule(`SRC/team/app@sha256:${'a'.repeat(64)}`, `DST/mirror/app@sha256:${'b'.repeat(64)}`),
    expect: [
      [
        img(`SRC/team/app@sha256:${'a'.repeat(64)}`),
        `destination "DST/mirror/app@sha256:${'b'.repeat(64)}": a destination can name a digest only when it is the source’s own`,
      ],
    ],
  },
  {
    name: 'the destination is the source itself',
    files: rule('SRC/team/app:v1', 'SRC/team/app'),
    expect: [
      [
        img('SRC/team/app:v1'),
        'destination "SRC/team/app": is the source repository itself (rename the tags, or pick another repository)',
      ],
    ],
  },
  // ---- tags, renames and regexes -----------------------------------------------------------------
  {
    name: 'a rename whose tag count does not match',
    files: rule('SRC/team/app:v1,v2', 'DST/mirror/app:stable'),
    expect: [
      [
        img('SRC/team/app:v1,v2'),
        'destination "DST/mirror/app:stable": renames 2 source tags to 1; the counts must match',
      ],
    ],
  },
  {
    name: 'a tag in the destination of an all-tags rule',
    files: rule('SRC/team/app', 'DST/mirror/app:latest'),
    expect: [
      [
        img('SRC/team/app'),
        'destination "DST/mirror/app:latest": cannot rename tags here: the source takes all its tags (remove ":latest")',
      ],
    ],
  },
  {
    name: 'a tag in the destination of a regex rule',
    files: rule('SRC/team/app:/^v1/', 'DST/mirror/app:v1'),
    expect: [
      [
        img('SRC/team/app:/^v1/'),
        /^destination "DST\/mirror\/app:v1": cannot rename tags here: the source takes the tags its regex matches/,
      ],
    ],
  },
  {
    name: 'an invalid regex',
    files: rule('SRC/team/app:/v(1/', 'DST/mirror/app'),
    expect: [[img('SRC/team/app:/v(1/'), /^source "SRC\/team\/app:\/v\(1\/": invalid regex \/v\(1\/: .+/]],
  },
  {
    name: 'an invalid semver range in a rule object',
    files: yaml(
      'images:',
      '  - source: SRC/team/app',
      '    destination: DST/mirror/app',
      '    tags: { semver: "latest-ish" }',
    ),
    expect: [
      [
        at('images[0].tags.semver'),
        '"latest-ish" is not a semver range (e.g. ">=1.25 <2", "^3.1", "~1.2.0")',
      ],
    ],
  },
  {
    name: 'a misspelt key in a rule object',
    files: yaml(
      'images:',
      '  - source: SRC/team/app:v1',
      '    destination: DST/mirror/app',
      '    platform: linux/amd64',
    ),
    expect: [
      [
        at('images[0]'),
        /^unknown key "platform" \(allowed: source, destination, destinations, tags, platforms, referrers\)$/,
      ],
    ],
  },
  {
    name: 'a malformed platform in a rule object',
    files: yaml(
      'images:',
      '  - source: SRC/team/app:v1',
      '    destination: DST/mirror/app',
      '    platforms: [linux, linux/AMD64]',
    ),
    expect: [
      [at('images[0].platforms'), '"linux" is not a platform (os/architecture[/variant], e.g. linux/amd64)'],
      [
        at('images[0].platforms'),
        '"linux/AMD64": "AMD64" is not a valid platform part (lower-case letters, digits, ".", "_", "-")',
      ],
    ],
  },
  // ---- ${VAR}, defaults, auth --------------------------------------------------------------------
  {
    name: 'an unset ${VAR} in a password',
    files: yaml(
      'auth:',
      '  SRC:',
      '    username: robot',
      '    password: ${MIRROR_PASSWORD}',
      'images:',
      `  ${VALID}`,
    ),
    expect: [[at('auth["SRC"].password'), 'environment variable MIRROR_PASSWORD is not set']],
  },
  {
    name: 'an unset ${VAR} in a destination',
    files: rule('SRC/team/app:v1', '${MIRROR_HOST}/mirror/app'),
    env: { MIRROR: 'set, but not the one used' },
    expect: [
      [
        img('SRC/team/app:v1'),
        'destination "${MIRROR_HOST}/mirror/app": environment variable MIRROR_HOST is not set',
      ],
    ],
  },
  {
    name: 'an empty destination with no default registry',
    files: rule('SRC/team/app:v1', '""'),
    expect: [
      [
        img('SRC/team/app:v1'),
        'destination "": an empty destination needs a default registry (--registry, DEFAULT_REGISTRY or the "registry" input)',
      ],
    ],
  },
  {
    name: 'an auth key with a scheme',
    files: yaml(
      'auth:',
      '  https://SRC:',
      '    username: robot',
      '    password: pw',
      'images:',
      `  ${VALID}`,
    ),
    expect: [
      [at('auth["https://SRC"]'), 'write the registry without a scheme ("quay.io", not "https://quay.io")'],
    ],
  },
  {
    name: 'a password without a user name, and a password and a token',
    files: yaml(
      'auth:',
      '  SRC:',
      '    password: pw',
      '  DST:',
      '    username: robot',
      '    password: pw',
      '    token: tk',
      'images:',
      `  ${VALID}`,
    ),
    expect: [
      [at('auth["SRC"]'), 'has a password but no username'],
      [at('auth["DST"]'), 'give a password or a token, not both'],
    ],
  },
  {
    name: 'insecure: neither true nor false',
    files: yaml('auth:', '  SRC:', '    insecure: maybe', 'images:', `  ${VALID}`),
    expect: [[at('auth["SRC"].insecure'), 'must be true or false, not "maybe"']],
  },
  {
    name: 'a CA file that does not exist',
    files: yaml('auth:', '  SRC:', '    ca: certs/missing-ca.pem', 'images:', `  ${VALID}`),
    expect: [[at('auth["SRC"].ca'), /^CA file ".*\/certs\/missing-ca\.pem" does not exist$/]],
  },
  {
    name: 'several problems at once, each on its own line',
    files: yaml(
      'images:',
      '  SRC/team/App:v1: DST/mirror/app',
      '  SRC/team/app:v1,v2: DST/mirror/app:x',
      `  ${VALID}`,
      '  SRC/team/app:/[/: DST/mirror/re',
    ),
    expect: [
      [img('SRC/team/App:v1'), 'source "SRC/team/App:v1": "App" must be lower case'],
      [
        img('SRC/team/app:v1,v2'),
        'destination "DST/mirror/app:x": renames 2 source tags to 1; the counts must match',
      ],
      [img('SRC/team/app:/[/'), /^source "SRC\/team\/app:\/\[\/": invalid regex/],
    ],
  },
  // ---- flags and inputs --------------------------------------------------------------------------
  {
    name: 'non-numeric --proc',
    files: yaml('images:', `  ${VALID}`),
    args: [...CONFIG, '--proc', 'many'],
    expect: [['flag --proc', 'must be a whole number of at least 1, not "many"']],
  },
  {
    name: 'negative --retries',
    files: yaml('images:', `  ${VALID}`),
    args: [...CONFIG, '--retries=-1'],
    expect: [['flag --retries', 'must be a whole number of at least 0, not "-1"']],
  },
  {
    name: 'a malformed --shard',
    files: yaml('images:', `  ${VALID}`),
    args: [...CONFIG, '--shard', '4/3'],
    expect: [['flag --shard', '"4/3": the shard must be from 1 to 3 (shards are counted from 1: 1/3 … 3/3)']],
  },
  {
    name: 'a malformed --platform',
    files: yaml('images:', `  ${VALID}`),
    args: [...CONFIG, '--platform', 'linux'],
    expect: [['flag --platform', '"linux" is not a platform (os/architecture[/variant], e.g. linux/amd64)']],
  },
  {
    name: 'a --log file that cannot be opened',
    files: yaml('images:', `  ${VALID}`),
    args: [...CONFIG, '--log', 'nowhere/run.log'],
    expect: [['flag --log', '"nowhere/run.log" cannot be opened for writing (ENOENT)']],
  },
  {
    name: 'an unknown flag',
    files: yaml('images:', `  ${VALID}`),
    args: [...CONFIG, '--concurrency', '3'],
    expect: [['command line', "unknown option '--concurrency'"]],
  },
  {
    name: 'action: non-numeric concurrency',
    files: yaml('images:', `  ${VALID}`),
    inputs: { config: 'sync.yaml', concurrency: 'lots' },
    expect: [['input "concurrency"', 'must be a whole number of at least 1, not "lots"']],
  },
  {
    name: 'action: zero concurrency',
    files: yaml('images:', `  ${VALID}`),
    inputs: { config: 'sync.yaml', concurrency: '0' },
    expect: [['input "concurrency"', 'must be a whole number of at least 1, not "0"']],
  },
  {
    name: 'action: a malformed shard',
    files: yaml('images:', `  ${VALID}`),
    inputs: { config: 'sync.yaml', shard: 'half' },
    expect: [['input "shard"', 'must be i/n, e.g. 1/3 (shard i of n, counted from 1), not "half"']],
  },
  {
    name: 'action: a malformed platform',
    files: yaml('images:', `  ${VALID}`),
    inputs: { config: 'sync.yaml', platforms: 'linux/amd64,linux/ARM64' },
    expect: [
      [
        'input "platforms"',
        '"linux/ARM64": "ARM64" is not a valid platform part (lower-case letters, digits, ".", "_", "-")',
      ],
    ],
  },
  {
    name: 'action: a boolean input that is not one',
    files: yaml('images:', `  ${VALID}`),
    inputs: { config: 'sync.yaml', 'dry-run': 'perhaps' },
    expect: [['input "dry-run"', 'must be true or false (or yes/no, 1/0), not "perhaps"']],
  },
  {
    name: 'action: no rules given at all',
    inputs: {},
    expect: [
      [
        'configuration',
        'no image rules: give a config file with an images: section, an images file, or inline images',
      ],
    ],
  },
  {
    name: 'action: broken inline images',
    inputs: { images: 'SRC/team/app:v1: [DST/mirror/app' },
    expect: [['input "images"', /^not valid YAML at line 1, column \d+: /]],
  },
  {
    name: 'action: a config file that does not exist',
    inputs: { config: 'nowhere/sync.yaml' },
    expect: [['input "config": nowhere/sync.yaml', /^file not found \(.*\/nowhere\/sync\.yaml\)$/]],
  },
];

const fill = (text: string) => text.replaceAll('SRC', srcProxy.host).replaceAll('DST', dstProxy.host);

/** The messages printed, one per line, without the CLI's `image-sync: ` prefix. */
async function messagesOf(c: Case): Promise<{ code: number; lines: string[]; all: string }> {
  const dir = await dirs.make();
  for (const [name, text] of Object.entries(c.files ?? {})) await writeFile(join(dir, name), fill(text));
  if (c.inputs !== undefined) {
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, fill(v)]));
    const run = await runAction(inputs, { workspace: dir, env: { HOME: dir, ...c.env } });
    // setFailed: one `::error::` command, its lines joined with %0A.
    const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error'));
    expect(errors, run.everything).toHaveLength(1);
    const text = errors[0]!.replace(/^::error[^:]*::/, '');
    const lines = text.split('%0A').map((l) => l.replaceAll('%0D', '\r').replaceAll('%25', '%'));
    return { code: run.code, lines, all: run.everything };
  }
  const run = await runCli(c.args?.map(fill) ?? CONFIG, { cwd: dir, env: { HOME: dir, ...c.env } });
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  for (const l of lines) expect(l, run.stderr).toMatch(/^image-sync: /);
  return { code: run.code, lines: lines.map((l) => l.slice('image-sync: '.length)), all: run.stderr };
}

describe('bad input: config errors exit 2 before any request, with one message per problem', () => {
  it('has at least 30 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.concurrent.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { code, lines, all } = await messagesOf(c);
    expect(code, all).toBe(2);
    // Before any request: the proxied registries the configs name have seen nothing (so far, from any case).
    expect(srcProxy.counts.requests + dstProxy.counts.requests).toBe(0);
    expect(lines, all).toHaveLength(c.expect.length);
    c.expect.forEach(([where, problem], i) => {
      const line = lines[i] ?? '';
      const prefix = `${fill(where)}: `;
      expect(line.startsWith(prefix), `"${line}" starts with "${prefix}"`).toBe(true);
      const rest = line.slice(prefix.length);
      if (typeof problem === 'string') expect(rest).toBe(fill(problem));
      else expect(rest).toMatch(new RegExp(fill(problem.source), problem.flags));
    });
  });

  // Vitest runs this after the concurrent cases above (same file, declared later).
  it('sent nothing to any registry, and wrote nothing', async () => {
    expect(srcProxy.counts.requests).toBe(0);
    expect(dstProxy.counts.requests).toBe(0);
    expect(await catalog(destination)).toEqual([]);
  });
});

async function catalog(registry: Registry): Promise<string[]> {
  const dispatcher = dispatcherFor(registry);
  try {
    const res = await request(`${registry.url}/v2/_catalog`, { dispatcher });
    const body = (await res.body.json()) as { repositories?: string[] };
    expect(res.statusCode).toBe(200);
    return body.repositories ?? [];
  } finally {
    await dispatcher.close();
  }
}

describe('bad input from a registry at run time: a failed tag with a clear reason, not a config error', () => {
  it('huge, chunked-huge, non-JSON, schema 1, unknown and malformed manifests, and one that lies about its digest', async () => {
    const good = buildImage({ seed: 'bad-input-good' });
    const real = buildImage({ seed: 'bad-input-real' });
    await pushImage(source, 'weird/good', 'v1', good);
    const huge = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        annotations: { pad: 'x'.repeat(5 << 20) },
      }),
    );
    const served: Record<string, { body: Buffer; type: string; digest?: string; chunked?: boolean }> = {
      huge: { body: huge, type: MT.ociManifest },
      'huge-chunked': { body: huge, type: MT.ociManifest, chunked: true },
      'not-json': { body: Buffer.from('<html><body>502 Bad Gateway</body></html>'), type: MT.ociManifest },
      schema1: {
        body: Buffer.from(
          JSON.stringify({ schemaVersion: 1, name: 'weird/schema1', tag: 'v1', fsLayers: [] }),
        ),
        type: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
      },
      unknown: {
        body: Buffer.from(
          JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example.thing+json' }),
        ),
        type: 'application/vnd.example.thing+json',
      },
      'bad-descriptor': {
        body: Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MT.ociManifest,
            config: { mediaType: MT.ociConfig, digest: 'sha256:nothex', size: 2 },
            layers: [],
          }),
        ),
        type: MT.ociManifest,
      },
      // Says it is `real`, serves other bytes.
      liar: { body: good.bytes, type: MT.ociManifest, digest: real.digest },
    };
    const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    const weird = await startFaultProxy(source.host, {
      intercept: (r: SeenRequest): CannedResponse | undefined => {
        const m = /^\/v2\/weird\/([^/]+)\/manifests\/[^/]+$/.exec(r.path);
        const it = m === null ? undefined : served[m[1]!];
        if (it === undefined || (r.method !== 'GET' && r.method !== 'HEAD')) return undefined;
        const headers = {
          'content-type': it.type,
          'docker-content-digest': it.digest ?? sha(it.body),
          ...(it.chunked !== true && { 'content-length': String(it.body.length) }),
        };
        return { status: 200, headers, body: it.body, chunked: it.chunked === true };
      },
    });
    try {
      const dir = await dirs.make();
      const names = ['good', ...Object.keys(served)];
      await writeFile(
        join(dir, 'sync.yaml'),
        [
          'images:',
          ...names.map((n) => `  ${weird.host}/weird/${n}:v1: ${destination.host}/weird/${n}`),
          '',
        ].join('\n'),
      );
      const run = await runCli(['--config', 'sync.yaml', '--report', 'report.json'], {
        cwd: dir,
        env: { HOME: dir },
      });
      expect(run.code, run.stderr).toBe(1);
      const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as JsonReport;
      const reason = (n: string) =>
        report.results.find((r) => r.destination === `${destination.host}/weird/${n}:v1`);
      expect(reason('good')?.status).toBe('synced');
      expect(await skopeoDigest(`${destination.host}/weird/good:v1`, optsFor(destination))).toBe(good.digest);
      const expected: Record<string, RegExp> = {
        huge: /^manifest weird\/huge:sha256:[0-9a-f]{64} is 5242\d{3} bytes, over the 4 MiB limit for manifests$/,
        'huge-chunked':
          /^manifest weird\/huge-chunked:sha256:[0-9a-f]{64} is over the 4 MiB limit for manifests$/,
        'not-json': /^manifest sha256:[0-9a-f]{64} is not valid JSON$/,
        schema1: /unsupported legacy manifest \(Docker schema 1\)/,
        unknown: /has an unknown media type "application\/vnd\.example\.thing\+json"/,
        'bad-descriptor': /^manifest sha256:[0-9a-f]{64} has an invalid descriptor at config$/,
        liar: new RegExp(`^digest mismatch: expected ${real.digest}, got ${good.digest}$`),
      };
      for (const [name, pattern] of Object.entries(expected)) {
        const r = reason(name);
        expect(r?.status, name).toBe('failed');
        expect(r?.error, name).toMatch(pattern);
        expect(run.stderr).toContain(`weird/${name}:v1: ${r?.error}`);
        // Nothing was written for it, and the registry was not asked again and again.
        expect(await tagsAt(destination, `weird/${name}`), name).toEqual([]);
        const gets = weird.log.filter(
          (e) => e.method === 'GET' && e.path.startsWith(`/v2/weird/${name}/manifests/`),
        );
        expect(gets.length, `${name}: manifest GETs`).toBe(1);
      }
      expect(run.stderr).toContain('1 synced, 0 skipped, 7 failed');
    } finally {
      await weird.stop();
    }
  });

  it('unknown keys in image-syncer’s formats are warnings that name them; the run goes on', async () => {
    const image = buildImage({ seed: 'bad-input-warn' });
    await pushImage(source, 'warn/app', 'v1', image);
    const dir = await dirs.make();
    await writeFile(
      join(dir, 'sync.yaml'),
      [
        'mirrors: {}',
        'auth:',
        `  ${source.host}:`,
        '    insecure: false',
        '    region: eu-west-1',
        '    email: not-a-key',
        'images:',
        `  ${source.host}/warn/app:v1: ${destination.host}/warn/app`,
        '',
      ].join('\n'),
    );
    const run = await runCli(['--config', 'sync.yaml'], { cwd: dir, env: { HOME: dir } });
    expect(run.code, run.stderr).toBe(0);
    const warnings = run.stderr.split('\n').filter((l) => / warning: /.test(l));
    expect(warnings.map((l) => l.replace(/^\S+ warning: /, ''))).toEqual([
      'sync.yaml: unknown top-level key "mirrors" ignored (known: auth, images)',
      `sync.yaml: auth["${source.host}"]: unknown keys "region", "email" ignored (known: username, password, token, insecure, ca)`,
    ]);
    expect(run.stderr).not.toContain('not-a-key');
    expect(await skopeoDigest(`${destination.host}/warn/app:v1`, optsFor(destination))).toBe(image.digest);
  });

  it('a near miss of a missing key stops the run before any request, and says which key was meant', async () => {
    const dir = await dirs.make();
    await writeFile(
      join(dir, 'sync.yaml'),
      [
        'auths:',
        `  ${source.host}:`,
        '    username: ann',
        '    passwrd: near-miss-secret',
        'images:',
        `  ${source.host}/warn/app:v1: ${destination.host}/warn/never`,
        '',
      ].join('\n'),
    );
    const run = await runCli(['--config', 'sync.yaml', '--log', 'sync.log'], {
      cwd: dir,
      env: { HOME: dir },
    });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/sync\.yaml: unknown key "auths": did you mean "auth"\?$/),
    ]);
    expect(run.stderr).not.toContain('near-miss-secret');
    // A run kept only by its log says there why it stopped.
    const log = await readFile(join(dir, 'sync.log'), 'utf8');
    expect(log.trim().split('\n')).toEqual([
      expect.stringMatching(/^\S+Z image-sync: sync\.yaml: unknown key "auths": did you mean "auth"\?$/),
    ]);
    expect(log).not.toContain('near-miss-secret');
    expect(await tagsAt(destination, 'warn/never')).toEqual([]);
  });
});
