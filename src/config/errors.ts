/** One problem with the configuration: which file (or flag, or input), which key in it, and what is wrong. */
export interface ConfigIssue {
  /** `images.yaml`, `input "images"`, `flag --proc`. */
  readonly file: string;
  /** `images["nginx:1.27"]`, `auth["quay.io"].password`, `images[2].tags.latest`. */
  readonly key?: string;
  /** Never holds the value of a password or token. */
  readonly message: string;
}

export const formatIssue = (issue: ConfigIssue): string =>
  issue.key === undefined
    ? `${issue.file}: ${issue.message}`
    : `${issue.file}: ${issue.key}: ${issue.message}`;

/** Every problem found, one line each: `file: key: message`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.issues = [...issues];
  }
}

/** `images` + `nginx:1.27` → `images["nginx:1.27"]`: an entry of a map keyed by user text. */
export const mapKey = (section: string, name: string): string => `${section}["${name}"]`;

/** `images[0]` + `tags`, `include`, 2 → `images[0].tags.include[2]`. */
export function keyPath(base: string, ...parts: ReadonlyArray<PropertyKey>): string {
  let out = base;
  for (const part of parts) out += typeof part === 'number' ? `[${part}]` : `.${String(part)}`;
  return out;
}

/** A value's kind for messages — never the value itself, which may be a secret. */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'boolean') return 'true/false';
  return typeof value === 'number' ? 'a number' : `a ${typeof value}`;
}
