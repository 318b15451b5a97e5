import { resolve } from 'node:path';
import {
  canonicalRegistry,
  DOCKER_HUB,
  formatRepository,
  ReferenceError as ImageReferenceError,
  isValidDigest,
  isValidTag,
  LAYOUT_REGISTRY,
  parseRepository,
  type Repository,
} from '../registry/reference.ts';
import type { RuleDestination, TagSelector } from './types.ts';

/**
 * The strings of a rule: `reg/ns/repo[:tag[,tag…]|:/regex/][@digest]` for sources and
 * `reg/ns/repo[:tag[,tag…]]`, or `""`, for destinations. Each function returns the parsed value or
 * a problem (a string) for the caller to place.
 */

export interface SourceSpec {
  readonly repo: Repository;
  readonly select: TagSelector;
  /** The tag of `repo:tag@digest`: the digest is copied, and written under this tag unless renamed. */
  readonly tag?: string;
}

export interface Defaults {
  readonly registry?: string;
  readonly namespace?: string;
}

// Like reference.ts: the first component is a host when it has a dot or a port, is localhost, or has capitals.
const looksLikeHost = (c: string) =>
  c.includes('.') || c.includes(':') || c === 'localhost' || c !== c.toLowerCase();
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;

/** True for `ghcr.io`, `localhost:5000`, `registry` (a bare name), `[::1]:5000`. */
export const isValidHost = (host: string): boolean => HOST.test(host);

/**
 * Splits at the tag spec and the digest. The tag spec starts at the first `:` after the host (so a
 * port is never a tag), and a tag spec starting with `/` is a regex that runs to the end of the text —
 * it may hold `/`, `:` and `@`. `name:/re/` has no host: `name:` is not a host, whatever follows.
 */
export function splitSpec(text: string): { name: string; tagSpec?: string; digest?: string } {
  const slash = text.indexOf('/');
  const first = slash === -1 ? '' : text.slice(0, slash);
  const hostEnd = slash !== -1 && !first.endsWith(':') && looksLikeHost(first) ? slash : 0;
  const colon = text.indexOf(':', hostEnd);
  const at = text.indexOf('@', hostEnd);
  if (colon !== -1 && (at === -1 || colon < at)) {
    const name = text.slice(0, colon);
    const rest = text.slice(colon + 1);
    if (rest.startsWith('/')) return { name, tagSpec: rest };
    const at2 = rest.indexOf('@');
    return at2 === -1
      ? { name, tagSpec: rest }
      : { name, tagSpec: rest.slice(0, at2), digest: rest.slice(at2 + 1) };
  }
  if (at !== -1) return { name: text.slice(0, at), digest: text.slice(at + 1) };
  return { name: text };
}

