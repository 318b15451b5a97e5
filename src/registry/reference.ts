/**
 * Image references, following Docker's reference grammar
 * (github.com/distribution/reference) with Docker Hub normalisation.
 */

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set([
  'docker.io',
  'index.docker.io',
  'registry.hub.docker.com',
  'registry-1.docker.io',
]);
const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`,
);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const MAX_NAME_LENGTH = 255;

/** A repository in a registry: `registry/repository`. The registry is canonical (`docker.io` for Hub). */
export interface Repository {
  readonly registry: string;
  readonly repository: string;
}

/** A repository plus at most one tag and at most one digest. */
export interface Reference extends Repository {
  readonly tag?: string;
  readonly digest?: string;
}

export class InvalidReference extends Error {
  override readonly name = 'InvalidReference';
  readonly input: string;
  constructor(input: string, problem: string) {
    super(`invalid image reference "${input}": ${problem}`);
    this.input = input;
  }
}

export const isValidTag = (tag: string): boolean => TAG.test(tag);

/** Docker's digest grammar; sha256 (the only algorithm registries use in practice) must be 64 lower-case hex. */
export function isValidDigest(digest: string): boolean {
  if (!DIGEST.test(digest)) return false;
  return !digest.startsWith('sha256:') || SHA256_DIGEST.test(digest);
}

export function canonicalRegistry(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : host;
}

/** The host:port to contact for a canonical registry name. */
export function registryEndpoint(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : registry;
}

/** Registries reached over plain HTTP without being marked insecure, as Docker allows. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

function looksLikeDomain(component: string): boolean {
  return (
    component.includes('.') ||
    component.includes(':') ||
    component === 'localhost' ||
    component !== component.toLowerCase()
  );
}

/** Parses a name without tag or digest: `nginx`, `ghcr.io/acme/app`, `localhost:5000/a/b`. */
export function parseRepository(input: string): Repository {
  if (input === '') throw new InvalidReference(input, 'it is empty');
  if (input.length > MAX_NAME_LENGTH)
    throw new InvalidReference(input, `longer than ${MAX_NAME_LENGTH} characters`);
  const slash = input.indexOf('/');
  let registry = DOCKER_HUB;
  let path = input;
  if (slash !== -1 && looksLikeDomain(input.slice(0, slash))) {
    registry = input.slice(0, slash);
    path = input.slice(slash + 1);
    if (!DOMAIN.test(registry))
      throw new InvalidReference(input, `"${registry}" is not a valid registry host`);
    registry = canonicalRegistry(registry);
  }
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      const why =
        component === ''
          ? 'it has an empty path component'
          : component !== component.toLowerCase()
            ? `"${component}" must be lower case`
            : `"${component}" is not a valid path component`;
      throw new InvalidReference(input, why);
    }
  }
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  return { registry, repository: path };
}

/**
 * Splits `name[:tag][@digest]` at the tag and digest separators. The tag separator is the first `:`
 * after the registry host, so a port is never taken for a tag.
 */
export function splitReference(input: string): { name: string; tag?: string; digest?: string } {
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.indexOf('/');
  const hostEnd = slash !== -1 && looksLikeDomain(rest.slice(0, slash)) ? slash : 0;
  const colon = rest.indexOf(':', hostEnd);
  if (colon === -1) return digest === undefined ? { name: rest } : { name: rest, digest };
  const tag = rest.slice(colon + 1);
  const name = rest.slice(0, colon);
  return digest === undefined ? { name, tag } : { name, tag, digest };
}

/** Parses a full reference: `nginx:1.27`, `ghcr.io/a/b@sha256:…`, `localhost:5000/x:y@sha256:…`. */
export function parseReference(input: string): Reference {
  const { name, tag, digest } = splitReference(input);
  const repo = parseRepository(name);
  if (tag !== undefined && !isValidTag(tag)) throw new InvalidReference(input, `"${tag}" is not a valid tag`);
  if (digest !== undefined && !isValidDigest(digest))
    throw new InvalidReference(input, `"${digest}" is not a valid digest`);
  return { ...repo, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** The pseudo-registry of OCI image layout directories: `oci:<path>[:tag]`. */
export const LAYOUT_REGISTRY = 'oci:';

export function formatRepository(repo: Repository): string {
  return repo.registry === LAYOUT_REGISTRY
    ? `${LAYOUT_REGISTRY}${repo.repository}`
    : `${repo.registry}/${repo.repository}`;
}

export function formatReference(ref: Reference): string {
  let out = formatRepository(ref);
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  else if (ref.registry === LAYOUT_REGISTRY && ref.digest !== undefined) return `${out}@${ref.digest}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/** The name the config layer imports; kept distinct from the global ReferenceError everywhere else. */
export { InvalidReference as ReferenceError };
