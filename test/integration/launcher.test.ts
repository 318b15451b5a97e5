import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { asScript } from '../../bin/code-cache.mjs';
import { runCli } from '../support/cli-runner.ts';
import { buildImage, pushImage, writeOciLayout } from '../support/images.ts';
import { startRegistry } from '../support/registry.ts';
import { TempDirs } from '../support/tmp.ts';

// bin/image-sync.mjs starts the bundle with a V8 code cache kept in $TMPDIR/image-sync-code-cache-<uid>.
const dirs = new TempDirs();
afterAll(() => dirs.cleanup());

const cacheDirIn = (tmp: string) => join(tmp, `image-sync-code-cache-${process.getuid?.()}`);

/** What Node's own compile cache would hold: the bundle's code cache just after compiling, before running. */
async function cacheBeforeRunning(): Promise<number> {
  const bundle = await readFile(new URL('../../dist/cli/index.js', import.meta.url), 'utf8');
  return new vm.Script(asScript(bundle)!, { filename: 'before-running.js' }).createCachedData().length;
}

/** A workspace with a layout of one image, and a TMPDIR of its own. */
async function workspace(): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await dirs.make();
  await writeOciLayout(join(dir, 'in'), [{ ref: 'v1', built: buildImage({ seed: 'launcher' }) }]);
  await writeFile(join(dir, 'sync.yaml'), 'images:\n  oci:./in: oci:./out\n');
  await mkdir(join(dir, 'tmp'));
  return { dir, env: { TMPDIR: join(dir, 'tmp') } };
}

const sync = (dir: string, env: Record<string, string>) =>
  runCli(['--config', 'sync.yaml'], { cwd: dir, env: { HOME: dir, ...env } });

describe('the CLI launcher', () => {
  it('keeps a code cache from a run that synced, starts from it next time, and replaces a damaged one', async () => {
    const { dir, env } = await workspace();
    const cache = cacheDirIn(env.TMPDIR!);

    const bad = await runCli(['--config', 'missing.yaml'], { cwd: dir, env });
    expect(bad.code).toBe(2);
    expect(await readdir(cache)).toEqual([]);

    const first = await sync(dir, env);
    expect(first.code, first.stderr).toBe(0);
    const [name, ...others] = await readdir(cache);
    expect(others).toEqual([]);
    const file = join(cache, name!);
    const kept = await stat(file);
    expect((await stat(cache)).mode & 0o077).toBe(0);
    // Taken after the run: it holds the functions the sync compiled, not only what V8 compiles up front.
    expect(kept.size).toBeGreaterThan(1.5 * (await cacheBeforeRunning()));

    // Accepted as it is: a refused cache would have been written again.
    const second = await sync(dir, env);
    expect(second.code, second.stderr).toBe(0);
    const after = await stat(file);
    expect([after.ino, after.mtimeMs]).toEqual([kept.ino, kept.mtimeMs]);

    // Bytes changed inside the code: V8 checks only a cache's header, and would run them.
    const damaged = await readFile(file);
    damaged.fill(0xa5, 5000, 5016);
    await writeFile(file, damaged);
    const third = await sync(dir, env);
    expect(third.code, third.stderr).toBe(0);
    const replaced = await readFile(file);
    expect(replaced.equals(damaged)).toBe(false);
    // Sound again: its checksum (the first 32 bytes) matches the rest.
    expect(createHash('sha256').update(replaced.subarray(32)).digest()).toEqual(replaced.subarray(0, 32));
  });

  it('takes its cache again after runs that talked to a registry: V8 flags changed for a connection are put back', async () => {
    // src/registry/transport/parser-tier-up.ts changes a V8 flag until undici's first connection.
    const registry = await startRegistry();
    try {
      await pushImage(registry, 'lib/app', 'v1', buildImage({ seed: 'launcher-registry' }));
      const { dir, env } = await workspace();
      await writeFile(
        join(dir, 'sync.yaml'),
        `images:\n  ${registry.host}/lib/app:v1: ${registry.host}/copy/app\n`,
      );
      const cache = cacheDirIn(env.TMPDIR!);

      const first = await sync(dir, env);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toContain('1 synced');
      const [name, ...others] = await readdir(cache);
      expect(others).toEqual([]);
      const kept = await stat(join(cache, name!));

      const second = await sync(dir, env);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).toContain('1 skipped');
      const after = await stat(join(cache, name!));
      expect([after.ino, after.mtimeMs]).toEqual([kept.ino, kept.mtimeMs]);
    } finally {
      await registry.stop();
    }
  });

  it('keeps the 8 newest caches when it writes one, and no stale partial files, so nothing piles up', async () => {
    const { dir, env } = await workspace();
    const cache = cacheDirIn(env.TMPDIR!);
    await mkdir(cache, { mode: 0o700 });
    // Caches of earlier bundles, one a day, the last yesterday; and a file that is not a cache.
    const earlier = Array.from({ length: 10 }, (_, i) => `${String(i).padStart(32, '0')}.bin`);
    const day = 24 * 60 * 60 * 1000;
    for (const [i, name] of earlier.entries()) {
      await writeFile(join(cache, name), 'earlier');
      const written = new Date(Date.now() - (earlier.length - i) * day);
      await utimes(join(cache, name), written, written);
    }
    await writeFile(join(cache, 'notes.txt'), 'not a cache');
    // Partial files of runs stopped while writing: one two hours old, one just begun.
    const stale = `${'a'.repeat(32)}.bin.${'0'.repeat(16)}`;
    const fresh = `${'b'.repeat(32)}.bin.${'1'.repeat(16)}`;
    await writeFile(join(cache, stale), 'partial');
    await writeFile(join(cache, fresh), 'partial');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(join(cache, stale), twoHoursAgo, twoHoursAgo);

    const run = await sync(dir, env);

    expect(run.code, run.stderr).toBe(0);
    const left = (await readdir(cache)).sort();
    const written = left.filter((name) => !earlier.includes(name) && !['notes.txt', fresh].includes(name));
    expect(written).toHaveLength(1);
    expect(left).toEqual([...earlier.slice(3), ...written, 'notes.txt', fresh].sort());
  });

  it('leaves a cache directory that others can write to alone', async () => {
    const { dir, env } = await workspace();
    const cache = cacheDirIn(env.TMPDIR!);
    await mkdir(cache);
    await chmod(cache, 0o777);

    const run = await sync(dir, env);

    expect(run.code, run.stderr).toBe(0);
    expect(await readdir(cache)).toEqual([]);
  });

  it('runs without a cache when told to, as Node does', async () => {
    const { dir, env } = await workspace();

    const run = await sync(dir, { ...env, NODE_DISABLE_COMPILE_CACHE: '1' });

    expect(run.code, run.stderr).toBe(0);
    expect(await readdir(env.TMPDIR!)).toEqual([]);
  });

  it('reads the bundle as ncc writes it, and leaves anything else to import()', async () => {
    const bundle = await readFile(new URL('../../dist/cli/index.js', import.meta.url), 'utf8');
    const script = asScript(bundle);
    expect(script).toMatch(
      /^\(async function \(__imageSyncCreateRequire, __imageSyncBundleUrl\) \{"use strict";/,
    );
    expect(script).not.toMatch(/import\.meta/);
    expect(asScript('export const x = 1;\n')).toBeUndefined();
  });
});
