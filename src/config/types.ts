import type { Platform } from '../registry/manifest.ts';
import type { Repository } from '../registry/reference.ts';

export type { Platform } from '../registry/manifest.ts';

/** One auth entry, after `${VAR}` expansion. */
export interface RegistryAuth {
  readonly username?: string;
  readonly password?: string;
  /** A registry / identity token, used instead of a password. */
  readonly token?: string;
  readonly insecure: boolean;
  /** Absolute path of a PEM CA bundle (checked to exist when the config was loaded). */
  readonly ca?: string;
  /** Where it was written: `auth.yaml: auth["quay.io"]`. */
  readonly origin: string;
}

export interface AuthResolver {
  /** The entry whose `registry` or `registry/namespace` key is the longest prefix of the repository. */
  lookup(repo: Repository): RegistryAuth | undefined;
  /** Every entry, keyed by its normalised prefix (`docker.io/library`, `quay.io`). */
  entries(): ReadonlyArray<[prefix: string, auth: RegistryAuth]>;
}

/** Which tags of the source a rule takes. */
export type TagSelector =
  | { readonly kind: 'all' }
  | { readonly kind: 'list'; readonly tags: string[] }
  /** Unanchored, like image-syncer's Go `regexp.MatchString`: `/a+/` matches `xaay`. */
  | { readonly kind: 'regex'; readonly pattern: RegExp }
  | { readonly kind: 'digest'; readonly digest: string };

/** Filters over the tags a selector gave; see `applyTagFilter` in src/sync/tag-filter.ts. */
export interface TagFilter {
  /** Anchored to the whole tag; a tag is kept when any one matches. */
  readonly include?: RegExp[];
  /** Anchored to the whole tag; a tag is dropped when any one matches. */
  readonly exclude?: RegExp[];
  /** A node-semver range over the tags that are versions (`1.2.3`, `v1.2.3`). */
  readonly semver?: string;
  /** Keep the N highest versions after the other filters. */
  readonly latest?: number;
}

export interface RuleDestination {
  readonly repo: Repository;
  /**
   * New names, pairwise with a `list` selector's tags; for a `digest` selector, the one tag to write
   * (absent: written by digest only). Absent otherwise: tags are kept.
   */
  readonly tags?: string[];
}

export interface Rule {
  /** Where the rule was written, for messages: `images.yaml` and `images["nginx:1.27"]` or `images[3]`. */
  readonly origin: { readonly file: string; readonly key: string };
  readonly source: Repository;
  readonly select: TagSelector;
  readonly filter?: TagFilter;
  readonly destinations: RuleDestination[];
  /** Only these platforms of multi-arch images (the rule's own, over the global ones). */
  readonly platforms?: Platform[];
  /** Copy signatures, attestations and other referrers with the image. */
  readonly referrers?: boolean;
}

export interface LoadedConfig {
  readonly rules: Rule[];
  readonly auth: AuthResolver;
  /** Things worth saying that do not stop the run: unknown keys, overridden auth entries. */
  readonly warnings: string[];
}

export interface LoadOptions {
  /** Relative paths are resolved from here. */
  readonly cwd: string;
  /** Combined file: `auth:` + `images:` (image-syncer's `--config`). */
  readonly config?: string;
  /** Auth file: the file is the `registry[/namespace] → entry` map itself. */
  readonly auth?: string;
  /** Images file: the file is the `source → destination` map (or the list of rule objects) itself. */
  readonly images?: string;
  /** Images as YAML or JSON text (the action's `images` input). */
  readonly imagesInline?: string;
  /** How the shell names the option each file was given as (`input "auth-file"`), for one that cannot be read. */
  readonly givenAs?: { readonly config?: string; readonly auth?: string; readonly images?: string };
  /** For `${VAR}`. */
  readonly env: Record<string, string | undefined>;
  /** For `""` destinations: `--registry` / `--namespace` or `DEFAULT_REGISTRY` / `DEFAULT_NAMESPACE`. */
  readonly defaults?: { readonly registry?: string | undefined; readonly namespace?: string | undefined };
  /** Called with every password and token (after expansion) as soon as it is read, before any error. */
  readonly onSecret?: (value: string) => void;
}
