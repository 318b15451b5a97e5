import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonReport } from '../../src/report/json.ts';
import { type ActionRun, runAction } from '../support/action-runner.ts';
import { runCli } from '../support/cli-runner.ts';
import { type FaultProxy, type SeenRequest, startFaultProxy } from '../support/fault-proxy.ts';
import { buildImage, pushImage } from '../support/images.ts';
import { type Registry, startRegistry } from '../support/registry.ts';
import { optsFor, skopeoDigest } from '../support/skopeo.ts';
import { TempDirs } from '../support/tmp.ts';

// Issue 6: a mirror's config holds credentials for production registries; it must never show or
// forward a secret. Distinctive passwords and tokens (several with `$`) go through every path —
// success, a wrong password, registry errors that echo the request's headers, config errors, the
// --log file, the report, the job summary and outputs — and every byte written is searched for
// them, plain, base64, base64url, URL-encoded, and as base64 of `user:password`.

// User names whose `user:` is not a multiple of 3 bytes long, so base64(user:password) does not end
// with base64(password).
const SRC_USER = 'mirror-bot';
const SRC_PW = 'Src$ecret-pw$1-7f3e9a';
const DOCKER_USER = 'ginny';
const DOCKER_PW = 'D0cker$cfg-pw-9b1d42';
const DST_USER = 'robot$mirror+ci';
const DST_PW = 'Dst-$tok3n$-c41b8e';
const WRONG_PW = 'Wr0ng$pw$-55aa17';
const GH_TOKEN = 'ghs_Gh$tokenSecret0123456789abcdef';
/** A registry token: header.claims.signature, base64url. */
const JWT = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{16,}/;

interface Secret {
  readonly name: string;
  readonly value: string;
  readonly user?: string;
}

/** Every form a secret could leak in. */
function forms(s: Secret): [string, string][] {
  const b64 = (t: string) => Buffer.from(t).toString('base64');
  const out: [string, string][] = [
    [s.name, s.value],
    [`base64(${s.name})`, b64(s.value)],
    [`base64url(${s.name})`, Buffer.from(s.value).toString('base64url')],
    [`urlencoded(${s.name})`, encodeURIComponent(s.value)],
  ];
  if (s.user !== undefined) out.push([`base64(${s.user}:${s.name})`, b64(`${s.user}:${s.value}`)]);
  return out;
}

/** The leaks in `text`: which secret, in which form, in which channel. */
function leaks(channel: string, text: string, secrets: readonly Secret[]): string[] {
  const found: string[] = [];
  for (const s of secrets)
    for (const [form, value] of forms(s)) if (text.includes(value)) found.push(`${channel}: ${form}`);
  if (JWT.test(text)) found.push(`${channel}: a registry token (${JWT.exec(text)?.[0].slice(0, 20)}…)`);
  return found;
}

const dirs = new TempDirs();
const proxies: FaultProxy[] = [];
let src: Registry;
let dst: Registry;
let srcEcho: FaultProxy;
let dstEcho: FaultProxy;
/** In front of `dst`, but its challenge names `tokenEcho` as the token service. */
let guarded: FaultProxy;
/** In front of `dst`'s token service, echoing the headers of every token request into an error. */
let tokenEcho: FaultProxy;
let refreshToken: string;
let secrets: Secret[];

/** A registry that puts the request's headers into its error message, as some do. */
function echoHeaders(match: (r: SeenRequest) => boolean) {
  return (r: SeenRequest) =>
    match(r)
      ? {
          status: 400,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            errors: [
              {
                code: 'UNSUPPORTED',
                message: `rejected; you sent Authorization: ${r.headers.authorization ?? 'nothing'}, user-agent ${r.headers['user-agent']}`,
              },
            ],
          }),
        }
      : undefined;
}

