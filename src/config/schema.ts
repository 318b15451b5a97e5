import { z } from 'zod';
import { kindOf } from './errors.ts';

/**
 * The file formats, as zod schemas: the shapes of image-syncer's auth and images files, plus our
 * additions (`token`, `ca`, the list form of `images`). References, regexes and ranges inside the
 * strings are checked afterwards (rules.ts, auth.ts), where their own grammars live.
 */

/** An object whose unknown keys are errors, naming the keys that are allowed. */
function strictObject<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.map((k) => `"${k}"`).join(', ')} (allowed: ${known})`
        : undefined,
  });
}

const stringOrList = (what: string) =>
  z.union([z.string(), z.array(z.string())], { error: `must be ${what} or a list of them` });

// ---- auth ---------------------------------------------------------------------------------------

/** One `auth` entry. Unknown keys are kept (loose) and reported as warnings, as image-syncer ignores them. */
export const AuthEntry = z.looseObject({
  username: z.string().optional(),
  password: z.string().optional(),
  token: z.string().optional(),
  /** `true`/`false`, or a string such as `${INSECURE}` that expands to one. */
  insecure: z.union([z.boolean(), z.string()], { error: 'must be true or false' }).optional(),
  ca: z.string().optional(),
});
export type AuthEntry = z.infer<typeof AuthEntry>;
export const AUTH_ENTRY_KEYS: readonly string[] = Object.keys(AuthEntry.shape);
/** Fields whose values are secrets: reported through `onSecret`, never quoted in a message. */
export const SECRET_KEYS: readonly string[] = ['password', 'token'];

/** `registry` or `registry/namespace` → entry. The whole `--auth` file, or the `auth:` section. */
export const AuthSection = z.record(z.string(), z.unknown(), {
  error: 'must be a mapping of registry → credentials',
});

// ---- images: map form (image-syncer) ------------------------------------------------------------

/** A destination, or several. `""` means the default registry/namespace. */
export const MapDestinations = z.union([z.string(), z.array(z.string()).min(1)], {
  error: 'the destination must be a string or a list of strings ("" for the default registry)',
});

// ---- images: list form (ours) --------------------------------------------------------------------

export const TagFilterSpec = strictObject({
  /** Regexes matched against the whole tag; any one keeps the tag. */
  include: stringOrList('a regex').optional(),
  /** Regexes matched against the whole tag; any one drops the tag. */
  exclude: stringOrList('a regex').optional(),
  /** A node-semver range, e.g. `>=1.25 <2`. */
  semver: z.string().optional(),
  /** Keep the N highest versions. */
  latest: z.number().int().min(1).optional(),
});
export type TagFilterSpec = z.infer<typeof TagFilterSpec>;

export const RuleObject = strictObject({
  source: z.string(),
  destination: z.string().optional(),
  destinations: stringOrList('a destination').optional(),
  tags: TagFilterSpec.optional(),
  /** `linux/amd64`, `linux/arm/v7`: a list or a comma-separated string. */
  platforms: stringOrList('a platform').optional(),
  referrers: z.boolean().optional(),
}).superRefine((rule, ctx) => {
  if (rule.destination !== undefined && rule.destinations !== undefined)
    ctx.addIssue({ code: 'custom', message: 'give "destination" or "destinations", not both', path: [] });
  else if (rule.destination === undefined && rule.destinations === undefined)
    ctx.addIssue({ code: 'custom', message: 'needs a "destination" or "destinations"', path: [] });
  else if (Array.isArray(rule.destinations) && rule.destinations.length === 0)
    ctx.addIssue({ code: 'custom', message: 'must not be empty', path: ['destinations'] });
});
export type RuleObject = z.infer<typeof RuleObject>;

/** `images:`: image-syncer's map, or our list of rule objects. */
export const ImagesSection = z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())], {
  error: 'must be a mapping of source → destination, or a list of rules',
});

// ---- the combined file ---------------------------------------------------------------------------

/** image-syncer's `--config` file. Unknown top-level keys are warnings. */
export const CombinedFile = z.looseObject({ auth: z.unknown().optional(), images: z.unknown().optional() });
export const COMBINED_KEYS: readonly string[] = Object.keys(CombinedFile.shape);

// ---- messages ------------------------------------------------------------------------------------

export interface Problem {
  readonly path: ReadonlyArray<PropertyKey>;
  readonly message: string;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/** zod's issues → one readable problem each. Values are described by kind only, never quoted. */
export function problemsOf(error: z.ZodError, input: unknown): Problem[] {
  return error.issues.map((issue) => {
    const at = valueAt(input, issue.path);
    switch (issue.code) {
      case 'invalid_type': {
        if (at === undefined) return { path: issue.path, message: 'is required' };
        const want = EXPECTED[issue.expected] ?? issue.expected;
        const got = typeof at === 'number' && issue.expected === 'int' ? 'a fraction' : kindOf(at);
        return { path: issue.path, message: `must be ${want}, not ${got}` };
      }
      case 'too_small':
        return {
          path: issue.path,
          message:
            issue.origin === 'array' ? 'must not be empty' : `must be at least ${String(issue.minimum)}`,
        };
      default:
        return { path: issue.path, message: issue.message };
    }
  });
}

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}
