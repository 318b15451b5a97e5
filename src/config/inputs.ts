import { z } from 'zod';
import type { Platform } from '../registry/manifest.ts';
import { ConfigError } from './errors.ts';
import { PLATFORM_PART, parsePlatformList, splitList } from './platforms.ts';

/**
 * The values of CLI flags and action inputs, shared by both shells. `name` is what messages call the
 * value: `flag --proc`, `input "concurrency"`. Each throws a ConfigError naming it and the problem.
 */

/** `{ [key]: value }` when the value was given, `{}` when not: spread into options without `undefined` fields. */
export function given<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

const fail = (name: string, message: string): never => {
  throw new ConfigError([{ file: name, message }]);
};

const WholeNumber = z
  .string()
  .trim()
  .regex(/^\d+$/)
  .transform(Number)
  .pipe(z.number().int().max(Number.MAX_SAFE_INTEGER));

function wholeNumber(name: string, value: string, min: number): number {
  const r = WholeNumber.safeParse(value);
  if (!r.success || r.data < min)
    return fail(name, `must be a whole number of at least ${min}, not "${value}"`);
  return r.data;
}

export const parsePositiveInt = (name: string, value: string): number => wholeNumber(name, value, 1);
export const parseNonNegativeInt = (name: string, value: string): number => wholeNumber(name, value, 0);

const BooleanText = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', 'yes', 'no', '1', '0']))
  .transform((v) => v === 'true' || v === 'yes' || v === '1');

/** `true`/`false`, `yes`/`no`, `1`/`0`, in any case. */
export function parseBoolean(name: string, value: string): boolean {
  const r = BooleanText.safeParse(value);
  return r.success ? r.data : fail(name, `must be true or false (or yes/no, 1/0), not "${value}"`);
}

export interface Shard {
  /** 1-based: `1/3`, `2/3`, `3/3` are the three shards of three. */
  readonly index: number;
  readonly count: number;
}

const ShardText = z
  .string()
  .trim()
  .regex(/^\d+\s*\/\s*\d+$/)
  .transform((v) => v.split('/').map((n) => Number(n.trim())))
  .pipe(z.tuple([z.number().int(), z.number().int().min(1)]));

/** `i/n`, 1-based: shard i of n, 1 ≤ i ≤ n. */
export function parseShard(name: string, value: string): Shard {
  const r = ShardText.safeParse(value);
  if (!r.success) return fail(name, `must be i/n, e.g. 1/3 (shard i of n, counted from 1), not "${value}"`);
  const [index, count] = r.data;
  if (index < 1 || index > count)
    return fail(
      name,
      `"${value}": the shard must be from 1 to ${count} (shards are counted from 1: 1/${count} … ${count}/${count})`,
    );
  return { index, count };
}

/** `linux/amd64,linux/arm64,linux/arm/v7`, comma- or newline-separated, or a list of those. */
export function parsePlatforms(name: string, value: string | readonly string[]): Platform[] {
  const { platforms, problems } = parsePlatformList(value);
  if (problems.length > 0) throw new ConfigError(problems.map((message) => ({ file: name, message })));
  return platforms;
}

/**
 * image-syncer's `--os` and `--arch` (each repeatable, or comma lists) → platforms: every os with every
 * architecture; one given alone pairs with `*` (any). `--arch arm/v7` names a variant too.
 */
export function parseOsArch(os: readonly string[], arch: readonly string[]): Platform[] {
  const check = (name: string, values: string[], parts: number) => {
    const problems = values
      .filter((v) => v.split('/').length > parts || !v.split('/').every((p) => PLATFORM_PART.test(p)))
      .map((v) => ({
        file: name,
        message: `"${v}" is not valid (lower-case letters, digits, ".", "_", "-")`,
      }));
    if (problems.length > 0) throw new ConfigError(problems);
    return [...new Set(values)];
  };
  const oses = check('flag --os', splitList(os), 1);
  const arches = check('flag --arch', splitList(arch), 2);
  if (oses.length === 0 && arches.length === 0) return [];
  const platforms: Platform[] = [];
  for (const o of oses.length > 0 ? oses : ['*'])
    for (const a of arches.length > 0 ? arches : ['*']) {
      const [architecture = '*', variant] = a.split('/');
      platforms.push(variant === undefined ? { os: o, architecture } : { os: o, architecture, variant });
    }
  return platforms;
}
