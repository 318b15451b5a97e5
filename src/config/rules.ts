import semver from 'semver';
import { formatRepository } from '../registry/reference.ts';
import { type ConfigIssue, keyPath, mapKey } from './errors.ts';
import { expandVars } from './expand.ts';
import { parsePlatformList } from './platforms.ts';
import { ImagesSection, MapDestinations, problemsOf, RuleObject, type TagFilterSpec } from './schema.ts';
import { compileRegex, type Defaults, parseDestination, parseSource, type SourceSpec } from './specs.ts';
import type { Platform, Rule, RuleDestination, TagFilter } from './types.ts';

/** The `images` of one file (or input) → typed rules, with every problem found. */

export interface RulesContext {
  readonly file: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly defaults?: Defaults;
}

export interface RulesResult {
  readonly rules: Rule[];
  readonly issues: ConfigIssue[];
}

export function buildRules(section: unknown, ctx: RulesContext): RulesResult {
  const out: RulesResult = { rules: [], issues: [] };
  if (section === null || section === undefined) {
    out.issues.push({ file: ctx.file, message: 'no image rules (the images are empty)' });
    return out;
  }
  const parsed = ImagesSection.safeParse(section);
  if (!parsed.success) {
    for (const p of problemsOf(parsed.error, section))
      out.issues.push({ file: ctx.file, key: 'images', message: p.message });
    return out;
  }
  const entries = parsed.data;
  if ((Array.isArray(entries) ? entries.length : Object.keys(entries).length) === 0)
    out.issues.push({ file: ctx.file, key: 'images', message: 'no image rules (the images are empty)' });
  if (Array.isArray(entries)) for (const [i, entry] of entries.entries()) listRule(entry, i, ctx, out);
  else for (const [source, dest] of Object.entries(entries)) mapRule(source, dest, ctx, out);
  return out;
}

/** Expands `${VAR}`; on failure reports `<label>: <problem>` and gives undefined. */
function expander(ctx: RulesContext, key: string, out: RulesResult) {
  return (text: string, label: string): string | undefined => {
    const r = expandVars(text, ctx.env);
    if (r.ok) return r.value;
    out.issues.push({ file: ctx.file, key, message: `${label}: ${r.problem}` });
    return undefined;
  };
}

/** Destinations of one rule; duplicates are dropped, as image-syncer does. */
function parseDestinations(
  texts: readonly string[],
  source: SourceSpec,
  ctx: RulesContext,
  key: string,
  out: RulesResult,
): RuleDestination[] {
  const expand = expander(ctx, key, out);
  const result: RuleDestination[] = [];
  const seen = new Set<string>();
  for (const raw of texts) {
    const text = expand(raw, `destination "${raw}"`);
    if (text === undefined) continue;
    const dest = parseDestination(text, source, ctx.defaults);
    if (typeof dest === 'string') {
      out.issues.push({ file: ctx.file, key, message: `destination "${text}": ${dest}` });
      continue;
    }
    const id = `${formatRepository(dest.repo)}:${dest.tags?.join(',') ?? ''}`;
    if (!seen.has(id)) {
      seen.add(id);
      result.push(dest);
    }
  }
  return result;
}

/** image-syncer's form: `source: destination` or `source: [destination, …]`. */
function mapRule(rawSource: string, value: unknown, ctx: RulesContext, out: RulesResult): void {
  const key = mapKey('images', rawSource);
  const issue = (message: string, at = key): void => {
    out.issues.push({ file: ctx.file, key: at, message });
  };
  if (value === null || value === undefined) {
    issue('no destination (write "" for the default registry)');
    return;
  }
  const dests = MapDestinations.safeParse(value);
  if (!dests.success) {
    for (const p of problemsOf(dests.error, value)) issue(p.message, keyPath(key, ...p.path));
    return;
  }
  const sourceText = expander(ctx, key, out)(rawSource, `source "${rawSource}"`);
  if (sourceText === undefined) return;
  const source = parseSource(sourceText);
  if (typeof source === 'string') {
    issue(`source "${sourceText}": ${source}`);
    return;
  }
  const list = typeof dests.data === 'string' ? [dests.data] : dests.data;
  const before = out.issues.length;
  const destinations = parseDestinations(list, source, ctx, key, out);
  if (out.issues.length > before) return;
  out.rules.push({
    origin: { file: ctx.file, key },
    source: source.repo,
    select: source.select,
    destinations,
  });
}

