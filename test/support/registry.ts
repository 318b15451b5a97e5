import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { type Ca, makeCa, makeServerCert, makeSigningKey } from './certs.ts';
import { makeTempDir, removeTempDir, withTempDir } from './tmp.ts';
import { startTokenIssuer, type TokenIssuer, type TokenIssuerOptions } from './token-issuer.ts';

export type RegistryAuth = 'none' | 'htpasswd' | 'token';

export interface RegistryOptions {
  readonly auth?: RegistryAuth;
  readonly tls?: boolean;
  /** username → password (htpasswd and token modes). Default `{ alice: 'alice-secret-pw' }`. */
  readonly users?: Readonly<Record<string, string>>;
  /** Passed to the token issuer (token mode). */
  readonly tokenOptions?: Omit<TokenIssuerOptions, 'signingKey' | 'users'>;
  /** docker-registry log level (default `error`). */
  readonly logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** The directory its config and storage go under (default: the OS temp dir). */
  readonly parentDir?: string;
}

export interface Registry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT` */
  readonly url: string;
  readonly auth: RegistryAuth;
  readonly tls: boolean;
  readonly users: Readonly<Record<string, string>>;
  /** TLS only: the suite CA that signed the server certificate. */
  readonly caFile?: string;
  readonly caPem?: string;
  /** TLS only: a directory holding just `ca.crt`, for skopeo's `--cert-dir` / `--src-cert-dir` / `--dest-cert-dir`. */
  readonly certDir?: string;
  /** Token mode only. */
  readonly tokenIssuer?: TokenIssuer;
  /** The registry's storage root (filesystem driver). */
  readonly storageDir: string;
  /** What the registry printed (stderr/stdout, last ~64 KiB). */
  logs(): string;
  stop(): Promise<void>;
}

export const DEFAULT_USERS: Readonly<Record<string, string>> = { alice: 'alice-secret-pw' };

/** Children alive in this process: SIGKILLed on exit if a test file forgot (or failed) to stop them. */
const children = new Set<ChildProcess>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const c of children) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export interface CaPems {
  readonly certPem: string;
  readonly keyPem: string;
}

let suiteCaPromise: Promise<CaPems> | undefined;
/**
 * One CA per test process, shared by every TLS registry (so a client can trust them all with one
 * PEM). Kept in memory only: each registry writes it into its own temp dir.
 */
export function suiteCa(): Promise<CaPems> {
  suiteCaPromise ??= withTempDir(async (dir) => {
    const ca = await makeCa(dir);
    return { certPem: ca.certPem, keyPem: ca.keyPem };
  }, 'image-sync-ca-');
  return suiteCaPromise;
}

async function writeCa(pems: CaPems, dir: string): Promise<Ca> {
  const certFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'ca.key');
  await writeFile(certFile, pems.certPem);
  await writeFile(keyFile, pems.keyPem, { mode: 0o600 });
  return { certFile, keyFile, ...pems };
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** An undici dispatcher for talking to `registry` (trusting the suite CA when it is TLS). */
export function dispatcherFor(registry: Pick<Registry, 'tls' | 'caPem'>): Agent {
  return registry.tls ? new Agent({ connect: { ca: registry.caPem } }) : new Agent();
}

function htpasswdLine(user: string, password: string): string {
  // Cost 5 keeps every Basic-authenticated request to the registry fast (bcrypt runs per request).
  return `${user}:${bcrypt.hashSync(password, bcrypt.genSaltSync(5))}`;
}

/**
 * Starts Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1 with fresh filesystem storage.
 * The caller must `stop()` it (afterAll); a process exit handler and a watchdog kill it otherwise.
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  hookExit();
  const auth = opts.auth ?? 'none';
  const tls = opts.tls ?? false;
  const users = opts.users ?? DEFAULT_USERS;
  const dir = await makeTempDir('image-sync-registry-', opts.parentDir);
  let tokenIssuer: TokenIssuer | undefined;
  try {
    const storageDir = join(dir, 'storage');
    await mkdir(storageDir);
    const http: Record<string, unknown> = { secret: randomBytes(16).toString('hex') };
    let ca: Ca | undefined;
    let certDir: string | undefined;
    if (tls) {
      ca = await writeCa(await suiteCa(), dir);
      const server = await makeServerCert(ca, dir);
      http.tls = { certificate: server.certFile, key: server.keyFile };
      certDir = join(dir, 'certs.d');
      await mkdir(certDir);
      await writeFile(join(certDir, 'ca.crt'), ca.certPem);
    }
    let authConfig: Record<string, unknown> | undefined;
    if (auth === 'htpasswd') {
      const file = join(dir, 'htpasswd');
      await writeFile(
        file,
        `${Object.entries(users)
          .map(([u, p]) => htpasswdLine(u, p))
          .join('\n')}\n`,
      );
      authConfig = { htpasswd: { realm: 'image-sync-test', path: file } };
    } else if (auth === 'token') {
      const signingKey = await makeSigningKey(dir);
      tokenIssuer = await startTokenIssuer({ ...opts.tokenOptions, signingKey, users });
      authConfig = {
        token: {
          realm: tokenIssuer.realm,
          service: tokenIssuer.service,
          issuer: tokenIssuer.issuer,
          rootcertbundle: signingKey.certFile,
        },
      };
    }

    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 4; attempt++) {
      const port = await freePort();
      const config = {
        version: 0.1,
        log: { level: opts.logLevel ?? 'error', accesslog: { disabled: true } },
        storage: {
          filesystem: { rootdirectory: storageDir },
          delete: { enabled: true },
          maintenance: { uploadpurging: { enabled: false } },
        },
        http: { ...http, addr: `127.0.0.1:${port}` },
        ...(authConfig === undefined ? {} : { auth: authConfig }),
      };
      const configFile = join(dir, 'config.yml');
      await writeFile(configFile, stringify(config));
      try {
        const running = await launch(configFile, port, tls, ca, dir);
        const issuer = tokenIssuer;
        const host = `127.0.0.1:${port}`;
        let stopped = false;
        return {
          host,
          url: `${tls ? 'https' : 'http'}://${host}`,
          auth,
          tls,
          users,
          ...(ca === undefined ? {} : { caFile: ca.certFile, caPem: ca.certPem, certDir }),
          ...(issuer === undefined ? {} : { tokenIssuer: issuer }),
          storageDir,
          logs: running.logs,
          async stop() {
            if (stopped) return;
            stopped = true;
            await running.kill();
            await issuer?.stop();
            await removeTempDir(dir);
          },
        };
      } catch (err) {
        lastError = err as Error;
        if (!/address already in use/i.test(lastError.message)) break;
      }
    }
    throw lastError ?? new Error('docker-registry did not start');
  } catch (err) {
    await tokenIssuer?.stop();
    await removeTempDir(dir);
    throw err;
  }
}

