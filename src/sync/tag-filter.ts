import semver from 'semver';
import type { TagFilter, TagSelector } from '../config/index.ts';

/**
 * Tag filters of a rule (pure). A tag is kept when it matches an `include` regex (when there are any),
 * matches no `exclude` regex, and — with `semver` — is a version in the range. Then `latest: N` keeps
 * the N highest versions.
 *
 * Versions: strict semver (`1.2.3`, `1.2.3-rc.1`) with an optional leading `v`; no loose coercion, so
 * `1.25`, `latest` or `1.2.3_build` are not versions and are dropped whenever `semver` or `latest` is
 * set. Ranges follow node-semver: pre-releases satisfy a range only when it names one on the same
 * `major.minor.patch`.
 *
 * Order: the input order, except with `latest`, where the output is highest version first (tags of
 * equal versions, `v1.2.3` and `1.2.3`, keep their input order and each counts towards N).
 */
export function applyTagFilter(tags: readonly string[], filter: TagFilter): string[] {
  let kept = tags.filter((tag) => {
    if (
      filter.include !== undefined &&
      filter.include.length > 0 &&
      !filter.include.some((re) => test(re, tag))
    )
      return false;
    return !(filter.exclude ?? []).some((re) => test(re, tag));
  });
  if (filter.semver === undefined && filter.latest === undefined) return kept;

  const versioned = kept.flatMap((tag) => {
    const version = versionOf(tag);
    return version === undefined ? [] : [{ tag, version }];
  });
  const range = filter.semver;
  const inRange =
    range === undefined ? versioned : versioned.filter((v) => semver.satisfies(v.version, range));
  kept = inRange.map((v) => v.tag);
  if (filter.latest === undefined) return kept;
  return [...inRange]
    .sort((a, b) => semver.rcompare(a.version, b.version))
    .slice(0, filter.latest)
    .map((v) => v.tag);
}

/** `1.2.3`, `v1.2.3`, `1.2.3-rc.1` → the version; anything else (`1.25`, `latest`, `=1.2.3`) → undefined. */
export function versionOf(tag: string): string | undefined {
  if (!/^v?\d/.test(tag)) return undefined;
  return semver.valid(tag, { loose: false }) ?? undefined;
}

/** Does a tag belong to a selector (ignoring filters)? A regex selector is unanchored, like Go's MatchString. */
export function matchesSelector(tag: string, selector: TagSelector): boolean {
  switch (selector.kind) {
    case 'all':
      return true;
    case 'list':
      return selector.tags.includes(tag);
    case 'regex':
      return test(selector.pattern, tag);
    case 'digest':
      return false;
  }
}

/** `RegExp.test` without the `lastIndex` state a `g` or `y` flag would carry between calls. */
function test(re: RegExp, tag: string): boolean {
  if (re.global || re.sticky) re.lastIndex = 0;
  return re.test(tag);
}