beforeAll(async () => {
  [src, dst] = await Promise.all([
    startRegistry({ auth: 'htpasswd', users: { [SRC_USER]: SRC_PW, [DOCKER_USER]: DOCKER_PW } }),
    startRegistry({ auth: 'token', users: { [DST_USER]: DST_PW }, tokenOptions: { anonymousPull: false } }),
  ]);
  srcEcho = await startFaultProxy(src.host, {
    intercept: echoHeaders((r) => r.method === 'GET' && r.path.includes('/blobs/')),
  });
  dstEcho = await startFaultProxy(dst.host, {
    intercept: echoHeaders((r) => r.method === 'PUT' && r.path.includes('/manifests/')),
  });
  const issuer = dst.tokenIssuer!;
  tokenEcho = await startFaultProxy(new URL(issuer.realm).host, {
    intercept: echoHeaders((r) => r.path === '/token'),
  });
  guarded = await startFaultProxy(dst.host, {
    intercept: (r) =>
      r.path === '/v2/'
        ? {
            status: 401,
            headers: {
              'www-authenticate': `Bearer realm="http://${tokenEcho.host}/token",service="${issuer.service}"`,
            },
          }
        : undefined,
  });
  proxies.push(srcEcho, dstEcho, tokenEcho, guarded);
  const creds = { username: SRC_USER, password: SRC_PW };
  await pushImage(src, 'secret/app', 'v1', buildImage({ seed: 'secrets-app' }), creds);
  await pushImage(src, 'secret/docker', 'v1', buildImage({ seed: 'secrets-docker' }), creds);
  await pushImage(src, 'secret/echo', 'v1', buildImage({ seed: 'secrets-echo' }), creds);
  await pushImage(src, 'secret/other', 'v1', buildImage({ seed: 'secrets-other' }), creds);

  // An identity (refresh) token, as `docker login` stores for registries that hand them out.
  const res = await request(issuer.realm, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      username: DST_USER,
      password: DST_PW,
      service: issuer.service,
      client_id: 'secrets-test',
      scope: 'repository:idt/app:pull,push',
    }).toString(),
  });
  const body = (await res.body.json()) as { refresh_token?: string };
  expect(res.statusCode).toBe(200);
  refreshToken = body.refresh_token!;
  expect(refreshToken.length).toBeGreaterThan(20);
  secrets = [
    { name: 'SRC_PW', value: SRC_PW, user: SRC_USER },
    { name: 'DOCKER_PW', value: DOCKER_PW, user: DOCKER_USER },
    { name: 'DST_PW', value: DST_PW, user: DST_USER },
    { name: 'WRONG_PW', value: WRONG_PW, user: SRC_USER },
    { name: 'WRONG_PW(dst)', value: WRONG_PW, user: DST_USER },
    { name: 'REFRESH_TOKEN', value: refreshToken, user: DST_USER },
    { name: 'GH_TOKEN', value: GH_TOKEN, user: 'octocat' },
  ];
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await Promise.all([src?.stop(), dst?.stop()]);
  await dirs.cleanup();
});

/**
 * The config of a full run: a password from `${VAR}`, a literal one with `$` (and a `$` user name),
 * an identity token, Docker-config credentials, and two registries that echo the request headers
 * into their errors. `ns` keeps each run's destinations apart.
 */
