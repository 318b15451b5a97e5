import { repositoryScope, type Transport } from '../transport/transport.ts';
import type { RegistryFeatures } from './features.ts';

/** How a repository is used: a source is only read; a destination is read and written. */
export type Access = 'pull' | 'push';

/** What every resource call needs: the registry's transport and one repository's name and token scope. */
export interface RepoContext {
  readonly transport: Transport;
  readonly features: RegistryFeatures;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly signal?: AbortSignal;
}

export function repoContext(
  transport: Transport,
  features: RegistryFeatures,
  name: string,
  access: Access,
  signal?: AbortSignal,
): RepoContext {
  const scopes = [repositoryScope(name, access === 'push' ? 'pull,push' : 'pull')];
  return { transport, features, name, scopes, ...(signal !== undefined && { signal }) };
}

export const repoPath = (ctx: RepoContext, rest: string): string => `/v2/${ctx.name}/${rest}`;
