// Starts the CLI bundle with a V8 code cache taken at the end of an earlier run. Node's own compile
// cache (module.enableCompileCache) is taken just after compiling, so it holds only the code V8
// compiles up front: every start still compiled, one by one, the functions a sync goes on to call —
// about 50 ms of a no-op run on the benchmark's mirror. A cache taken after a run holds those too.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/** sha256 of the payload, in front of it: V8 checks a cache's header, not its contents. */
const CHECKSUM_BYTES = 32;

/**
 * Caches kept, newest first. Each bundle, Node version and set of flags gets its own (about 1 MB), so
 * upgrades would otherwise pile them up; a few spare ones let versions used side by side keep theirs.
 */
const KEEP = 8;
const CACHE_FILE = /^[0-9a-f]{32}\.bin$/;
/** Left by a process stopped while writing its cache. */
const PARTIAL_FILE = /^[0-9a-f]{32}\.bin\.[0-9a-f]{16}$/;
const PARTIAL_MAX_AGE_MS = 60 * 60 * 1000;

/** Runs that only print the version or the help compile too little to be worth keeping. */
const BRIEF = new Set(['-V', '--version', '-h', '--help']);

/**
 * The ES module ncc writes, as a script: a function of `createRequire` and the bundle's URL. Undefined
 * when the bundle does not start the way ncc's do; one that is still not a script once rewritten fails
 * to compile, and is then imported as it is.
 * @param {string} bundle
 * @returns {string | undefined}
 */
export function asScript(bundle) {
  const body = bundle.replace(/^#!.*\n/, '');
  const head = /^import\s*\{\s*createRequire as ([\w$]+)\s*\}\s*from\s*"module";/.exec(body);
  if (head === null) return undefined;
  const rest = body.slice(head[0].length).replaceAll('import.meta.url', '__imageSyncBundleUrl');
  return `(async function (__imageSyncCreateRequire, __imageSyncBundleUrl) {"use strict";const ${head[1]}=__imageSyncCreateRequire;${rest}\n})`;
}

/**
 * A directory only this user can write to, or undefined. The cache is code this process will run, so
 * a directory someone else could put a file in will not do — nor one whose owner cannot be checked
 * (Windows). `NODE_DISABLE_COMPILE_CACHE` turns the cache off, as it does Node's.
 * @returns {string | undefined}
 */
export function cacheDir() {
  const uid = process.getuid?.();
  if (process.env.NODE_DISABLE_COMPILE_CACHE || uid === undefined) return undefined;
  const dir = join(tmpdir(), `image-sync-code-cache-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') return undefined;
  }
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && ownedByMe(st, uid) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * @param {import('node:fs').Stats} st
 * @param {number} uid
 */
const ownedByMe = (st, uid) => st.uid === uid && (st.mode & 0o022) === 0;

/**
 * The cached data in `file`, if it is a regular file of this user's that no one else can write to and
 * its checksum holds; otherwise undefined (and the run writes a new one).
 * @param {string} file
 * @returns {Buffer | undefined}
 */
function readCache(file) {
  let fd;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    if (!st.isFile() || !ownedByMe(st, /** @type {number} */ (process.getuid?.()))) return undefined;
    const data = readFileSync(fd);
    const payload = data.subarray(CHECKSUM_BYTES);
    const sum = createHash('sha256').update(payload).digest();
    return data.length > CHECKSUM_BYTES && sum.equals(data.subarray(0, CHECKSUM_BYTES)) ? payload : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * @param {string} file
 * @param {vm.Script} script
 */
function save(file, script) {
  const partial = `${file}.${randomBytes(8).toString('hex')}`;
  try {
    const payload = script.createCachedData();
    const flags = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW;
    const fd = openSync(partial, flags, 0o600);
    try {
      writeSync(fd, createHash('sha256').update(payload).digest());
      writeSync(fd, payload);
    } finally {
      closeSync(fd);
    }
    renameSync(partial, file);
  } catch {
    // Only a cache: the next start compiles as if there were none.
    try {
      unlinkSync(partial);
    } catch {}
    return;
  }
  prune(dirname(file));
}

/**
 * Removes all but the KEEP most recently written caches, and partial files over an hour old. A cache
 * in use is not written again, so an old one still in use may go; it is then taken anew by its next run.
 * @param {string} dir
 */
function prune(dir) {
  /** @type {{ path: string, written: number }[]} */
  const caches = [];
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    try {
      if (CACHE_FILE.test(name)) caches.push({ path, written: lstatSync(path).mtimeMs });
      else if (PARTIAL_FILE.test(name) && Date.now() - lstatSync(path).mtimeMs > PARTIAL_MAX_AGE_MS)
        unlinkSync(path);
    } catch {
      // Gone already (another run pruning), or not ours to remove: the rest still are.
    }
  }
  caches.sort((a, b) => b.written - a.written);
  for (const { path } of caches.slice(KEEP)) {
    try {
      unlinkSync(path);
    } catch {}
  }
}

/**
 * @param {URL} bundleUrl
 * @param {readonly string[]} args
 */
export async function start(bundleUrl, args) {
  const source = asScript(readFileSync(bundleUrl, 'utf8'));
  const dir = source === undefined ? undefined : cacheDir();
  const compiled = source === undefined || dir === undefined ? undefined : compile(source, dir, bundleUrl);
  if (compiled === undefined) {
    module.enableCompileCache?.();
    await import(bundleUrl.href);
    return;
  }
  const { script, file, stale } = compiled;
  if (stale && !args.some((a) => BRIEF.has(a))) {
    // Kept from a run that got to sync (exit 0 or 1), not from one stopped by bad input (exit 2).
    process.once('exit', (code) => (code === 0 || code === 1 ? save(file, script) : undefined));
  }
  await script.runInThisContext()(createRequire, bundleUrl.href);
}

/**
 * The script, compiled with the cache in `dir` when there is a sound one; undefined when it does not
 * compile as a script.
 * @param {string} source
 * @param {string} dir
 * @param {URL} bundleUrl
 * @returns {{ script: vm.Script, file: string, stale: boolean } | undefined}
 */
function compile(source, dir, bundleUrl) {
  // V8 refuses a cache made under other flags: each set of them gets its own.
  const key = createHash('sha256')
    .update(`${process.version}\0${process.execArgv.join('\0')}\0${process.env.NODE_OPTIONS ?? ''}\0`)
    .update(source);
  const file = join(dir, `${key.digest('hex').slice(0, 32)}.bin`);
  const cachedData = readCache(file);
  try {
    const script = new vm.Script(source, {
      filename: fileURLToPath(bundleUrl),
      cachedData,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    return { script, file, stale: cachedData === undefined || script.cachedDataRejected === true };
  } catch {
    return undefined;
  }
}
