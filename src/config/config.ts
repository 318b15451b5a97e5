import { type AuthEntryLoaded, buildAuth, mergeAuth, revealSecrets } from './auth.ts';
import { ConfigError, type ConfigIssue, formatIssue } from './errors.ts';
import { describeIgnored, describeTypo, unknownKeys } from './keys.ts';
import { type ParsedFile, parseText, readConfigFile } from './load.ts';
import { buildRules } from './rules.ts';
import { COMBINED_KEYS, CombinedFile } from './schema.ts';
import type { LoadedConfig, LoadOptions, Rule } from './types.ts';

/** Where the sections of the config came from. */
interface Section {
  readonly file: ParsedFile;
  readonly data: unknown;
}

const isMapping = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Reads the combined file, the auth file, the images file and the inline images (any of them; at least
 * one must give rules), reports every secret, then checks everything and throws one ConfigError with
 * every problem found.
 */
export async function loadConfig(opts: LoadOptions): Promise<LoadedConfig> {
  if (opts.config === undefined && opts.images === undefined && opts.imagesInline === undefined)
    throw new ConfigError([
      {
        file: 'configuration',
        message:
          'no image rules: give a config file with an images: section, an images file, or inline images',
      },
    ]);
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const read = async (name: string | undefined, givenAs: string | undefined) => {
    if (name === undefined) return undefined;
    const r = await readConfigFile(name, opts.cwd, givenAs);
    if ('message' in r) {
      issues.push(r);
      return undefined;
    }
    return r;
  };
  const [config, authFile, imagesFile] = await Promise.all([
    read(opts.config, opts.givenAs?.config),
    read(opts.auth, opts.givenAs?.auth),
    read(opts.images, opts.givenAs?.images),
  ]);
  let inline: ParsedFile | undefined;
  if (opts.imagesInline !== undefined) {
    const name = 'input "images"';
    const parsed = parseText(opts.imagesInline, name);
    if ('message' in parsed) issues.push(parsed);
    else inline = { name, dir: opts.cwd, data: parsed.data };
  }

  const authSections: Section[] = [];
  const imageSections: Section[] = [];
  if (config !== undefined) {
    const before = issues.length;
    const combined = combinedSections(config, issues, warnings);
    if (combined.auth !== undefined) authSections.push({ file: config, data: combined.auth });
    if (combined.images !== undefined) imageSections.push({ file: config, data: combined.images });
    // A file already reported as unusable is not reported again for what it lacks.
    else if (
      issues.length === before &&
      imagesFile === undefined &&
      inline === undefined &&
      opts.images === undefined &&
      opts.imagesInline === undefined
    )
      issues.push({
        file: config.name,
        message:
          'has no images: section, and no images file or inline images were given (a file that is the source → destination map itself is an images file)',
      });
  }
  if (authFile !== undefined && separateFile(authFile, 'auth', issues))
    authSections.push({ file: authFile, data: authFile.data });
  for (const f of [imagesFile, inline])
    if (f !== undefined && separateFile(f, 'images', issues)) imageSections.push({ file: f, data: f.data });

  // Secrets first, wherever an auth section is (even one given in the wrong place): the caller masks
  // them before anything below can be logged.
  if (opts.onSecret !== undefined) {
    const sections = [
      authFile?.data,
      ...[config, imagesFile, inline].map((f) => (isMapping(f?.data) ? f.data.auth : undefined)),
    ];
    for (const s of sections) revealSecrets(s, opts.env, opts.onSecret);
  }

  const authEntries: AuthEntryLoaded[] = [];
  for (const s of authSections) {
    const r = await buildAuth(s.data, { file: s.file.name, dir: s.file.dir, env: opts.env });
    issues.push(...r.issues);
    warnings.push(...r.warnings);
    authEntries.push(...r.entries);
  }
  const rules: Rule[] = [];
  for (const s of imageSections) {
    const r = buildRules(s.data, { file: s.file.name, env: opts.env, defaults: destinationDefaults(opts) });
    issues.push(...r.issues);
    rules.push(...r.rules);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { rules, auth: mergeAuth(authEntries, warnings), warnings };
}

/** The combined file: `auth:` and `images:`; a near miss of one that is missing is an error, other keys warnings. */
function combinedSections(
  file: ParsedFile,
  issues: ConfigIssue[],
  warnings: string[],
): { auth?: unknown; images?: unknown } {
  if (file.data === null || file.data === undefined) {
    issues.push({ file: file.name, message: 'is empty' });
    return {};
  }
  const parsed = CombinedFile.safeParse(file.data);
  if (!parsed.success || !isMapping(file.data)) {
    issues.push({ file: file.name, message: 'must be a mapping with auth: and images: sections' });
    return {};
  }
  const { typos, ignored } = unknownKeys(Object.keys(parsed.data), COMBINED_KEYS);
  for (const typo of typos) issues.push({ file: file.name, message: describeTypo(typo) });
  if (ignored.length > 0)
    warnings.push(
      formatIssue({ file: file.name, message: describeIgnored(ignored, COMBINED_KEYS, 'top-level key') }),
    );
  return parsed.data;
}

/**
 * A separate file is the map itself. One with a top-level `auth:` or `images:` holding a mapping (or
 * rule objects) is a combined file given in the wrong place: said plainly rather than read as a
 * registry or an image called "auth".
 */
function separateFile(file: ParsedFile, kind: 'auth' | 'images', issues: ConfigIssue[]): boolean {
  if (!isMapping(file.data)) return true;
  const nested = COMBINED_KEYS.filter((k) => {
    const v =
      file.data !== null && typeof file.data === 'object'
        ? (file.data as Record<string, unknown>)[k]
        : undefined;
    return isMapping(v) || (Array.isArray(v) && v.some(isMapping));
  });
  if (nested.length === 0) return true;
  const where =
    kind === 'auth' ? 'the auth file' : file.name.startsWith('input') ? 'inline images' : 'the images file';
  issues.push({
    file: file.name,
    message: `has a top-level "${nested[0]}:" section, but ${where} is the ${kind === 'auth' ? 'registry → credentials' : 'source → destination'} map itself: remove that level, or give the file as the combined config`,
  });
  return false;
}

/** For `""` destinations: what the caller gives (flags, inputs), else DEFAULT_REGISTRY / DEFAULT_NAMESPACE. */
function destinationDefaults(opts: LoadOptions): { registry?: string; namespace?: string } {
  const registry = opts.defaults?.registry || opts.env.DEFAULT_REGISTRY;
  const namespace = opts.defaults?.namespace || opts.env.DEFAULT_NAMESPACE;
  return { ...(registry && { registry }), ...(namespace && { namespace }) };
}
