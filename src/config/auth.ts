import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { canonicalRegistry, parseRepository, type Repository } from '../registry/reference.ts';
import { type ConfigIssue, formatIssue, keyPath, mapKey } from './errors.ts';
import { expandVars } from './expand.ts';
import { describeIgnored, describeTypo, unknownKeys } from './keys.ts';
import { AUTH_ENTRY_KEYS, AuthEntry, AuthSection, problemsOf, SECRET_KEYS } from './schema.ts';
import { isValidHost, referenceProblem } from './specs.ts';
import type { AuthResolver, RegistryAuth } from './types.ts';

/**
 * The `auth` entries: `registry` or `registry/namespace[/…]` → credentials. A repository gets the
 * entry with the longest matching prefix, on path-component boundaries; Docker Hub's aliases are one
 * registry. No value of a password or token is ever put in a message.
 */

export interface AuthContext {
  /** For messages: the file as the user named it. */
  readonly file: string;
  /** The file's directory, for relative `ca` paths. */
  readonly dir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface AuthEntryLoaded {
  readonly registry: string;
  readonly path?: string;
  readonly auth: RegistryAuth;
}

export interface AuthResult {
  readonly entries: AuthEntryLoaded[];
  readonly issues: ConfigIssue[];
  readonly warnings: string[];
}

/** Keys of unknown fields that probably hold a secret anyway (a misspelt `password`). */
const SECRET_LIKE = /pass|token|secret|cred|auth|key/i;

/**
 * Every password and token in an auth section, raw and expanded, to `onSecret` — before anything is
 * validated, so nothing logged later can show one. Walks whatever shape the section has.
 */
export function revealSecrets(
  section: unknown,
  env: Readonly<Record<string, string | undefined>>,
  onSecret: (value: string) => void,
): void {
  const visit = (value: unknown, depth: number) => {
    if (value === null || typeof value !== 'object' || depth > 3) return;
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'object') visit(v, depth + 1);
      else if (
        v !== undefined &&
        (SECRET_KEYS.includes(k) || (!AUTH_ENTRY_KEYS.includes(k) && SECRET_LIKE.test(k)))
      ) {
        const raw = String(v);
        if (raw === '') continue;
        // A `${VAR}` placeholder is no secret; what it expands to is.
        if (!raw.includes('${')) onSecret(raw);
        const expanded = expandVars(raw, env);
        if (expanded.ok && expanded.value !== raw && expanded.value !== '') onSecret(expanded.value);
      }
    }
  };
  visit(section, 0);
}

/** `quay.io`, `quay.io/coreos`, `registry.hub.docker.com/library` → the canonical registry and path. */
export function parseAuthKey(text: string): { registry: string; path?: string } | string {
  if (text.trim() === '') return 'the registry is empty';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text))
    return 'write the registry without a scheme ("quay.io", not "https://quay.io")';
  const trimmed = text.replace(/\/+$/, '');
  const slash = trimmed.indexOf('/');
  const host = slash === -1 ? trimmed : trimmed.slice(0, slash);
  if (!isValidHost(host)) return `"${host}" is not a registry host`;
  const registry = canonicalRegistry(host).toLowerCase();
  if (slash === -1) return { registry };
  const path = trimmed.slice(slash + 1);
  try {
    // Under a name that is always a host, so only the path is checked.
    parseRepository(`localhost/${path}`);
  } catch (err) {
    return referenceProblem(err);
  }
  return { registry, path };
}

const TRUE = new Set(['true', 'yes', '1']);
const FALSE = new Set(['false', 'no', '0']);

export async function buildAuth(section: unknown, ctx: AuthContext): Promise<AuthResult> {
  const out: AuthResult = { entries: [], issues: [], warnings: [] };
  if (section === null || section === undefined) return out;
  const parsed = AuthSection.safeParse(section);
  if (!parsed.success) {
    out.issues.push({ file: ctx.file, key: 'auth', message: 'must be a mapping of registry → credentials' });
    return out;
  }
  await Promise.all(Object.entries(parsed.data).map(([key, value]) => buildEntry(key, value, ctx, out)));
  return out;
}

