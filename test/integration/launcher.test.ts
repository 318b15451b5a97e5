import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asScript } from '../../bin/code-cache.mjs';
import { runCli } from '../support/cli-runner.ts';
import { buildImage, writeOciLayout } from '../support/images.ts';
import { TempDirs } from '../support/tmp.ts';

// bin/image-sync.mjs starts the bundle with a V8 code cache kept in $TMPDIR/image-sync-code-cache-<uid>.
const dirs = new TempDirs();
afterAll(() => dirs.cleanup());

const cacheDirIn = (tmp: string) => join(tmp, `image-sync-code-cache-${process.getuid?.() ?? ''}`);

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
  it('keeps a code cache from a run that synced, starts from it next time, and replaces one V8 refuses', async () => {
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
    expect((await stat(cache)).mode & 0o777).toBe(0o700);

    // Accepted as it is: a refused cache would have been written again.
    const second = await sync(dir, env);
    expect(second.code, second.stderr).toBe(0);
    const after = await stat(file);
    expect([after.ino, after.mtimeMs]).toEqual([kept.ino, kept.mtimeMs]);

    await writeFile(file, 'not a code cache');
    const third = await sync(dir, env);
    expect(third.code, third.stderr).toBe(0);
    expect((await readFile(file)).length).toBeGreaterThan(100_000);
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

  it('reads the bundle as ncc writes it, and leaves anything else to import()', async () => {
    const bundle = await readFile(new URL('../../dist/cli/index.js', import.meta.url), 'utf8');
    const script = asScript(bundle);
    expect(script).toMatch(/^\(async function \(require, __bundleUrl\) \{"use strict";/);
    expect(script).not.toMatch(/import\.meta/);
    expect(asScript('export const x = 1;\n')).toBeUndefined();
  });
});
