import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { JsonReport } from '../../src/report/json.ts';

export const ACTION_ENTRY = resolve(import.meta.dirname, '../../dist/index.js');

export interface ActionRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly summary: string;
  readonly outputs: Record<string, string>;
  /** The JSON report the `report` output points at, read before the runner's temp dir goes. */
  readonly report: JsonReport | undefined;
  /** Everything the step printed, plus the files it wrote for the runner. */
  readonly everything: string;
}

export interface ActionRunOptions {
  readonly workspace?: string;
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  /** Called once the process is running (to send it signals). */
  readonly onSpawn?: (pid: number) => void;
}

/** Runs the bundled action exactly as the GitHub runner does: INPUT_* variables and the runner's files. */
export async function runAction(
  inputs: Record<string, string>,
  opts: ActionRunOptions = {},
): Promise<ActionRun> {
  const dir = await mkdtemp(join(tmpdir(), 'image-sync-runner-'));
  const summaryFile = join(dir, 'step_summary.md');
  const outputFile = join(dir, 'output.txt');
  await writeFile(summaryFile, '');
  await writeFile(outputFile, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_OUTPUT: outputFile,
    GITHUB_WORKSPACE: opts.workspace ?? dir,
    GITHUB_RUN_ID: '1',
    GITHUB_ACTOR: 'octocat',
    RUNNER_TEMP: join(dir, 'runner-temp'),
    ...opts.env,
  };
  for (const [name, value] of Object.entries(inputs))
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
      (done, fail) => {
        const child = spawn(process.execPath, [ACTION_ENTRY], { env, cwd: opts.workspace ?? dir });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d));
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
        if (child.pid !== undefined) opts.onSpawn?.(child.pid);
        child.on('error', fail);
        child.on('close', (c) => {
          clearTimeout(timer);
          done({ code: c ?? -1, stdout, stderr });
        });
      },
    );
    const summary = await readFile(summaryFile, 'utf8');
    const outputText = await readFile(outputFile, 'utf8');
    const outputs = parseOutputs(outputText);
    const reportText = outputs.report === undefined ? undefined : await readFile(outputs.report, 'utf8');
    return {
      code,
      stdout,
      stderr,
      summary,
      outputs,
      report: reportText === undefined ? undefined : (JSON.parse(reportText) as JsonReport),
      everything: [stdout, stderr, summary, outputText, reportText ?? ''].join('\n'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The runner's file format: `name<<DELIMITER`, value lines, `DELIMITER`. */
export function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i] ?? '');
    if (m === null) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i] ?? '');
    out[m[1]!] = value.join('\n');
  }
  return out;
}