async function buildEntry(rawKey: string, value: unknown, ctx: AuthContext, out: AuthResult): Promise<void> {
  const key = mapKey('auth', rawKey);
  const before = out.issues.length;
  const at = (field?: string) => (field === undefined ? key : keyPath(key, field));
  const issue = (message: string, field?: string): void => {
    out.issues.push({ file: ctx.file, key: at(field), message });
  };
  const warn = (message: string, field?: string): void => {
    out.warnings.push(formatIssue({ file: ctx.file, key: at(field), message }));
  };

  const keyText = expandVars(rawKey, ctx.env);
  if (!keyText.ok) {
    issue(keyText.problem);
    return;
  }
  const prefix = parseAuthKey(keyText.value);
  if (typeof prefix === 'string') issue(prefix);

  if (value === null || value === undefined) {
    warn('empty entry; ignored');
    return;
  }
  const parsed = AuthEntry.safeParse(value);
  if (!parsed.success) {
    for (const p of problemsOf(parsed.error, value))
      issue(p.message, p.path.length > 0 ? String(p.path[0]) : undefined);
    return;
  }
  const { typos, ignored } = unknownKeys(Object.keys(parsed.data), AUTH_ENTRY_KEYS);
  for (const typo of typos) issue(describeTypo(typo));
  if (ignored.length > 0) warn(describeIgnored(ignored, AUTH_ENTRY_KEYS));

  const field = (name: 'username' | 'password' | 'token' | 'ca' | 'insecure'): string | undefined => {
    const raw = parsed.data[name];
    if (typeof raw !== 'string') return undefined;
    const r = expandVars(raw, ctx.env);
    if (!r.ok) {
      const route = r.written ? ' (a value that holds "${" itself can come through a variable: ${NAME})' : '';
      issue(`${r.problem}${route}`, name);
      return undefined;
    }
    if (r.value === '') {
      const why =
        r.empty.length > 0 ? ` (${r.empty.map((n) => `\${${n}}`).join(', ')} is set but empty)` : '';
      warn(`is empty${why}; ignored`, name);
      return undefined;
    }
    // A bare `$` stays literal (robot$project+ci); a value that is nothing but `$NAME` of a variable
    // that is set was most likely meant as one, as some tools expand it.
    const bare = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(raw)?.[1];
    if (bare !== undefined && ctx.env[bare] !== undefined)
      warn(`is "$${bare}" as written; variables are expanded only as \${${bare}}`, name);
    return r.value;
  };
  const username = field('username');
  const password = field('password');
  const token = field('token');
  const caText = field('ca');

  let insecure = false;
  const rawInsecure = parsed.data.insecure;
  if (typeof rawInsecure === 'boolean') insecure = rawInsecure;
  else if (rawInsecure !== undefined) {
    const text = field('insecure')?.trim().toLowerCase();
    if (text !== undefined && TRUE.has(text)) insecure = true;
    else if (text !== undefined && !FALSE.has(text))
      issue(`must be true or false, not "${text}"`, 'insecure');
  }

  if (password !== undefined && token !== undefined) issue('give a password or a token, not both');
  if (password !== undefined && username === undefined) issue('has a password but no username');
  if (username !== undefined && password === undefined && token === undefined && rawHasNoSecret(parsed.data))
    warn('has a username but no password or token; credentials for it come from the Docker config, if any');

  let ca: string | undefined;
  if (caText !== undefined) {
    ca = resolve(ctx.dir, caText);
    const found = await stat(ca).catch(() => undefined);
    if (found === undefined) issue(`CA file "${ca}" does not exist`, 'ca');
    else if (!found.isFile()) issue(`CA file "${ca}" is not a file`, 'ca');
    else if (!(await holdsCertificates(ca))) issue(`CA file "${ca}" holds no PEM certificate`, 'ca');
  }

  if (out.issues.length > before || typeof prefix === 'string') return;
  out.entries.push({
    ...prefix,
    auth: {
      ...(username !== undefined && { username }),
      ...(password !== undefined && { password }),
      ...(token !== undefined && { token }),
      insecure,
      ...(ca !== undefined && { ca }),
      origin: `${ctx.file}: ${key}`,
    },
  });
}

/** True when the entry gave no password or token at all (not: gave one that expanded to nothing). */
const rawHasNoSecret = (entry: AuthEntry) => entry.password === undefined && entry.token === undefined;

const prefixOf = (e: { registry: string; path?: string }) =>
  e.path === undefined ? e.registry : `${e.registry}/${e.path}`;

/**
 * Entries from several files, in order; a later entry for the same prefix replaces an earlier one
 * (Docker Hub aliases are the same prefix), with a warning.
 */
export function mergeAuth(entries: readonly AuthEntryLoaded[], warnings: string[]): AuthResolver {
  const byPrefix = new Map<string, AuthEntryLoaded>();
  for (const entry of entries) {
    const prefix = prefixOf(entry);
    const earlier = byPrefix.get(prefix);
    if (earlier !== undefined)
      warnings.push(`${entry.auth.origin}: replaces ${earlier.auth.origin} (both are ${prefix})`);
    byPrefix.set(prefix, entry);
  }
  return authResolver([...byPrefix.values()]);
}

/** Longest prefix on path-component boundaries; registries compare case-insensitively. */
export function authResolver(entries: readonly AuthEntryLoaded[]): AuthResolver {
  const list = [...entries];
  return {
    lookup(repo: Repository): RegistryAuth | undefined {
      const registry = canonicalRegistry(repo.registry).toLowerCase();
      let best: AuthEntryLoaded | undefined;
      let bestLength = -1;
      for (const e of list) {
        if (e.registry !== registry) continue;
        const length = e.path === undefined ? 0 : e.path.length;
        const matches =
          e.path === undefined || repo.repository === e.path || repo.repository.startsWith(`${e.path}/`);
        if (matches && length > bestLength) {
          best = e;
          bestLength = length;
        }
      }
      return best?.auth;
    },
    entries: () => list.map((e): [string, RegistryAuth] => [prefixOf(e), e.auth]),
  };
}

/** Whether `path` is a PEM bundle whose every certificate parses (a YAML file given by mistake is not). */
async function holdsCertificates(path: string): Promise<boolean> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return false;
  try {
    for (const block of blocks) new X509Certificate(block);
    return true;
  } catch {
    return false;
  }
}
