import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { canonicalRegistry, DOCKER_HUB } from '../registry/reference.ts';
import type { Credentials } from '../registry/transport/auth.ts';

/**
 * Credentials people already have: the Docker config that `docker login`, docker/login-action and
 * the cloud login actions leave behind — `auths` entries and credential helpers.
 */

const AuthEntry = z.looseObject({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
  registrytoken: z.string().optional(),
});

const DockerConfigFile = z.looseObject({
  auths: z.record(z.string(), AuthEntry).optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  credsStore: z.string().optional(),
});

/** A Docker config file as read, and where it was read from. */
export interface DockerConfig {
  readonly path: string;
  readonly file: z.infer<typeof DockerConfigFile>;
}

export function dockerConfigPath(env: Record<string, string | undefined>): string {
  const dir = env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker');
  return join(dir, 'config.json');
}

/** `undefined` when there is no Docker config; a problem with it is a warning, not a failure. */
export async function readDockerConfig(
  env: Record<string, string | undefined>,
  warn: (message: string) => void,
): Promise<DockerConfig | undefined> {
  const path = dockerConfigPath(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = DockerConfigFile.safeParse(JSON.parse(text));
    if (parsed.success) return { path, file: parsed.data };
    warn(`${path}: not a Docker config file; ignoring it`);
  } catch {
    warn(`${path}: not valid JSON; ignoring it`);
  }
  return undefined;
}

/** `https://index.docker.io/v1/`, `ghcr.io`, `https://ghcr.io/` → the canonical registry name. */
function registryOfKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  return canonicalRegistry(host);
}

/** The server URL helpers are asked about: Docker Hub keeps its historical name. */
function helperServer(registry: string): string {
  return registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

export interface DockerCredentialOptions {
  readonly onSecret: (secret: string) => void;
  readonly warn: (message: string) => void;
  /** Runs `docker-credential-<name> get`; replaceable so tests can count calls. */
  readonly runHelper?: (name: string, server: string) => Promise<string>;
}

export async function dockerCredentials(
  { path, file: config }: DockerConfig,
  registry: string,
  opts: DockerCredentialOptions,
): Promise<Credentials | undefined> {
  const helper =
    Object.entries(config.credHelpers ?? {}).find(([key]) => registryOfKey(key) === registry)?.[1] ??
    config.credsStore;
  if (helper !== undefined) {
    const fromHelper = await helperCredentials(helper, registry, opts);
    if (fromHelper !== undefined) return fromHelper;
  }
  const found = Object.entries(config.auths ?? {}).find(([key]) => registryOfKey(key) === registry);
  if (found === undefined) return undefined;
  const [key, entry] = found;
  const from = `${path}: auths["${key}"]`;
  if (entry.identitytoken !== undefined) {
    opts.onSecret(entry.identitytoken);
    return {
      token: entry.identitytoken,
      ...(entry.username !== undefined && { username: entry.username }),
      from,
    };
  }
  let { username, password } = entry;
  if (entry.auth !== undefined) {
    opts.onSecret(entry.auth);
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    } else opts.warn(`the Docker config's "auth" for ${registry} is not base64 of user:password; ignored`);
  }
  if (username === undefined || password === undefined) return undefined;
  opts.onSecret(password);
  // Basic auth carries `user:password` (base64): masked whole as well.
  opts.onSecret(`${username}:${password}`);
  return { username, password, from };
}

async function helperCredentials(
  name: string,
  registry: string,
  opts: DockerCredentialOptions,
): Promise<Credentials | undefined> {
  const run = opts.runHelper ?? runCredentialHelper;
  let out: string;
  try {
    out = await run(name, helperServer(registry));
  } catch (err) {
    opts.warn(`docker-credential-${name} gave no credentials for ${registry}: ${(err as Error).message}`);
    return undefined;
  }
  let answer: { Username?: unknown; Secret?: unknown };
  try {
    answer = JSON.parse(out) as typeof answer;
  } catch {
    opts.warn(`docker-credential-${name} answered with something that is not JSON for ${registry}`);
    return undefined;
  }
  if (typeof answer.Secret !== 'string' || answer.Secret === '') return undefined;
  opts.onSecret(answer.Secret);
  const username = typeof answer.Username === 'string' ? answer.Username : undefined;
  // Docker's convention: the user name "<token>" marks an identity token.
  const from = `docker-credential-${name}`;
  if (username === '<token>' || username === undefined) return { token: answer.Secret, from };
  opts.onSecret(`${username}:${answer.Secret}`);
  return { username, password: answer.Secret, from };
}

/** docker-credential-helpers' `errCredentialsNotFoundMessage`. */
const NOT_FOUND = /^credentials not found in native keychain\s*$/;

function runCredentialHelper(name: string, server: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      `docker-credential-${name}`,
      ['get'],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        // Docker's helpers answer a registry they hold nothing for on stdout, and Docker goes on
        // anonymously without a word; so do we. Their output is read only for that phrase: on
        // success it holds the secret.
        if (err && NOT_FOUND.test(stdout)) resolve('{}');
        else if (err)
          reject(new Error(stderr.trim().split('\n')[0] || (err as NodeJS.ErrnoException).code || 'failed'));
        else resolve(stdout);
      },
    );
    // A helper may answer and exit without reading the server name (EPIPE here): its exit and its
    // answer say how it went, so a failed write to it is not an error of its own.
    child.stdin?.on('error', () => {});
    child.stdin?.end(server);
  });
}
