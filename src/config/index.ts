/** The configuration: image-syncer's auth and images files (plus our additions), loaded and checked. */
export { authResolver } from './auth.ts';
export { loadConfig } from './config.ts';
export { ConfigError, type ConfigIssue, formatIssue } from './errors.ts';
export { expandVars } from './expand.ts';
export { parseDestination, parseSource } from './specs.ts';
export type {
  AuthResolver,
  LoadedConfig,
  LoadOptions,
  Platform,
  RegistryAuth,
  Rule,
  RuleDestination,
  TagFilter,
  TagSelector,
} from './types.ts';