async function workspace(ns: string, password = SRC_PW, dstPassword = DST_PW) {
  const dir = await dirs.make();
  const srcPort = src.host.split(':')[1];
  const lines = [
    'auth:',
    `  ${src.host}:`,
    `    username: ${SRC_USER}`,
    '    password: ${SRC_PASSWORD}',
    `  ${srcEcho.host}:`,
    `    username: ${SRC_USER}`,
    '    password: ${SRC_PASSWORD}',
    `  ${dst.host}:`,
    `    username: '${DST_USER}'`,
    `    password: '${dstPassword}'`,
    `  ${dst.host}/idt-${ns}:`,
    `    username: '${DST_USER}'`,
    '    token: ${IDT_TOKEN}',
    `  ${dstEcho.host}:`,
    `    username: '${DST_USER}'`,
    `    password: '${dstPassword}'`,
    `  ${guarded.host}:`,
    `    username: '${DST_USER}'`,
    `    password: '${dstPassword}'`,
    'images:',
    `  ${src.host}/secret/app:v1:`,
    `    - ${dst.host}/${ns}/app`,
    `    - ${dst.host}/idt-${ns}/app`,
    // No auth entry for this name of the source: the Docker config has its credentials.
    `  localhost:${srcPort}/secret/docker:v1: ${dst.host}/${ns}/docker`,
    `  ${srcEcho.host}/secret/echo:v1: ${dst.host}/${ns}/echo`,
    `  ${src.host}/secret/other:v1:`,
    `    - ${dstEcho.host}/${ns}/other`,
    `    - ${guarded.host}/${ns}/guarded`,
  ];
  await writeFile(join(dir, 'sync.yaml'), `${lines.join('\n')}\n`);
  const docker = join(dir, 'docker');
  await mkdir(docker);
  await writeFile(
    join(docker, 'config.json'),
    JSON.stringify({
      auths: {
        [`localhost:${srcPort}`]: { auth: Buffer.from(`${DOCKER_USER}:${DOCKER_PW}`).toString('base64') },
      },
    }),
  );
  const env = {
    HOME: dir,
    DOCKER_CONFIG: docker,
    SRC_PASSWORD: password,
    IDT_TOKEN: refreshToken,
  };
  return { dir, env };
}