/** Our form: `{ source, destination(s), tags: { include, exclude, semver, latest }, platforms, referrers }`. */
function listRule(entry: unknown, index: number, ctx: RulesContext, out: RulesResult): void {
  const key = `images[${index}]`;
  const parsed = RuleObject.safeParse(entry);
  if (!parsed.success) {
    for (const p of problemsOf(parsed.error, entry))
      out.issues.push({ file: ctx.file, key: keyPath(key, ...p.path), message: p.message });
    return;
  }
  const spec = parsed.data;
  const before = out.issues.length;
  const issue = (message: string, at: string): void => {
    out.issues.push({ file: ctx.file, key: at, message });
  };
  const expand = expander(ctx, key, out);

  const sourceText = expand(spec.source, `source "${spec.source}"`);
  const source = sourceText === undefined ? undefined : parseSource(sourceText);
  if (typeof source === 'string') issue(`source "${sourceText}": ${source}`, key);

  const destValue = spec.destination ?? spec.destinations ?? [];
  const destTexts = typeof destValue === 'string' ? [destValue] : destValue;
  const dests =
    source === undefined || typeof source === 'string'
      ? []
      : parseDestinations(destTexts, source, ctx, key, out);

  let filter: TagFilter | undefined;
  if (spec.tags !== undefined) {
    filter = tagFilter(
      spec.tags,
      (text, label) => expand(text, label),
      (m, field) => issue(m, keyPath(key, 'tags', field)),
    );
    if (typeof source === 'object' && source.select.kind === 'digest' && filter !== undefined)
      issue('a source pinned by digest has no tags to filter', keyPath(key, 'tags'));
  }

  let wanted: Platform[] | undefined;
  if (spec.platforms !== undefined) {
    const texts = (typeof spec.platforms === 'string' ? [spec.platforms] : spec.platforms).map((t) =>
      expand(t, 'platforms'),
    );
    const { platforms: list, problems } = parsePlatformList(texts.filter((t) => t !== undefined));
    for (const p of problems) issue(p, keyPath(key, 'platforms'));
    if (list.length === 0 && problems.length === 0) issue('must not be empty', keyPath(key, 'platforms'));
    wanted = list;
  }

  if (out.issues.length > before || source === undefined || typeof source === 'string') return;
  out.rules.push({
    origin: { file: ctx.file, key },
    source: source.repo,
    select: source.select,
    ...(filter !== undefined && { filter }),
    destinations: dests,
    ...(wanted !== undefined && { platforms: wanted }),
    ...(spec.referrers !== undefined && { referrers: spec.referrers }),
  });
}

/** `tags:` of a rule object → a TagFilter; undefined when it filters nothing or is wrong (reported). */
function tagFilter(
  spec: TagFilterSpec,
  expand: (text: string, label: string) => string | undefined,
  report: (message: string, field: string) => void,
): TagFilter | undefined {
  const regexes = (field: 'include' | 'exclude'): RegExp[] | undefined => {
    const value = spec[field];
    if (value === undefined) return undefined;
    const list: RegExp[] = [];
    for (const raw of typeof value === 'string' ? [value] : value) {
      const text = expand(raw, `tags.${field}`);
      if (text === undefined) continue;
      if (text === '') {
        report('an empty regex matches only the empty tag', field);
        continue;
      }
      const re = compileRegex(text, true);
      if (typeof re === 'string') report(re, field);
      else list.push(re);
    }
    return list;
  };
  const include = regexes('include');
  const exclude = regexes('exclude');
  let range: string | undefined;
  if (spec.semver !== undefined) {
    const text = expand(spec.semver, 'tags.semver');
    if (text !== undefined) {
      if (text.trim() === '' || semver.validRange(text) === null)
        report(`"${text}" is not a semver range (e.g. ">=1.25 <2", "^3.1", "~1.2.0")`, 'semver');
      else range = text;
    }
  }
  const filter: TagFilter = {
    ...(include !== undefined && include.length > 0 && { include }),
    ...(exclude !== undefined && exclude.length > 0 && { exclude }),
    ...(range !== undefined && { semver: range }),
    ...(spec.latest !== undefined && { latest: spec.latest }),
  };
  return Object.keys(filter).length === 0 ? undefined : filter;
}
