import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** The command users run: the launcher that loads dist/cli/index.js (see bin/image-sync.mjs). */
export const CLI_ENTRY = resolve(import.meta.dirname, '../../bin/image-sync.mjs');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the bundled CLI as a user would. The environment is only what the test gives (plus PATH and HOME). */
export function runCli(
  args: readonly string[],
  opts: {
    cwd?: string;
    env?: Record<string, string>;
    timeoutMs?: number;
    /** Called with the process id once it runs (to signal it). */
    onSpawn?: (pid: number) => void;
  } = {},
): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      cwd: opts.cwd ?? process.cwd(),
      env: { PATH: process.env.PATH ?? '', HOME: opts.env?.HOME ?? process.env.HOME ?? '/tmp', ...opts.env },
    });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? -1, stdout, stderr });
    });
  });
}
