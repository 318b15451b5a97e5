import type { Platform } from '../registry/manifest.ts';

/** `os`, `architecture` and `variant` as OCI writes them (`linux`, `amd64`, `v7`), or `*` for any. */
export const PLATFORM_PART = /^(?:[a-z0-9][a-z0-9._-]*|\*)$/;

/** `linux/amd64`, `linux/arm/v7`, `linux/*` → a Platform, or what is wrong with the text. */
export function parsePlatform(text: string): Platform | string {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3)
    return `"${text}" is not a platform (os/architecture[/variant], e.g. linux/amd64)`;
  const bad = parts.find((p) => !PLATFORM_PART.test(p));
  if (bad !== undefined)
    return bad === ''
      ? `"${text}" is not a platform (os/architecture[/variant], e.g. linux/amd64)`
      : `"${text}": "${bad}" is not a valid platform part (lower-case letters, digits, ".", "_", "-")`;
  const [os = '', architecture = '', variant] = parts;
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** Comma-, newline- or space-separated items; lists are flattened. Empty items are skipped. */
export function splitList(value: string | readonly string[]): string[] {
  const items = typeof value === 'string' ? [value] : value;
  return items.flatMap((item) => item.split(/[\s,]+/)).filter((s) => s !== '');
}

/** Several platforms; every bad one is reported. Duplicates are dropped. */
export function parsePlatformList(value: string | readonly string[]): {
  platforms: Platform[];
  problems: string[];
} {
  const platforms: Platform[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const item of splitList(value)) {
    const p = parsePlatform(item);
    if (typeof p === 'string') problems.push(p);
    else if (!seen.has(item)) {
      seen.add(item);
      platforms.push(p);
    }
  }
  return { platforms, problems };
}
