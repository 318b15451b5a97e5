import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every temp dir made here that has not been removed yet; removed on process exit as a last resort.
 * Note: vitest ends its fork workers with a signal, so 'exit' handlers do not run there — remove temp
 * dirs explicitly (withTempDir, or TempDirs + afterAll).
 */
const live = new Set<string>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const dir of live) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
}

/** A fresh directory under `parent`, by default the OS temp dir (`/tmp/image-sync-test-XXXXXX`). */
export async function makeTempDir(prefix = 'image-sync-test-', parent = tmpdir()): Promise<string> {
  hookExit();
  const dir = await mkdtemp(join(parent, prefix));
  live.add(dir);
  return dir;
}

/** Removes a directory made by makeTempDir (or any directory); never throws for a missing one. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  live.delete(dir);
}

/** Runs `fn` with a fresh temp dir and removes it afterwards, whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = await makeTempDir(prefix);
  try {
    return await fn(dir);
  } finally {
    await removeTempDir(dir);
  }
}

/** A group of temp dirs removed together, e.g. `const tmp = new TempDirs()` + `afterAll(() => tmp.cleanup())`. */
export class TempDirs {
  readonly #dirs: string[] = [];

  async make(prefix?: string): Promise<string> {
    const dir = await makeTempDir(prefix);
    this.#dirs.push(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    const dirs = this.#dirs.splice(0);
    await Promise.all(dirs.map((d) => removeTempDir(d)));
  }
}