interface Running {
  logs(): string;
  kill(): Promise<void>;
}

async function launch(
  configFile: string,
  port: number,
  tls: boolean,
  ca: Ca | undefined,
  dir: string,
): Promise<Running> {
  const child = spawn('docker-registry', ['serve', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' },
  });
  children.add(child);
  let log = '';
  const append = (chunk: Buffer): void => {
    log += chunk.toString('utf8');
    if (log.length > 65536) log = log.slice(-65536);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      children.delete(child);
      resolve();
    });
  });
  child.once('error', (err) => {
    append(Buffer.from(`spawn error: ${err.message}\n`));
  });
  const watchdog = spawnWatchdog(child.pid, dir);

  const kill = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exitPromise;
      clearTimeout(timer);
    }
    watchdog?.kill('SIGKILL');
  };

  const dispatcher = tls ? new Agent({ connect: { ca: ca?.certPem } }) : new Agent();
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/v2/`;
  const deadline = Date.now() + 20_000;
  try {
    while (true) {
      if (exited) throw new Error(`docker-registry exited during startup:\n${log}`);
      try {
        const res = await request(url, { dispatcher, headersTimeout: 2000, bodyTimeout: 2000 });
        await res.body.dump();
        if (res.statusCode === 200 || res.statusCode === 401) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`docker-registry did not answer ${url} within 20 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await kill();
    throw err;
  } finally {
    await dispatcher.close();
  }
  return { logs: () => log, kill };
}

/**
 * A detached `sh` loop that, if this (test worker) process dies without stopping the registry — vitest
 * ends its fork workers with a signal, so 'exit' handlers do not run — SIGKILLs the registry and
 * removes its temp dir. stop() ends it.
 */
function spawnWatchdog(pid: number | undefined, dir: string): ChildProcess | undefined {
  if (pid === undefined) return undefined;
  // A registry that died first is not killed later (its pid may be another process's by then), but
  // its directory still goes if this process dies without removing it (RAM, under /dev/shm).
  const script = [
    'alive=1',
    `while kill -0 ${process.pid} 2>/dev/null; do`,
    `  [ $alive = 1 ] && ! kill -0 ${pid} 2>/dev/null && alive=0`,
    '  sleep 1',
    'done',
    `[ $alive = 1 ] && kill -9 ${pid} 2>/dev/null && sleep 1`,
    'rm -rf "$1"',
  ].join('\n');
  try {
    const w = spawn('sh', ['-c', script, 'image-sync-registry-watchdog', dir], {
      detached: true,
      stdio: 'ignore',
    });
    w.on('error', () => {});
    w.unref();
    return w;
  } catch {
    return undefined;
  }
}

/** The tags the registry itself lists for a repository (none when it does not know the repository). */
export async function tagsAt(registry: Registry, repo: string): Promise<string[]> {
  const dispatcher = dispatcherFor(registry);
  try {
    const res = await request(`${registry.url}/v2/${repo}/tags/list`, { dispatcher });
    const body = (await res.body.json()) as { tags?: string[] | null };
    return res.statusCode === 200 ? (body.tags ?? []) : [];
  } finally {
    await dispatcher.close();
  }
}