async function readIfThere(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

/** Everything the CLI wrote: stdout, stderr, the --log file, the report, the success images. */
async function cliRun(ns: string, password?: string, dstPassword?: string) {
  const { dir, env } = await workspace(ns, password, dstPassword);
  const run = await runCli(
    [
      '--config',
      'sync.yaml',
      '--log',
      'sync.log',
      '--report',
      'report.json',
      '--output-success-images',
      'ok.yaml',
    ],
    { cwd: dir, env },
  );
  const log = await readIfThere(join(dir, 'sync.log'));
  const reportText = await readIfThere(join(dir, 'report.json'));
  const channels: Record<string, string> = {
    stdout: run.stdout,
    stderr: run.stderr,
    '--log file': log,
    '--report file': reportText,
    '--output-success-images file': await readIfThere(join(dir, 'ok.yaml')),
  };
  return {
    ...run,
    log,
    report: reportText === '' ? undefined : (JSON.parse(reportText) as JsonReport),
    channels,
  };
}

/** Everything the action wrote; stdout without its `::add-mask::` lines, which are returned apart. */
async function actionRun(ns: string, password?: string, dstPassword?: string) {
  const { dir, env } = await workspace(ns, password, dstPassword);
  const run = await runAction({ config: 'sync.yaml', 'github-token': GH_TOKEN }, { workspace: dir, env });
  return { ...run, ...split(run) };
}

function split(run: ActionRun) {
  const lines = run.stdout.split('\n');
  const masks = lines.filter((l) => l.startsWith('::add-mask::')).map((l) => l.slice('::add-mask::'.length));
  const channels: Record<string, string> = {
    'stdout (not ::add-mask::)': lines.filter((l) => !l.startsWith('::add-mask::')).join('\n'),
    stderr: run.stderr,
    'job summary': run.summary,
    outputs: JSON.stringify(run.outputs),
    'report file': JSON.stringify(run.report ?? null),
  };
  return { masks, channels };
}

/** The registry tokens the echoing registries received: each whole, and its signature (the secret part). */
function tokensSeen(): Secret[] {
  const tokens = new Set(
    proxies
      .flatMap((p) => p.log)
      .map((e) => e.authorizationValue ?? '')
      .filter((v) => v.startsWith('Bearer '))
      .map((v) => v.slice('Bearer '.length)),
  );
  return [...tokens].flatMap((t, i) => [
    { name: `token#${i}`, value: t },
    { name: `token#${i} signature`, value: t.slice(t.lastIndexOf('.') + 1) },
  ]);
}

function expectNoLeaks(channels: Record<string, string>) {
  const all = [...secrets, ...tokensSeen()];
  const found = Object.entries(channels).flatMap(([name, text]) => leaks(name, text, all));
  expect(found).toEqual([]);
}

describe('secrets never leave the process', () => {
  it('CLI: a run with password, $-password, identity token and Docker config credentials, and registries echoing headers', async () => {
    const run = await cliRun('cli');

    expect(run.code, run.stderr).toBe(1);
    const status = Object.fromEntries(run.report?.results.map((r) => [r.destination, r.status]) ?? []);
    expect(status).toEqual({
      [`${dst.host}/cli/app:v1`]: 'synced',
      [`${dst.host}/idt-cli/app:v1`]: 'synced',
      [`${dst.host}/cli/docker:v1`]: 'synced',
      [`${dst.host}/cli/echo:v1`]: 'failed',
      [`${dstEcho.host}/cli/other:v1`]: 'failed',
      [`${guarded.host}/cli/guarded:v1`]: 'failed',
    });
    expect(await skopeoDigest(`${dst.host}/idt-cli/app:v1`, optsFor(dst, DST_USER))).toBe(
      buildImage({ seed: 'secrets-app' }).digest,
    );
    // The echoing registries did receive credentials, and their words are in the report …
    expect(srcEcho.log.some((e) => e.fault === 'intercepted' && e.authorization)).toBe(true);
    expect(dstEcho.log.some((e) => e.fault === 'intercepted' && e.authorization)).toBe(true);
    const echoed = run.report?.results.filter((r) => r.status === 'failed').map((r) => r.error ?? '') ?? [];
    expect(echoed).toHaveLength(3);
    expect(tokenEcho.log.some((e) => e.fault === 'intercepted' && e.authorization)).toBe(true);
    expect(echoed.find((e) => e.includes('/token returned 400'))).toContain(
      'you sent Authorization: Basic ***, user-agent',
    );
    for (const e of echoed) expect(e).toMatch(/you sent Authorization: (Basic|Bearer) /);
    // … with the credentials taken out.
    expect(echoed.join('\n')).toContain('you sent Authorization: Basic ***, user-agent');
    expect(run.log).toMatch(/you sent Authorization: Basic \*\*\*/);
    expect(tokensSeen().length).toBeGreaterThan(0);
    // … and the identity token was exchanged, not sent as a password.
    expect(dst.tokenIssuer?.requests.some((r) => r.grantType === 'refresh_token' && r.status === 200)).toBe(
      true,
    );
    // … but no secret, in any form.
    expectNoLeaks(run.channels);
  });

  it('action: the same run; every secret is masked first, and no other line or file holds one', async () => {
    const run = await actionRun('action');

    expect(run.code, run.everything).toBe(1);
    expect(run.outputs).toMatchObject({ synced: '3', failed: '3' });
    // Masked with the runner, in each form it could travel in.
    for (const [form, value] of [
      ['SRC_PW', SRC_PW],
      ['base64(SRC_PW)', Buffer.from(SRC_PW).toString('base64')],
      ['base64(user:SRC_PW)', Buffer.from(`${SRC_USER}:${SRC_PW}`).toString('base64')],
      ['DST_PW', DST_PW],
      ['base64(user:DST_PW)', Buffer.from(`${DST_USER}:${DST_PW}`).toString('base64')],
      ['REFRESH_TOKEN', refreshToken],
      ['DOCKER_PW', DOCKER_PW],
      ['base64(user:DOCKER_PW)', Buffer.from(`${DOCKER_USER}:${DOCKER_PW}`).toString('base64')],
      ['GH_TOKEN', GH_TOKEN],
    ])
      expect(run.masks, `${form} is masked`).toContain(value);
    expect(
      run.masks.some((m) => JWT.test(m)),
      'registry tokens are masked as they arrive',
    ).toBe(true);
    // The placeholder is not a secret; what it expands to is.
    expect(run.masks).not.toContain('${SRC_PASSWORD}');
    expect(run.summary).toMatch(/you sent Authorization: Basic /);
    expectNoLeaks(run.channels);
  });

  it('wrong passwords: the failures say so, and show neither the wrong nor the right password', async () => {
    const cli = await cliRun('wrong-cli', WRONG_PW, WRONG_PW);
    expect(cli.code, cli.stderr).toBe(1);
    const failed = cli.report?.results.filter((r) => r.status === 'failed') ?? [];
    expect(failed.length).toBeGreaterThanOrEqual(4);
    expect(cli.log).toMatch(/authentication failed at 127\.0\.0\.1:\d+ as user "[^"]+" \(401\)/);
    expectNoLeaks(cli.channels);

    const action = await actionRun('wrong-action', WRONG_PW, WRONG_PW);
    expect(action.code, action.everything).toBe(1);
    expect(action.summary).toMatch(/authentication failed/);
    expect(action.masks).toContain(WRONG_PW);
    expectNoLeaks(action.channels);
  });

  it('config errors quote no secret: broken YAML and JSON around a password, unknown keys holding one', async () => {
    const dir = await dirs.make();
    const files: Record<string, string> = {
      // An unterminated quote right after the password.
      'broken.yaml': `auth:\n  ${src.host}:\n    username: ${SRC_USER}\n    password: "${SRC_PW}\n    token: '${refreshToken}\nimages:\n  a: b\n`,
      'broken.json': `{"auth": {"${src.host}": {"username": "${DST_USER}", "password": "${DST_PW}" "${DOCKER_PW}"}}}`,
      // Valid syntax, but wrong: a misspelt key holding a secret, a password with no user, a bad rule.
      'wrong.yaml': [
        'auth:',
        `  ${src.host}:`,
        `    passwort: '${DST_PW}'`,
        `    password: '${SRC_PW}'`,
        `  ${dst.host}:`,
        `    username: '${DST_USER}'`,
        `    password: '${GH_TOKEN}'`,
        `    token: '${refreshToken}'`,
        'images:',
        `  ${src.host}/Secret/App:v1: ${dst.host}/x`,
        '',
      ].join('\n'),
    };
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    const outputs: Record<string, string> = {};
    for (const name of Object.keys(files)) {
      const cli = await runCli(['--config', name], { cwd: dir, env: { HOME: dir } });
      expect(cli.code, cli.stderr).toBe(2);
      expect(cli.stderr).toContain(`image-sync: ${name}: `);
      outputs[`CLI ${name} stdout`] = cli.stdout;
      outputs[`CLI ${name} stderr`] = cli.stderr;
      const action = await runAction({ config: name }, { workspace: dir, env: { HOME: dir } });
      expect(action.code, action.everything).toBe(2);
      expect(action.stdout).toContain(`::error::${name}: `);
      for (const [channel, text] of Object.entries(split(action).channels))
        outputs[`action ${name} ${channel}`] = text;
    }
    expect(outputs['CLI broken.yaml stderr']).toMatch(/broken\.yaml: not valid YAML at line \d+, column \d+/);
    expect(outputs['CLI broken.json stderr']).toMatch(/broken\.json: not valid JSON at line 1, column \d+/);
    expect(outputs['CLI wrong.yaml stderr']).toContain(
      `wrong.yaml: auth["${src.host}"]: has a password but no username`,
    );
    expect(outputs['CLI wrong.yaml stderr']).toContain(
      `wrong.yaml: auth["${dst.host}"]: give a password or a token, not both`,
    );
    expectNoLeaks(outputs);
  });
});
