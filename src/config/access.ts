import type { RepositoryAccess } from '../registry/client.ts';
import { LAYOUT_REGISTRY, type Repository } from '../registry/reference.ts';
import type { Credentials } from '../registry/transport/auth.ts';
import { type DockerCredentialOptions, dockerCredentials, readDockerConfig } from './docker-config.ts';
import type { LoadedConfig, RegistryAuth } from './index.ts';

export interface AccessOptions extends DockerCredentialOptions {
  readonly env: Record<string, string | undefined>;
  /** Used for ghcr.io when nothing else gives credentials for it (the workflow's GITHUB_TOKEN). */
  readonly githubToken?: string;
  readonly githubActor?: string;
}

/**
 * Credentials for every repository the rules touch, resolved once before any transfer: the auth
 * file (longest prefix) first, then the Docker config and its helpers, then the GitHub token for
 * ghcr.io, else anonymous.
 */
export async function resolveAccess(
  config: LoadedConfig,
  opts: AccessOptions,
): Promise<(repo: Repository) => RepositoryAccess> {
  const registries = new Set<string>();
  for (const repo of config.rules.flatMap((r) => [r.source, ...r.destinations.map((d) => d.repo)]))
    if (repo.registry !== LAYOUT_REGISTRY && !hasCredentials(config.auth.lookup(repo)))
      registries.add(repo.registry);
  const fallback = new Map<string, Credentials>();
  const docker = registries.size > 0 ? await readDockerConfig(opts.env, opts.warn) : undefined;
  for (const registry of registries) {
    const found = docker === undefined ? undefined : await dockerCredentials(docker, registry, opts);
    if (found !== undefined) fallback.set(registry, found);
    else if (registry === 'ghcr.io' && opts.githubToken) {
      fallback.set(registry, {
        username: opts.githubActor || 'github-actions',
        password: opts.githubToken,
        from: "the workflow's GitHub token",
      });
    }
  }

  const ids = new Map<RegistryAuth, string>();
  return (repo) => {
    const entry = config.auth.lookup(repo);
    const tls =
      entry === undefined
        ? undefined
        : { insecure: entry.insecure, ...(entry.ca !== undefined && { ca: entry.ca }) };
    if (entry !== undefined && hasCredentials(entry)) {
      const id = ids.get(entry) ?? `auth#${ids.size}`;
      ids.set(entry, id);
      return { key: id, credentials: credentialsOf(entry), ...(tls !== undefined && { tls }) };
    }
    const credentials = fallback.get(repo.registry);
    return {
      key: `${credentials === undefined ? 'anonymous' : 'docker'}#${entry === undefined ? '' : JSON.stringify(tls)}`,
      ...(credentials !== undefined && { credentials }),
      ...(tls !== undefined && { tls }),
    };
  };
}

function hasCredentials(entry: RegistryAuth | undefined): entry is RegistryAuth {
  return entry !== undefined && (entry.password !== undefined || entry.token !== undefined);
}

function credentialsOf(entry: RegistryAuth): Credentials {
  return {
    ...(entry.username !== undefined && { username: entry.username }),
    ...(entry.password !== undefined && { password: entry.password }),
    ...(entry.token !== undefined && { token: entry.token }),
    from: entry.origin,
  };
}
