import { closestMatch } from 'leven';

export interface UnknownKeys {
  /** Unknown keys close to a known one that is missing: most likely that key, mistyped. */
  readonly typos: readonly { readonly key: string; readonly meant: string }[];
  /** The others, ignored: image-syncer files may carry keys of their own. */
  readonly ignored: readonly string[];
}

/** Sorts the keys of a mapping that are not `known` into likely typos and keys to ignore. */
export function unknownKeys(present: readonly string[], known: readonly string[]): UnknownKeys {
  const missing = known.filter((k) => !present.includes(k));
  const typos: { key: string; meant: string }[] = [];
  const ignored: string[] = [];
  for (const key of present.filter((k) => !known.includes(k))) {
    // One slip in a short key, two in a longer one: `auths`, `imgaes`, `passwrd`.
    const meant = closestMatch(key.toLowerCase(), missing, { maxDistance: key.length <= 4 ? 1 : 2 });
    if (meant === undefined) ignored.push(key);
    else typos.push({ key, meant });
  }
  return { typos, ignored };
}

/** `unknown keys "a", "b" ignored (known: x, y)`. */
export function describeIgnored(ignored: readonly string[], known: readonly string[], what = 'key'): string {
  const names = ignored.map((k) => `"${k}"`).join(', ');
  return `unknown ${what}${ignored.length === 1 ? '' : 's'} ${names} ignored (known: ${known.join(', ')})`;
}

export const describeTypo = (typo: UnknownKeys['typos'][number]): string =>
  `unknown key "${typo.key}": did you mean "${typo.meant}"?`;
