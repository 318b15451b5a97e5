import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';
import { ConfigError, type LoadedConfig, type LoadOptions, loadConfig } from '../../../src/config/index.ts';
import { formatReference, type Reference } from '../../../src/registry/reference.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A fresh temp dir holding the given files (relative path → content). */
export async function tempDir(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'image-sync-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

export type Opts = Partial<Omit<LoadOptions, 'cwd'>>;

/** loadConfig in a temp dir with these files; env is empty unless given. */
export async function load(files: Record<string, string>, opts: Opts = {}): Promise<LoadedConfig> {
  const cwd = await tempDir(files);
  return loadConfig({ env: {}, ...opts, cwd });
}

/** The ConfigError loadConfig throws for these files (fails the test when it does not throw). */
export async function loadError(files: Record<string, string>, opts: Opts = {}): Promise<ConfigError> {
  try {
    await load(files, opts);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** One line per destination: `source-selector -> destination[tags]`. */
export function describeRules(config: LoadedConfig): string[] {
  return config.rules.flatMap((r) => {
    const sel = r.select;
    const src =
      sel.kind === 'all'
        ? `${r.source.registry}/${r.source.repository}`
        : sel.kind === 'list'
          ? `${r.source.registry}/${r.source.repository}:${sel.tags.join(',')}`
          : sel.kind === 'regex'
            ? `${r.source.registry}/${r.source.repository}:/${sel.pattern.source}/`
            : formatReference({ ...r.source, digest: sel.digest } as Reference);
    return r.destinations.map(
      (d) =>
        `${src} -> ${d.repo.registry}/${d.repo.repository}${d.tags === undefined ? '' : `:${d.tags.join(',')}`}`,
    );
  });
}

/** A real certificate (self-signed, P-256, valid for a century), for `ca:` files. */
export const TEST_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUF39ksv0yijriTIutFS5gJugt1KEwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXaW1hZ2Utc3luYyB1bml0LXRlc3QgQ0EwIBcNMjYxMTIzMTYz
NzE0WhgPMjEyNjEwMzAxNjM3MTRaMCIxIDAeBgNVBAMMF2ltYWdlLXN5bmMgdW5p
dC10ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAESaAbWjVjg0laOj3W
J4QVtaZ6yormfSY99GO4K5nxI1eZWeQlfqAXs4MF8tjwsxBEkiWqNgZ8yCBEEGVB
su0eh6NTMFEwHQYDVR0OBBYEFLfu+nemC0FHcpWtP1QooL+Bvgy2MB8GA1UdIwQY
MBaAFLfu+nemC0FHcpWtP1QooL+Bvgy2MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
zj0EAwIDRwAwRAIgDPIeHgWKtYS5mJWNMLKXs6qoWDGSVK5ktAqGPvA3G8sCIERr
8dPyETjwD+MGEsvLx98d04ir+bjp8s1fVrDQTmKA
-----END CERTIFICATE-----\n`;
