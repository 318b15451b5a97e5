/**
 * Running a client under GNU time: wall time (measured here, spawn to exit), CPU time (user + system
 * of the process and everything it waited for) and peak RSS (the largest of those processes).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export interface Measured {
  readonly wallMs: number;
  /** user + system. */
  readonly cpuMs: number;
  readonly userMs: number;
  readonly sysMs: number;
  /** Peak resident set size, KiB. */
  readonly rssKb: number;
  readonly code: number;
  /** The last few KiB of stderr and stdout. */
  readonly output: string;
}

export interface RunOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Where GNU time writes its line. */
  readonly scratch: string;
  readonly timeoutMs?: number;
}

let serial = 0;

/** `cmd args…` under `/usr/bin/time`; never rejects for a non-zero exit (see `code`). */
export async function timed(cmd: string, args: readonly string[], opts: RunOptions): Promise<Measured> {
  const out = join(opts.scratch, `time-${process.pid}-${++serial}.txt`);
  const started = performance.now();
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    const child = spawn(GNU_TIME, ['-f', '%e %U %S %M', '-o', out, cmd, ...args], {
      env: opts.env,
      ...(opts.cwd !== undefined && { cwd: opts.cwd }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    const keep = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (text.length > 16_384) text = text.slice(-16_384);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            keep(Buffer.from(`\n[bench] killed after ${opts.timeoutMs} ms\n`));
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    child.once('error', reject);
    child.once('close', (status) => {
      if (timer !== undefined) clearTimeout(timer);
      resolve({ code: status ?? 1, output: text });
    });
  });
  const wallMs = performance.now() - started;
  const report = await readFile(out, 'utf8').catch(() => '');
  await rm(out, { force: true });
  // GNU time writes "Command exited with non-zero status N" (or "terminated by signal") first.
  const last = report.trim().split('\n').at(-1) ?? '';
  const m = /^([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/.exec(last);
  if (m === null) throw new Error(`no GNU time line for ${cmd} (exit ${code}): ${report}\n${output}`);
  const userMs = Number(m[2]) * 1000;
  const sysMs = Number(m[3]) * 1000;
  return { wallMs, cpuMs: userMs + sysMs, userMs, sysMs, rssKb: Number(m[4]), code, output };
}

/** Several processes started together: wall = the whole batch, CPU = the sum, RSS = sum and max. */
export interface BatchMeasured {
  readonly wallMs: number;
  readonly cpuMs: number;
  /** Sum of the processes' peaks (they all run at once, so an upper bound of the joint peak). */
  readonly rssKb: number;
  /** The largest single process. */
  readonly rssMaxKb: number;
  readonly failed: readonly Measured[];
  readonly runs: readonly Measured[];
}

export async function timedBatch(
  jobs: readonly { readonly cmd: string; readonly args: readonly string[] }[],
  opts: RunOptions,
): Promise<BatchMeasured> {
  const started = performance.now();
  const runs = await Promise.all(jobs.map((j) => timed(j.cmd, j.args, opts)));
  return {
    wallMs: performance.now() - started,
    cpuMs: runs.reduce((s, r) => s + r.cpuMs, 0),
    rssKb: runs.reduce((s, r) => s + r.rssKb, 0),
    rssMaxKb: Math.max(...runs.map((r) => r.rssKb)),
    failed: runs.filter((r) => r.code !== 0),
    runs,
  };
}

/**
 * CPU spent so far (ms) by the other side of the benchmark: this process (the counting proxies) and
 * its docker-registry children (source and destination registries); and by the whole machine.
 */
export function serverCpu(): { proxiesMs: number; registriesMs: number; machineMs: number } {
  const usage = process.cpuUsage();
  let registriesMs = 0;
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  let children: string[] = [];
  try {
    children = readdirSync(`/proc/${process.pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${process.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean),
    );
  } catch {
    // not Linux
  }
  for (const pid of children) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'docker-registry') continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      registriesMs += (Number(fields[11]) + Number(fields[12])) * tick; // utime, stime
    } catch {
      // gone
    }
  }
  // The whole machine's busy time (all cores), to show what else ran meanwhile.
  let machineMs = 0;
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
    machineMs = (user + nice + system + irq + softirq + steal) * tick;
  } catch {
    // not Linux
  }
  return { proxiesMs: (usage.user + usage.system) / 1000, registriesMs, machineMs };
}
