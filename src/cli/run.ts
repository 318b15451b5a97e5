import { accessSync, appendFileSync, closeSync, constants, openSync, statSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import pkg from '../../package.json' with { type: 'json' };
import { ConfigError, type LoadedConfig, loadConfig } from '../config/index.ts';
import { Secrets } from '../registry/secrets.ts';
import { explain } from '../report/explain.ts';
import { toJsonReport } from '../report/json.ts';
import { describeFiltered, describeResult, describeRetry } from '../report/lines.ts';
import { Progress } from '../report/progress.ts';
import { runSession, type SessionReport } from '../sync/session.ts';
import type { Logger, SyncEvent } from '../sync/types.ts';
import { type CliOptions, parseArgs } from './args.ts';

const PROGRESS_EVERY_MS = 10_000;

/** Exit codes: 0 all done, 1 some tags failed (the rest synced), 2 usage or config error (nothing synced). */
export async function run(argv: readonly string[]): Promise<number> {
  const secrets = new Secrets();
  const env = process.env;
  let opts: CliOptions | undefined;
  let config: LoadedConfig;
  try {
    const parsed = parseArgs(argv, pkg.version, (text) => process.stdout.write(text));
    if (typeof parsed === 'number') return parsed;
    opts = parsed;
    config = await loadConfig({
      cwd: process.cwd(),
      ...(opts.config !== undefined && { config: opts.config }),
      ...(opts.auth !== undefined && { auth: opts.auth }),
      ...(opts.images !== undefined && { images: opts.images }),
      givenAs: { config: 'flag --config', auth: 'flag --auth', images: 'flag --images' },
      env,
      defaults: { registry: opts.registry, namespace: opts.namespace },
      onSecret: (s) => secrets.add(s),
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const lines = secrets.scrub(err.message).replace(/^/gm, 'image-sync: ');
    process.stderr.write(`${lines}\n`);
    // A scheduled run may keep only its log: the reason it stopped belongs there too.
    if (opts?.log !== undefined) {
      try {
        appendFileSync(opts.log, lines.split('\n').map(stamped).join(''));
      } catch {
        // The log cannot be written: the message is on stderr.
      }
    }
    return 2;
  }

  // Files written at the end are checked now: a sync is not run for a report that cannot be kept.
  for (const [flag, path] of [
    ['--report', opts.report],
    ['--output-success-images', opts.outputSuccessImages],
  ] as const) {
    const why = path === undefined ? undefined : unwritable(path);
    if (why === undefined) continue;
    process.stderr.write(`image-sync: flag ${flag}: "${path}" cannot be written (${why})\n`);
    return 2;
  }
  let logFd: number | undefined;
  try {
    logFd = opts.log === undefined ? undefined : openSync(opts.log, 'a');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    process.stderr.write(`image-sync: flag --log: "${opts.log}" cannot be opened for writing (${why})\n`);
    return 2;
  }
  try {
    return await syncLogged(opts, config, secrets, logFd);
  } finally {
    if (logFd !== undefined) closeSync(logFd);
  }
}

async function syncLogged(
  opts: CliOptions,
  config: LoadedConfig,
  secrets: Secrets,
  logFd: number | undefined,
): Promise<number> {
  const env = process.env;
  // Written synchronously, as Node writes a stderr that is a file: each line lands in order, at
  // once, and before any exit; an asynchronous stream cost a thread-pool round trip per line.
  const write = (line: string) => {
    const text = stamped(secrets.scrub(line));
    if (logFd !== undefined) writeSync(logFd, text);
    else process.stderr.write(text);
  };
  const logger: Logger = {
    debug: () => {},
    info: (m) => write(m),
    warn: (m) => write(`warning: ${m}`),
    error: (m) => write(`error: ${m}`),
  };
  for (const w of config.warnings) logger.warn(w);

  const progress = new Progress();
  const stopProgress = progress.every(PROGRESS_EVERY_MS, (line) => process.stderr.write(stamped(line)));
  const stop = new AbortController();
  const onSigint = () => {
    if (stop.signal.aborted) process.exit(130);
    logger.warn(
      'SIGINT received: finishing running transfers, starting and retrying nothing (Ctrl-C again to quit now)',
    );
    stop.abort();
  };
  process.on('SIGINT', onSigint);
  let report: SessionReport;
  try {
    report = await runSession(config, {
      env,
      logger,
      onSecret: (s) => secrets.add(s),
      concurrency: opts.proc,
      retries: opts.retries,
      force: opts.force,
      dryRun: opts.dryRun,
      referrers: opts.referrers,
      quotaFloor: opts.quotaFloor,
      ...(opts.platforms !== undefined && { platforms: opts.platforms }),
      ...(opts.shard !== undefined && { shard: opts.shard }),
      stop: stop.signal,
      emit: (event: SyncEvent) => {
        progress.onEvent(event);
        if (event.type === 'task-finished') logger.info(describeResult(event.result));
        if (event.type === 'index-filtered') logger.warn(describeFiltered(event));
        if (event.type === 'retry') logger.info(describeRetry(event));
      },
    });
  } catch (err) {
    logger.error(`image-sync stopped: ${explain(err).reason}`);
    return stop.signal.aborted ? 130 : 1;
  } finally {
    stopProgress();
    process.off('SIGINT', onSigint);
  }
  for (const w of report.warnings) logger.warn(w);
  logger.info(progress.line());
  await writeOutputs(opts, report, (text) => secrets.scrub(text));
  const t = report.totals;
  process.stderr.write(
    `${report.dryRun ? `${t.planned} to copy` : `${t.synced} synced`}, ${t.skipped} skipped, ${t.failed} failed${t.deferred > 0 ? `, ${t.deferred} deferred` : ''}\n`,
  );
  if (stop.signal.aborted) return 130;
  return t.failed > 0 ? 1 : 0;
}

async function writeOutputs(opts: CliOptions, report: SessionReport, scrub: (text: string) => string) {
  if (opts.report !== undefined) {
    await writeFile(resolve(opts.report), scrub(`${JSON.stringify(toJsonReport(report), null, 2)}\n`));
  }
  if (opts.outputSuccessImages !== undefined) {
    // image-syncer's images format: one destination, or a list of them.
    const ok: Record<string, string | string[]> = {};
    for (const r of report.results) {
      if (r.status !== 'synced' && r.status !== 'skipped') continue;
      const before = ok[r.source];
      ok[r.source] = before === undefined ? r.destination : [...[before].flat(), r.destination];
    }
    const text = opts.outputImagesFormat === 'json' ? `${JSON.stringify(ok, null, 2)}\n` : stringify(ok);
    await writeFile(resolve(opts.outputSuccessImages), text);
  }
}

/** Why a file could not be written at `path`, or undefined: its directory must exist and take writes. */
function unwritable(path: string): string | undefined {
  const full = resolve(path);
  try {
    if (statSync(full, { throwIfNoEntry: false })?.isDirectory()) return 'it is a directory';
    accessSync(dirname(full), constants.W_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? 'its directory does not exist'
      : ((err as NodeJS.ErrnoException).code ?? (err as Error).message);
  }
}

const stamped = (line: string): string => `${new Date().toISOString()} ${line}\n`;
