/**
 * The two clients as the benchmark runs them: image-sync's bundled CLI (one process, all repositories)
 * and `skopeo sync --all` (one process per repository, all at once).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BatchMeasured, GNU_TIME, type Measured, timed, timedBatch } from './measure.ts';
import { destRepo } from './mirror.ts';

export interface Endpoints {
  /** `127.0.0.1:PORT` of the source side (the counting proxy in front of the source registry). */
  readonly source: string;
  /** Same for the destination. */
  readonly destination: string;
}

export interface ImageSyncRun extends Measured {
  /** `totals` of the `--report` file. */
  readonly totals: { synced: number; skipped: number; failed: number; bytes: number } | undefined;
}

/** A repository to sync: all its tags, or those named. */
export interface RepoRule {
  readonly source: string;
  readonly tags?: readonly string[];
}

/** `node bin/image-sync.mjs --config … --proc N --report …`, one rule per repository. */
export async function runImageSync(
  cli: string,
  repos: readonly RepoRule[],
  at: Endpoints,
  work: string,
  proc: number,
  extraArgs: readonly string[] = [],
): Promise<ImageSyncRun> {
  const dir = join(work, `image-sync-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'config.yaml');
  const lines = repos.map(
    (r) =>
      `  ${JSON.stringify(`${at.source}/${r.source}${r.tags === undefined ? '' : `:${r.tags.join(',')}`}`)}: ${JSON.stringify(`${at.destination}/${destRepo(r.source)}`)}`,
  );
  await writeFile(config, `images:\n${lines.join('\n')}\n`);
  const report = join(dir, 'report.json');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    DOCKER_CONFIG: join(dir, '.docker'),
  };
  const measured = await timed(
    process.execPath,
    [
      cli,
      '--config',
      config,
      '--proc',
      String(proc),
      '--report',
      report,
      '--log',
      join(dir, 'log.txt'),
      ...extraArgs,
    ],
    { env, cwd: dir, scratch: work, timeoutMs: 15 * 60_000 },
  );
  let totals: ImageSyncRun['totals'];
  try {
    totals = (JSON.parse(await readFile(report, 'utf8')) as { totals: ImageSyncRun['totals'] }).totals;
  } catch {
    totals = undefined;
  }
  let log = '';
  if (measured.code !== 0) log = (await readFile(join(dir, 'log.txt'), 'utf8').catch(() => '')).slice(-8000);
  await rm(dir, { recursive: true, force: true });
  return { ...measured, output: `${measured.output}${log}`, totals };
}

/**
 * skopeo's state for one cold run and the warm run after it: a temp HOME, an empty registries.conf,
 * an auth file that does not exist, an accept-anything policy (skopeo 1.9 needs one), and its own
 * blob-info cache — fresh for each cold run.
 *
 * Running as root, skopeo keeps that cache in /var/lib/containers/cache whatever HOME says, so each
 * skopeo runs in a private mount namespace (`unshare -m`) with this run's cache directory bound over
 * that path: cleared for the cold run, kept for the warm one, shared by the parallel processes as
 * they would share it on one machine, and nothing global touched. Without root the cache follows
 * XDG_DATA_HOME.
 */
export class SkopeoHome {
  readonly dir: string;
  readonly #policy: string;
  readonly #conf: string;
  readonly #cache: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.#policy = join(dir, 'policy.json');
    this.#conf = join(dir, 'registries.conf');
    this.#cache = join(dir, 'cache');
  }

  static async create(work: string): Promise<SkopeoHome> {
    const home = new SkopeoHome(join(work, `skopeo-${Date.now()}`));
    await mkdir(join(home.#cache, 'containers', 'cache'), { recursive: true });
    await writeFile(home.#policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await writeFile(home.#conf, 'unqualified-search-registries = []\n');
    return home;
  }

  get env(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.dir,
      XDG_RUNTIME_DIR: this.dir,
      XDG_CONFIG_HOME: join(this.dir, '.config'),
      XDG_DATA_HOME: this.#cache,
      TMPDIR: this.dir,
      REGISTRY_AUTH_FILE: join(this.dir, 'auth.json'),
      CONTAINERS_REGISTRIES_CONF: this.#conf,
      REGISTRIES_CONFIG_PATH: this.#conf,
      DOCKER_CONFIG: join(this.dir, '.docker'),
    };
  }

  /**
   * The command line for one `skopeo sync`, wrapped so it uses this run's blob-info cache: a
   * repository with all its tags (`--src docker`), or a YAML file naming them (`--src yaml`).
   */
  syncJob(
    source: { repo: string } | { yaml: string },
    destNamespace: string,
  ): { cmd: string; args: string[] } {
    const from =
      'repo' in source
        ? ['--src', 'docker', '--src-tls-verify=false', '--src-no-creds', source.repo]
        : ['--src', 'yaml', source.yaml];
    const skopeo = [
      '--policy',
      this.#policy,
      '--registries-conf',
      this.#conf,
      'sync',
      '--all',
      '--dest',
      'docker',
      '--dest-tls-verify=false',
      '--dest-no-creds',
      ...from,
      destNamespace,
    ];
    if (process.getuid?.() !== 0) return { cmd: 'skopeo', args: skopeo };
    return {
      cmd: 'unshare',
      args: [
        '-m',
        'sh',
        '-c',
        'mkdir -p /var/lib/containers/cache && mount --bind "$0" /var/lib/containers/cache && exec skopeo "$@"',
        join(this.#cache, 'containers', 'cache'),
        ...skopeo,
      ],
    };
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Whether this machine lets root run skopeo in a private mount namespace (see SkopeoHome). */
export function checkPrerequisites(): string[] {
  const problems: string[] = [];
  const has = (cmd: string, args: string[]) => {
    try {
      execFileSync(cmd, args, { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (!has(GNU_TIME, ['-f', '%e', 'true']))
    problems.push(`${GNU_TIME} (GNU time) is missing: bash scripts/ensure-tools.sh time`);
  if (!has('skopeo', ['--version'])) problems.push('skopeo is missing: bash scripts/ensure-tools.sh');
  if (!has('docker-registry', ['--version']))
    problems.push('docker-registry is missing: bash scripts/ensure-tools.sh');
  if (process.getuid?.() === 0 && !has('unshare', ['-m', 'true']))
    problems.push(
      'running as root, but `unshare -m` is not permitted here: skopeo’s blob-info cache could not be isolated',
    );
  return problems;
}

/** One `skopeo sync --all` per repository, all in parallel, into `<destination>/mirror`. */
export async function runSkopeo(
  home: SkopeoHome,
  repos: readonly RepoRule[],
  at: Endpoints,
  work: string,
): Promise<BatchMeasured> {
  const jobs = await Promise.all(
    repos.map(async (r, i) => {
      if (r.tags === undefined)
        return home.syncJob({ repo: `${at.source}/${r.source}` }, `${at.destination}/mirror`);
      const yaml = join(home.dir, `sync-${i}.yaml`);
      const images = { [r.source]: r.tags };
      await writeFile(yaml, JSON.stringify({ [at.source]: { images, 'tls-verify': false } }));
      return home.syncJob({ yaml }, `${at.destination}/mirror`);
    }),
  );
  return timedBatch(jobs, { env: home.env, cwd: home.dir, scratch: work, timeoutMs: 15 * 60_000 });
}