/** The part of a ReferenceError after `invalid image reference "…": `. */
export function referenceProblem(err: unknown): string {
  if (!(err instanceof ImageReferenceError)) throw err;
  const prefix = `invalid image reference "${err.input}": `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

/** `oci:<dir>[:tag]`: an OCI image layout directory (relative paths are taken from the working directory). */
function splitLayout(text: string): { name: string; tagSpec?: string; digest?: string } | undefined {
  if (!text.startsWith(LAYOUT_REGISTRY)) return undefined;
  const rest = text.slice(LAYOUT_REGISTRY.length);
  const lastSlash = rest.lastIndexOf('/');
  // `oci:dir@sha256:…`: the digest's own colon is not a tag's, so it comes off first.
  const at = /@[a-z0-9]+:[^/@]*$/.exec(rest.slice(lastSlash + 1));
  const cut = at === null ? rest.length : lastSlash + 1 + at.index;
  const digest = at === null ? {} : { digest: rest.slice(cut + 1) };
  const named = rest.slice(0, cut);
  const colon = named.lastIndexOf(':');
  return colon > lastSlash
    ? { name: `${LAYOUT_REGISTRY}${named.slice(0, colon)}`, tagSpec: named.slice(colon + 1), ...digest }
    : { name: `${LAYOUT_REGISTRY}${named}`, ...digest };
}

function repositoryOf(name: string): Repository | string {
  if (name.startsWith(LAYOUT_REGISTRY)) {
    const dir = name.slice(LAYOUT_REGISTRY.length);
    return dir === ''
      ? 'the layout directory is missing after "oci:"'
      : { registry: LAYOUT_REGISTRY, repository: resolve(dir) };
  }
  try {
    return parseRepository(name);
  } catch (err) {
    return referenceProblem(err);
  }
}

/** `a,b,c` → tags, each valid, none twice. */
function tagList(spec: string): string[] | string {
  const tags = spec.split(',');
  if (tags.some((t) => t === '')) return `"${spec}" has an empty tag`;
  const bad = tags.find((t) => !isValidTag(t));
  if (bad !== undefined) return `"${bad}" is not a valid tag`;
  const twice = tags.find((t, i) => tags.indexOf(t) !== i);
  if (twice !== undefined) return `tag "${twice}" is listed twice`;
  return tags;
}

/**
 * A tag regex, in image-syncer's (Go) spelling where it differs cheaply from JavaScript's: a leading
 * `(?i)` becomes the `i` flag and `(?P<name>` a named group. Not anchored: like Go's `MatchString`,
 * `/a+/` selects `xaay` — write `/^…$/` to match whole tags.
 */
export function compileRegex(source: string, anchored: boolean): RegExp | string {
  let body = source;
  let flags = '';
  if (body.startsWith('(?i)')) {
    body = body.slice(4);
    flags = 'i';
  }
  body = body.replaceAll('(?P<', '(?<');
  try {
    return new RegExp(anchored ? `^(?:${body})$` : body, flags);
  } catch (err) {
    const why = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    return `invalid regex /${source}/: ${why}`;
  }
}

export function parseSource(text: string): SourceSpec | string {
  if (text.trim() === '') return 'the source is empty';
  const { name, tagSpec, digest } = splitLayout(text) ?? splitSpec(text);
  const repo = repositoryOf(name);
  if (typeof repo === 'string') return repo;
  if (tagSpec?.startsWith('/')) {
    if (tagSpec.length < 2 || !tagSpec.endsWith('/'))
      return `a tag regex must start and end with "/" (":/regex/")`;
    const body = tagSpec.slice(1, -1);
    if (body === '') return 'the tag regex is empty';
    const pattern = compileRegex(body, false);
    return typeof pattern === 'string' ? pattern : { repo, select: { kind: 'regex', pattern } };
  }
  if (tagSpec === '') return 'nothing after ":" (give a tag, tags "a,b", or a regex "/…/")';
  const tags = tagSpec === undefined ? undefined : tagList(tagSpec);
  if (typeof tags === 'string') return tags;
  if (digest !== undefined) {
    if (!isValidDigest(digest)) return `"${digest}" is not a valid digest`;
    if (tags !== undefined && tags.length > 1) return 'a digest can go with one tag at most, not a list';
    const tag = tags?.[0];
    return { repo, select: { kind: 'digest', digest }, ...(tag !== undefined && { tag }) };
  }
  return { repo, select: tags === undefined ? { kind: 'all' } : { kind: 'list', tags } };
}

/** `""` → the source's last path component under the default registry and namespace. */
function defaultDestination(source: Repository, defaults: Defaults | undefined): Repository | string {
  const registry = defaults?.registry;
  if (registry === undefined || registry === '')
    return 'an empty destination needs a default registry (--registry, DEFAULT_REGISTRY or the "registry" input)';
  if (!isValidHost(registry)) return `the default registry "${registry}" is not a registry host`;
  const last = source.repository.split('/').pop() ?? source.repository;
  const namespace = (defaults?.namespace ?? '').replace(/^\/+|\/+$/g, '');
  const path = namespace === '' ? last : `${namespace}/${last}`;
  // Checked under a name that is always a host, so a bare default registry (`registry:5000`, `mirror`) is kept as one.
  const checked = repositoryOf(`localhost/${path}`);
  if (typeof checked === 'string') return `default namespace "${namespace}": ${checked}`;
  const host = canonicalRegistry(registry);
  return {
    registry: host,
    repository: host === DOCKER_HUB && !path.includes('/') ? `library/${path}` : path,
  };
}

const sameRepository = (a: Repository, b: Repository) => formatRepository(a) === formatRepository(b);

/** A destination string for the given source: its repository and the tag renames, checked against the source's form. */
export function parseDestination(
  text: string,
  source: SourceSpec,
  defaults?: Defaults,
): RuleDestination | string {
  let repo: Repository | string;
  let renames: string[] | undefined;
  let digest: string | undefined;
  if (text === '') {
    repo = defaultDestination(source.repo, defaults);
  } else {
    const split: { name: string; tagSpec?: string; digest?: string } = splitLayout(text) ?? splitSpec(text);
    if (split.tagSpec?.startsWith('/')) return 'a destination cannot hold a tag regex';
    if (split.tagSpec === '') return 'nothing after ":" (give a tag, or no ":" to keep the tags)';
    repo = repositoryOf(split.name);
    if (split.tagSpec !== undefined) {
      const tags = tagList(split.tagSpec);
      if (typeof tags === 'string') return tags;
      renames = tags;
    }
    digest = split.digest;
  }
  if (typeof repo === 'string') return repo;

  const select = source.select;
  if (digest !== undefined) {
    if (!isValidDigest(digest)) return `"${digest}" is not a valid digest`;
    if (select.kind !== 'digest' || select.digest !== digest)
      return 'a destination can name a digest only when it is the source’s own';
    if (renames !== undefined) return 'give a tag or the digest, not both';
  }
  let tags: string[] | undefined;
  switch (select.kind) {
    case 'all':
    case 'regex':
      if (renames !== undefined)
        return `cannot rename tags here: the source takes ${select.kind === 'all' ? 'all its tags' : 'the tags its regex matches'} (remove ":${renames.join(',')}")`;
      break;
    case 'list':
      if (renames !== undefined && renames.length !== select.tags.length)
        return `renames ${select.tags.length} source ${plural(select.tags.length, 'tag')} to ${renames.length}; the counts must match`;
      tags = renames;
      break;
    case 'digest':
      if (renames !== undefined && renames.length > 1)
        return 'a digest is written under one tag at most (use several destinations for several tags)';
      tags = renames ?? (digest === undefined && source.tag !== undefined ? [source.tag] : undefined);
      break;
  }
  const keepsNames =
    renames === undefined || (select.kind === 'list' && renames.every((t, i) => t === select.tags[i]));
  if (keepsNames && sameRepository(repo, source.repo))
    return 'is the source repository itself (rename the tags, or pick another repository)';
  return tags === undefined ? { repo } : { repo, tags };
}

const plural = (n: number, word: string) => (n === 1 ? word : `${word}s`);
