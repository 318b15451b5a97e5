import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as core from '@actions/core';
import { ConfigError, type LoadedConfig, loadConfig } from '../config/index.ts';
import { explain } from '../report/explain.ts';
import { toJsonReport } from '../report/json.ts';
import { describeFiltered, describeResult, describeRetry } from '../report/lines.ts';
import { Progress, RepositoryGroups } from '../report/progress.ts';
import { renderConfigError, renderSummary } from '../report/summary.ts';
import { runSession, type SessionReport } from '../sync/session.ts';
import type { Logger, SyncEvent } from '../sync/types.ts';
import { type ActionInputs, readInputs, summaryWanted } from './inputs.ts';
import { maskCredentials, maskSecret, maskToken } from './mask.ts';

const PROGRESS_EVERY_MS = 10_000;

const logger: Logger = {
  debug: (m) => core.debug(m),
  info: (m) => core.info(m),
  warn: (m) => core.warning(m),
  error: (m) => core.error(m),
};

/** The action: inputs and files in; engine; job summary, outputs, annotations and exit code out. */
export async function run(): Promise<void> {
  try {
    const setup = await prepare();
    if (setup === undefined) return;
    const report = await execute(setup.inputs, setup.config);
    await publish(setup.inputs, report);
  } catch (err) {
    // Anything unexpected still ends as one plain line, never a stack trace in the log.
    core.setFailed(`image-sync stopped: ${explain(err).reason}`);
  }
}

async function prepare(): Promise<{ inputs: ActionInputs; config: LoadedConfig } | undefined> {
  try {
    const inputs = readInputs();
    const env = process.env;
    const config = await loadConfig({
      cwd: env.GITHUB_WORKSPACE ?? process.cwd(),
      ...(inputs.config !== undefined && { config: inputs.config }),
      ...(inputs.authFile !== undefined && { auth: inputs.authFile }),
      ...(inputs.imagesFile !== undefined && { images: inputs.imagesFile }),
      ...(inputs.images !== undefined && { imagesInline: inputs.images }),
      givenAs: { config: 'input "config"', auth: 'input "auth-file"', images: 'input "images-file"' },
      env,
      defaults: { registry: inputs.registry, namespace: inputs.namespace },
      onSecret: maskSecret,
    });
    maskCredentials(config);
    for (const w of config.warnings) core.warning(w);
    return { inputs, config };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    core.setFailed(err.message);
    process.exitCode = 2;
    if (process.env.GITHUB_STEP_SUMMARY && summaryWanted())
      await core.summary.addRaw(renderConfigError(err.message)).write();
    return undefined;
  }
}

async function execute(inputs: ActionInputs, config: LoadedConfig): Promise<SessionReport> {
  const stop = new AbortController();
  const abort = new AbortController();
  // A cancelled job gets SIGINT, then SIGTERM: first stop starting work, then cut what runs.
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      core.warning(`${signal} received: finishing running transfers, starting nothing new`);
      stop.abort();
    } else abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const progress = new Progress();
  const groups = new RepositoryGroups((repo, lines) => {
    core.startGroup(repo);
    for (const line of lines) core.info(line);
    core.endGroup();
  });
  const stopProgress = progress.every(PROGRESS_EVERY_MS, (line) => core.info(line));
  const emit = (event: SyncEvent) => {
    progress.onEvent(event);
    groups.onEvent(event, (e) => describeResult(e.result));
    if (event.type === 'index-filtered') core.warning(describeFiltered(event));
    if (event.type === 'retry') core.info(describeRetry(event));
  };
  try {
    return await runSession(config, {
      env: process.env,
      logger,
      onSecret: maskSecret,
      onToken: maskToken,
      ...(inputs.githubToken !== undefined && { githubToken: inputs.githubToken }),
      ...(process.env.GITHUB_ACTOR !== undefined && { githubActor: process.env.GITHUB_ACTOR }),
      concurrency: inputs.concurrency,
      retries: inputs.retries,
      force: inputs.force,
      dryRun: inputs.dryRun,
      referrers: inputs.referrers,
      quotaFloor: inputs.quotaFloor,
      ...(inputs.platforms !== undefined && { platforms: inputs.platforms }),
      ...(inputs.shard !== undefined && { shard: inputs.shard }),
      stop: stop.signal,
      abort: abort.signal,
      emit,
    });
  } finally {
    stopProgress();
    groups.end();
    core.info(progress.line());
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function publish(inputs: ActionInputs, report: SessionReport): Promise<void> {
  for (const w of report.warnings) core.warning(w);
  const dir = process.env.RUNNER_TEMP ?? process.cwd();
  await mkdir(dir, { recursive: true });
  const reportPath = join(
    dir,
    `image-sync-report-${process.env.GITHUB_RUN_ID ?? 'local'}-${Date.now()}.json`,
  );
  await writeFile(reportPath, `${JSON.stringify(toJsonReport(report), null, 2)}\n`);

  const t = report.totals;
  core.setOutput('synced', report.dryRun ? t.planned : t.synced);
  core.setOutput('skipped', t.skipped);
  core.setOutput('failed', t.failed);
  core.setOutput('deferred', t.deferred);
  core.setOutput('bytes', t.bytes);
  core.setOutput('report', reportPath);

  for (const r of report.results.filter((x) => x.status === 'failed')) {
    const e = explain(r.error);
    core.error(`${r.source} → ${r.destination}: ${e.reason}${e.hint ? ` (${e.hint})` : ''}`, {
      title: 'image-sync: tag failed',
    });
  }
  if (inputs.summary && process.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addRaw(renderSummary(report, { rateLimits: report.rateLimits })).write();
  }
  if (t.deferred > 0)
    core.warning(
      `${t.deferred} of ${report.results.length} tags deferred: the source's pull quota reached the floor; the next run picks them up`,
    );
  if (t.failed > 0) {
    const message = `${t.failed} of ${report.results.length} tags failed`;
    if (inputs.failOnError) core.setFailed(message);
    else core.warning(`${message} (fail-on-error is off)`);
  }
}
