// Types for code-cache.mjs (plain JavaScript: the launcher runs before, and without, the bundle).
export function asScript(bundle: string): string | undefined;
export function cacheDir(): string | undefined;
export function start(bundleUrl: URL, args: readonly string[]): Promise<void>;
