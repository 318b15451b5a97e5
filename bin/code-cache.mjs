// Starts the CLI bundle with a V8 code cache taken at the end of an earlier run. Node's own compile
// cache (module.enableCompileCache) is taken just after compiling, so it holds only the code V8
// compiles up front: every start still compiled, one by one, the functions a sync goes on to call —
// about 60 ms of a no-op run on the benchmark's mirror. A cache taken after a run holds those too.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/**
 * The ES module ncc writes, as a script: a function of `require` and the bundle's URL. Undefined when
 * the bundle does not start the way ncc's do; a bundle that is not a script once rewritten fails to
 * compile, and is then imported as it is.
 * @param {string} bundle
 * @returns {string | undefined}
 */
export function asScript(bundle) {
  const body = bundle.replace(/^#!.*\n/, '');
  const head = /^import\s*\{\s*createRequire as ([\w$]+)\s*\}\s*from\s*"module";/.exec(body);
  if (head === null) return undefined;
  const rest = body.slice(head[0].length).replaceAll('import.meta.url', '__bundleUrl');
  return `(async function (require, __bundleUrl) {"use strict";const{createRequire:${head[1]}}=require("module");${rest}\n})`;
}

/**
 * A directory only this user can write to, or undefined. The cache is code this process will run, so
 * a directory someone else could have put a file in will not do. `NODE_DISABLE_COMPILE_CACHE` turns
 * the cache off, as it does Node's.
 * @returns {string | undefined}
 */
export function cacheDir() {
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  const uid = process.getuid?.();
  const dir = join(tmpdir(), uid === undefined ? 'image-sync-code-cache' : `image-sync-code-cache-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') return undefined;
  }
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory()) return undefined;
    if (uid !== undefined && (st.uid !== uid || (st.mode & 0o022) !== 0)) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/** Runs that only print the version or the help compile too little to be worth keeping. */
const BRIEF = new Set(['-V', '--version', '-h', '--help']);

/**
 * @param {URL} bundleUrl
 * @param {readonly string[]} args
 */
export async function start(bundleUrl, args) {
  const source = asScript(readFileSync(bundleUrl, 'utf8'));
  const dir = source === undefined ? undefined : cacheDir();
  const key = source === undefined ? '' : createHash('sha256').update(source).update(process.version);
  const file = dir === undefined ? undefined : join(dir, `${key.digest('hex').slice(0, 32)}.bin`);
  let cachedData;
  try {
    cachedData = file === undefined ? undefined : readFileSync(file);
  } catch {
    cachedData = undefined;
  }
  let script;
  try {
    script =
      source === undefined
        ? undefined
        : new vm.Script(source, { filename: fileURLToPath(bundleUrl), cachedData });
  } catch {
    script = undefined;
  }
  if (script === undefined) {
    module.enableCompileCache?.();
    await import(bundleUrl.href);
    return;
  }
  const stale = cachedData === undefined || script.cachedDataRejected === true;
  if (file !== undefined && stale && !args.some((a) => BRIEF.has(a))) {
    // Kept from a run that got to sync (exit 0 or 1), not from one stopped by bad input (exit 2).
    process.once('exit', (code) => (code === 0 || code === 1 ? save(file, script) : undefined));
  }
  await script.runInThisContext()(createRequire(bundleUrl), bundleUrl.href);
}

/**
 * @param {string} file
 * @param {vm.Script} script
 */
function save(file, script) {
  const partial = `${file}.${process.pid}`;
  try {
    writeFileSync(partial, script.createCachedData(), { mode: 0o600 });
    renameSync(partial, file);
  } catch {
    // Only a cache: the next start compiles as if there were none.
  }
}
