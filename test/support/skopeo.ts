import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from './registry.ts';
import { withTempDir } from './tmp.ts';

/** How skopeo reaches one registry. */
export interface SkopeoOpts {
  /** false for plain-HTTP registries (skopeo then falls back from https to http). Default true. */
  readonly tlsVerify?: boolean;
  /** A directory with `ca.crt` (the suite CA). */
  readonly certDir?: string;
  /** `user:password`; anonymous when undefined. */
  readonly creds?: string;
  readonly timeoutMs?: number;
}

export interface SkopeoResult {
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Options for talking to `registry` as `user` (a name from `registry.users`, or explicit creds), or anonymously. */
export function optsFor(
  registry: Pick<Registry, 'tls' | 'certDir' | 'users'>,
  user?: string | { readonly username: string; readonly password: string },
): SkopeoOpts {
  let creds: string | undefined;
  if (typeof user === 'string') {
    const password = registry.users[user];
    if (password === undefined) throw new Error(`registry has no user ${user}`);
    creds = `${user}:${password}`;
  } else if (user !== undefined) {
    creds = `${user.username}:${user.password}`;
  }
  return {
    tlsVerify: registry.tls,
    ...(registry.tls && registry.certDir !== undefined ? { certDir: registry.certDir } : {}),
    ...(creds === undefined ? {} : { creds }),
  };
}

/** skopeo's flags for one side (`prefix` '' for inspect/list-tags, 'src-' / 'dest-' for copy). */
export function skopeoFlags(opts: SkopeoOpts, prefix: '' | 'src-' | 'dest-' = ''): string[] {
  const args = [`--${prefix}tls-verify=${opts.tlsVerify === false ? 'false' : 'true'}`];
  if (opts.certDir !== undefined) args.push(`--${prefix}cert-dir`, opts.certDir);
  if (opts.creds !== undefined) args.push(`--${prefix}creds`, opts.creds);
  else args.push(`--${prefix}no-creds`);
  return args;
}

/**
 * Runs `fn` with an environment in which skopeo touches no global state: a fresh temp HOME with an
 * empty registries.conf, an auth file path that does not exist, and an accept-anything policy.
 */
async function isolated<T>(fn: (env: NodeJS.ProcessEnv, policy: string) => Promise<T>): Promise<T> {
  return withTempDir(async (dir) => {
    const conf = join(dir, 'registries.conf');
    await writeFile(conf, 'unqualified-search-registries = []\n');
    const policy = join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      XDG_RUNTIME_DIR: dir,
      XDG_CONFIG_HOME: join(dir, '.config'),
      TMPDIR: dir,
      REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
      CONTAINERS_REGISTRIES_CONF: conf,
      REGISTRIES_CONFIG_PATH: conf,
      DOCKER_CONFIG: join(dir, '.docker'),
    };
    return fn(env, policy);
  }, 'image-sync-skopeo-');
}

function redact(args: readonly string[]): string {
  return args
    .map((a, i) => (/^--(src-|dest-)?creds$/.test(args[i - 1] ?? '') ? a.replace(/:.*$/, ':***') : a))
    .join(' ');
}

/** Runs skopeo (no shell). Rejects with skopeo's stderr in the message. `{policy}` in args is replaced. */
export async function runSkopeo(args: readonly string[], timeoutMs = 30_000): Promise<SkopeoResult> {
  return isolated(
    (env, policy) =>
      new Promise<SkopeoResult>((resolve, reject) => {
        execFile(
          'skopeo',
          args.map((a) => (a === '{policy}' ? policy : a)),
          { env, timeout: timeoutMs, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
          (err, stdout, stderr) => {
            const errText = stderr.toString('utf8').trim();
            if (err !== null) {
              const e = err as Error & { code?: number | string; killed?: boolean };
              const why = e.killed ? `timed out after ${timeoutMs} ms` : `exit ${e.code ?? '?'}`;
              reject(new Error(`skopeo ${redact(args)} failed (${why}):\n${errText || e.message}`));
              return;
            }
            resolve({ stdout, stderr: errText });
          },
        );
      }),
  );
}

/** `host/repo:tag` → `docker://host/repo:tag`; refs already naming a transport are kept. */
function dockerRef(ref: string): string {
  return /^(docker:\/\/|oci:|oci-archive:|dir:|docker-archive:)/.test(ref) ? ref : `docker://${ref}`;
}

/** The raw manifest bytes as skopeo fetches them: `skopeo inspect --raw docker://<ref>`. */
export async function skopeoInspectRaw(ref: string, opts: SkopeoOpts = {}): Promise<Buffer> {
  const { stdout } = await runSkopeo(
    ['inspect', '--raw', ...skopeoFlags(opts), dockerRef(ref)],
    opts.timeoutMs,
  );
  return stdout;
}

/** `sha256:<hex>` of the raw manifest skopeo fetched. */
export async function skopeoDigest(ref: string, opts: SkopeoOpts = {}): Promise<string> {
  const raw = await skopeoInspectRaw(ref, opts);
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

/** The image config (`skopeo inspect --config --raw`), for single-platform refs. */
export async function skopeoConfig(ref: string, opts: SkopeoOpts = {}): Promise<unknown> {
  const { stdout } = await runSkopeo(
    ['inspect', '--config', '--raw', ...skopeoFlags(opts), dockerRef(ref)],
    opts.timeoutMs,
  );
  return JSON.parse(stdout.toString('utf8'));
}

/** `skopeo list-tags docker://<host/repo>` → the tags. */
export async function skopeoListTags(repoRef: string, opts: SkopeoOpts = {}): Promise<string[]> {
  const { stdout } = await runSkopeo(['list-tags', ...skopeoFlags(opts), dockerRef(repoRef)], opts.timeoutMs);
  const json = JSON.parse(stdout.toString('utf8')) as { Tags?: string[] | null };
  return json.Tags ?? [];
}

/**
 * `skopeo copy` between two `docker://` refs (e.g. to make a reference copy to compare with), with an
 * accept-anything policy. `extra` e.g. `['--all', '--preserve-digests']`.
 */
export async function skopeoCopy(
  src: string,
  dest: string,
  srcOpts: SkopeoOpts = {},
  destOpts: SkopeoOpts = {},
  extra: readonly string[] = [],
): Promise<SkopeoResult> {
  return runSkopeo(
    [
      '--policy',
      '{policy}',
      'copy',
      '--quiet',
      ...skopeoFlags(srcOpts, 'src-'),
      ...skopeoFlags(destOpts, 'dest-'),
      ...extra,
      dockerRef(src),
      dockerRef(dest),
    ],
    Math.max(srcOpts.timeoutMs ?? 0, destOpts.timeoutMs ?? 0) || 120_000,
  );
}
