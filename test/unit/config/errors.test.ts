// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in config text is what these tests are about
import { describe, expect, it } from 'vitest';
import { ConfigError, type LoadOptions, loadConfig } from '../../../src/config/index.ts';
import { tempDir } from './helpers.ts';

const PW = 'S3cr3t-Pa55word';
const TOKEN = 'T0ken-Value-xyz';
const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;
/** Every case loads this beside its own files, so every message can be checked for the secrets. */
const SECRET_AUTH = `quay.io: { username: u, password: "${PW}" }\nghcr.io: { token: "${TOKEN}" }\n`;
const GOOD_IMAGES = 'quay.io/a/b: reg.io/a/b\n';

interface Case {
  readonly name: string;
  readonly files: Record<string, string>;
  readonly opts?: Pick<LoadOptions, 'config' | 'auth' | 'images' | 'imagesInline' | 'givenAs'>;
  readonly env?: Record<string, string>;
  readonly defaults?: { registry?: string; namespace?: string };
  /** The exact line: file, key and problem. */
  readonly line: string;
}

/** A bad images.yaml entry, beside the secret auth file. */
const images = (name: string, entry: string, line: string, extra: Partial<Case> = {}): Case => ({
  name,
  files: { 'images.yaml': entry, 'auth.yaml': SECRET_AUTH },
  opts: { auth: 'auth.yaml', images: 'images.yaml' },
  line,
  ...extra,
});

/** A bad auth entry, added to the secret auth file. */
const auth = (name: string, entry: string, line: string, extra: Partial<Case> = {}): Case => ({
  name,
  files: { 'images.yaml': GOOD_IMAGES, 'auth.yaml': `${SECRET_AUTH}${entry}\n` },
  opts: { auth: 'auth.yaml', images: 'images.yaml' },
  line,
  ...extra,
});

const cases: Case[] = [
  images('empty source', '"": reg.io/a/b', 'images.yaml: images[""]: source "": the source is empty'),
  images(
    'upper case in a destination',
    'docker.io/library/nginx:1.25: ghcr.io/Acme/nginx',
    'images.yaml: images["docker.io/library/nginx:1.25"]: destination "ghcr.io/Acme/nginx": "Acme" must be lower case',
  ),
  images(
    'upper case in a source',
    'Nginx: reg.io/a/nginx',
    'images.yaml: images["Nginx"]: source "Nginx": "Nginx" must be lower case',
  ),
  images(
    'a bad digest',
    'quay.io/a/b@sha256:abc: reg.io/a/b',
    'images.yaml: images["quay.io/a/b@sha256:abc"]: source "quay.io/a/b@sha256:abc": "sha256:abc" is not a valid digest',
  ),
  images(
    'a tag in the destination of an all-tags rule',
    'quay.io/a/b: reg.io/a/b:v1',
    'images.yaml: images["quay.io/a/b"]: destination "reg.io/a/b:v1": cannot rename tags here: the source takes all its tags (remove ":v1")',
  ),
  images(
    'a tag in the destination of a regex rule',
    'quay.io/a/b:/^v1/: reg.io/a/b:v1',
    'images.yaml: images["quay.io/a/b:/^v1/"]: destination "reg.io/a/b:v1": cannot rename tags here: the source takes the tags its regex matches (remove ":v1")',
  ),
  images(
    'rename count mismatch',
    'quay.io/a/b:t1,t2,t3: reg.io/a/b:n1,n2',
    'images.yaml: images["quay.io/a/b:t1,t2,t3"]: destination "reg.io/a/b:n1,n2": renames 3 source tags to 2; the counts must match',
  ),
  images(
    'a tag list for a single tag, among several destinations',
    'quay.io/a/b:t1: [reg.io/a/b, "reg.io/c/b:n1,n2"]',
    'images.yaml: images["quay.io/a/b:t1"]: destination "reg.io/c/b:n1,n2": renames 1 source tag to 2; the counts must match',
  ),
  images(
    'an invalid regex',
    'quay.io/a/b:/(/: reg.io/a/b',
    'images.yaml: images["quay.io/a/b:/(/"]: source "quay.io/a/b:/(/": invalid regex /(/: Unterminated group',
  ),
  images(
    'an unterminated regex',
    'quay.io/a/b:/v1: reg.io/a/b',
    'images.yaml: images["quay.io/a/b:/v1"]: source "quay.io/a/b:/v1": a tag regex must start and end with "/" (":/regex/")',
  ),
  images(
    'an invalid tag',
    'quay.io/a/b:bad!tag: reg.io/a/b',
    'images.yaml: images["quay.io/a/b:bad!tag"]: source "quay.io/a/b:bad!tag": "bad!tag" is not a valid tag',
  ),
  images(
    'an empty tag in a list',
    'quay.io/a/b:a,,b: reg.io/a/b',
    'images.yaml: images["quay.io/a/b:a,,b"]: source "quay.io/a/b:a,,b": "a,,b" has an empty tag',
  ),
  images(
    'a tag listed twice',
    'quay.io/a/b:a,b,a: reg.io/a/b',
    'images.yaml: images["quay.io/a/b:a,b,a"]: source "quay.io/a/b:a,b,a": tag "a" is listed twice',
  ),
  images(
    'a regex in a destination',
    'quay.io/a/b:/x/: reg.io/a/b:/y/',
    'images.yaml: images["quay.io/a/b:/x/"]: destination "reg.io/a/b:/y/": a destination cannot hold a tag regex',
  ),
  images(
    '"" without a default registry',
    'quay.io/a/b: ""',
    'images.yaml: images["quay.io/a/b"]: destination "": an empty destination needs a default registry (--registry, DEFAULT_REGISTRY or the "registry" input)',
  ),
  images(
    'a bad default registry',
    'quay.io/a/b: ""',
    'images.yaml: images["quay.io/a/b"]: destination "": the default registry "https://reg.io" is not a registry host',
    { defaults: { registry: 'https://reg.io' } },
  ),
  images(
    'a destination digest other than the source’s',
    `quay.io/a/b@${D1}: reg.io/a/b@${D2}`,
    `images.yaml: images["quay.io/a/b@${D1}"]: destination "reg.io/a/b@${D2}": a destination can name a digest only when it is the source’s own`,
  ),
  images(
    'a digest with a tag list',
    `quay.io/a/b:a,b@${D1}: reg.io/a/b`,
    `images.yaml: images["quay.io/a/b:a,b@${D1}"]: source "quay.io/a/b:a,b@${D1}": a digest can go with one tag at most, not a list`,
  ),
  images(
    'a destination that is the source',
    'quay.io/a/b:1: quay.io/a/b',
    'images.yaml: images["quay.io/a/b:1"]: destination "quay.io/a/b": is the source repository itself (rename the tags, or pick another repository)',
  ),
  images(
    'an unset variable in a source',
    '${SRC_REG}/a/b: reg.io/a/b',
    'images.yaml: images["${SRC_REG}/a/b"]: source "${SRC_REG}/a/b": environment variable SRC_REG is not set',
  ),
  images(
    'unset variables in a destination',
    'quay.io/a/b: ${DST_REG}/${DST_NS}/b',
    'images.yaml: images["quay.io/a/b"]: destination "${DST_REG}/${DST_NS}/b": environment variables DST_REG, DST_NS are not set',
  ),
  images(
    'no destination',
    'quay.io/a/b:',
    'images.yaml: images["quay.io/a/b"]: no destination (write "" for the default registry)',
  ),
  images(
    'a destination that is a number',
    'quay.io/a/b: 5',
    'images.yaml: images["quay.io/a/b"]: the destination must be a string or a list of strings ("" for the default registry)',
  ),
  images(
    'an unclosed ${',
    'quay.io/a/b: reg.io/${NS/b',
    'images.yaml: images["quay.io/a/b"]: destination "reg.io/${NS/b": "${" without a closing "}"',
  ),
  images('an empty images file', '', 'images.yaml: no image rules (the images are empty)'),
  images(
    'images that are a string',
    'just text',
    'images.yaml: images: must be a mapping of source → destination, or a list of rules',
  ),
  auth(
    'an unset variable in a password',
    'harbor.io: { username: u, password: "${HARBOR_PASSWORD}" }',
    'auth.yaml: auth["harbor.io"].password: environment variable HARBOR_PASSWORD is not set',
  ),
  auth(
    'a password holding "${" that is not a variable',
    'harbor.io: { username: u, password: "pa${ss" }',
    'auth.yaml: auth["harbor.io"].password: "${" without a closing "}" (a value that holds "${" itself can come through a variable: ${NAME})',
  ),
  auth(
    'a password that is a number',
    'harbor.io: { username: u, password: 123456789 }',
    'auth.yaml: auth["harbor.io"].password: must be a string, not a number',
  ),
  auth(
    'a password and a token',
    `harbor.io: { username: u, password: "${PW}x", token: "${TOKEN}x" }`,
    'auth.yaml: auth["harbor.io"]: give a password or a token, not both',
  ),
  auth(
    'a password without a username',
    `harbor.io: { password: "${PW}y" }`,
    'auth.yaml: auth["harbor.io"]: has a password but no username',
  ),
  auth(
    'a key with a scheme',
    `https://harbor.io: { username: u, password: "${PW}z" }`,
    'auth.yaml: auth["https://harbor.io"]: write the registry without a scheme ("quay.io", not "https://quay.io")',
  ),
  auth(
    'a key with capitals in the namespace',
    `harbor.io/Team: { username: u, password: "${PW}" }`,
    'auth.yaml: auth["harbor.io/Team"]: "Team" must be lower case',
  ),
  auth(
    'insecure that is not a boolean',
    'harbor.io: { insecure: maybe }',
    'auth.yaml: auth["harbor.io"].insecure: must be true or false, not "maybe"',
  ),
  auth(
    'insecure that is a number',
    'harbor.io: { insecure: 2 }',
    'auth.yaml: auth["harbor.io"].insecure: must be true or false',
  ),
  auth(
    'an entry that is a string',
    `harbor.io: "u:${PW}"`,
    'auth.yaml: auth["harbor.io"]: must be a mapping, not a string',
  ),
  auth(
    'a mistyped key in an entry that lacks it',
    `harbor.io: { username: u, passwrd: "${PW}" }`,
    'auth.yaml: auth["harbor.io"]: unknown key "passwrd": did you mean "password"?',
  ),
  {
    name: 'a mistyped auth section',
    files: { 'c.yaml': `auths:\n  quay.io: { username: u, password: "${PW}" }\nimages:\n  ${GOOD_IMAGES}` },
    opts: { config: 'c.yaml' },
    line: 'c.yaml: unknown key "auths": did you mean "auth"?',
  },
  {
    name: 'a mistyped images section',
    files: { 'c.yaml': `Image:\n  ${GOOD_IMAGES}` },
    opts: { config: 'c.yaml' },
    line: 'c.yaml: unknown key "Image": did you mean "images"?',
  },
  {
    name: 'an auth section that is a list',
    files: { 'c.yaml': `auth:\n  - quay.io\nimages:\n  ${GOOD_IMAGES}` },
    opts: { config: 'c.yaml' },
    line: 'c.yaml: auth: must be a mapping of registry → credentials',
  },
  ...[
    [
      'a rule object with an unknown key',
      '- { source: quay.io/a/b, destinaton: reg.io/a/b }',
      'images.yaml: images[0]: unknown key "destinaton" (allowed: source, destination, destinations, tags, platforms, referrers)',
    ],
    [
      'a rule object with no destination',
      '- { source: quay.io/a/b }',
      'images.yaml: images[0]: needs a "destination" or "destinations"',
    ],
    [
      'a rule object with both destination forms',
      '- { source: quay.io/a/b, destination: r.io/a/b, destinations: [r.io/c/b] }',
      'images.yaml: images[0]: give "destination" or "destinations", not both',
    ],
    [
      'a rule object without a source',
      '- { destination: r.io/a/b }',
      'images.yaml: images[0].source: is required',
    ],
    [
      'a bad semver range',
      '- { source: quay.io/a/b, destination: r.io/a/b, tags: { semver: not-a-range } }',
      'images.yaml: images[0].tags.semver: "not-a-range" is not a semver range (e.g. ">=1.25 <2", "^3.1", "~1.2.0")',
    ],
    [
      'latest: 0',
      '- { source: quay.io/a/b, destination: r.io/a/b, tags: { latest: 0 } }',
      'images.yaml: images[0].tags.latest: must be at least 1',
    ],
    [
      'latest: 1.5',
      '- { source: quay.io/a/b, destination: r.io/a/b, tags: { latest: 1.5 } }',
      'images.yaml: images[0].tags.latest: must be a whole number, not a fraction',
    ],
    [
      'an unknown key in tags',
      '- { source: quay.io/a/b, destination: r.io/a/b, tags: { newest: 3 } }',
      'images.yaml: images[0].tags: unknown key "newest" (allowed: include, exclude, semver, latest)',
    ],
    [
      'an invalid include regex',
      "- { source: quay.io/a/b, destination: r.io/a/b, tags: { include: ['v1', '[z-a]'] } }",
      'images.yaml: images[0].tags.include: invalid regex /[z-a]/: Range out of order in character class',
    ],
    [
      'a tag filter on a digest',
      `- { source: "quay.io/a/b@${D1}", destination: r.io/a/b, tags: { latest: 1 } }`,
      'images.yaml: images[0].tags: a source pinned by digest has no tags to filter',
    ],
    [
      'a bad platform',
      '- { source: quay.io/a/b, destination: r.io/a/b, platforms: [linux/amd64, Linux/ARM64] }',
      'images.yaml: images[0].platforms: "Linux/ARM64": "Linux" is not a valid platform part (lower-case letters, digits, ".", "_", "-")',
    ],
    [
      'referrers that is not a boolean',
      '- { source: quay.io/a/b, destination: r.io/a/b, referrers: "yes please" }',
      'images.yaml: images[0].referrers: must be true or false, not a string',
    ],
    [
      'a bad destination in a rule object',
      '- { source: quay.io/a/b, destinations: [r.io/a/b, "r.io/A/b"] }',
      'images.yaml: images[0]: destination "r.io/A/b": "A" must be lower case',
    ],
    [
      'a bad source in a rule object',
      '- { source: quay.io/Team/app, destination: r.io/a/b }',
      'images.yaml: images[0]: source "quay.io/Team/app": "Team" must be lower case',
    ],
    [
      'an unset variable in a rule object field',
      '- { source: quay.io/a/b, destination: r.io/a/b, tags: { semver: "${RANGE}" } }',
      'images.yaml: images[0]: tags.semver: environment variable RANGE is not set',
    ],
    [
      'a rule object that is a string',
      '- quay.io/a/b',
      'images.yaml: images[0]: must be a mapping, not a string',
    ],
  ].map(([name, entry, line]) => images(name as string, entry as string, line as string)),
  images(
    'broken YAML',
    `quay.io/a/b: reg.io/a/b\n  bad: indent: "${PW}"\n`,
    'images.yaml: not valid YAML at line 1, column 14: Nested mappings are not allowed in compact mappings',
  ),
  {
    name: 'broken JSON with a secret on the broken line',
    files: {
      'c.json': `{\n  "auth": { "quay.io": { "username": "u", "password": ${PW} } },\n  "images": {}\n}`,
    },
    opts: { config: 'c.json' },
    line: 'c.json: not valid JSON at line 2, column 55: Unexpected token',
  },
  {
    name: 'a missing file',
    files: { 'auth.yaml': SECRET_AUTH },
    opts: { auth: 'auth.yaml', images: 'nope/images.yaml' },
    line: 'nope/images.yaml: file not found (<dir>/nope/images.yaml)',
  },
  {
    name: 'a missing file, named with the option it was given as',
    files: { 'auth.yaml': SECRET_AUTH },
    opts: { auth: 'auth.yaml', images: 'nope/images.yaml', givenAs: { images: 'flag --images' } },
    line: 'flag --images: nope/images.yaml: file not found (<dir>/nope/images.yaml)',
  },
  {
    name: 'a file that does not parse is named as it is, whatever option gave it',
    files: { 'auth.yaml': SECRET_AUTH, 'images.yaml': 'quay.io/a/b: [reg.io/a/b\n' },
    opts: { auth: 'auth.yaml', images: 'images.yaml', givenAs: { images: 'flag --images' } },
    line: 'images.yaml: not valid YAML at line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
  },
  {
    name: 'a directory instead of a file',
    files: { 'auth.yaml': SECRET_AUTH, 'dir/x': '' },
    opts: { auth: 'auth.yaml', images: 'dir' },
    line: 'dir: is a directory, not a file (<dir>/dir)',
  },
  {
    name: 'a combined file given as the images file',
    files: { 'auth.yaml': SECRET_AUTH, 'c.yaml': `images:\n  ${GOOD_IMAGES}` },
    opts: { auth: 'auth.yaml', images: 'c.yaml' },
    line: 'c.yaml: has a top-level "images:" section, but the images file is the source → destination map itself: remove that level, or give the file as the combined config',
  },
  {
    name: 'a combined file given as the auth file',
    files: { 'images.yaml': GOOD_IMAGES, 'c.yaml': `auth:\n  quay.io: { username: u, password: "${PW}" }\n` },
    opts: { auth: 'c.yaml', images: 'images.yaml' },
    line: 'c.yaml: has a top-level "auth:" section, but the auth file is the registry → credentials map itself: remove that level, or give the file as the combined config',
  },
  {
    name: 'a combined file without images',
    files: { 'c.yaml': 'auth: {}\n' },
    opts: { config: 'c.yaml' },
    line: 'c.yaml: has no images: section, and no images file or inline images were given (a file that is the source → destination map itself is an images file)',
  },
  {
    name: 'a combined file that is a list',
    files: { 'c.yaml': '- a\n' },
    opts: { config: 'c.yaml' },
    line: 'c.yaml: must be a mapping with auth: and images: sections',
  },
  {
    name: 'broken inline images',
    files: { 'auth.yaml': SECRET_AUTH },
    opts: { auth: 'auth.yaml', imagesInline: `a: "${PW}\n` },
    line: 'input "images": not valid YAML at line 2, column 1: Missing closing "quote',
  },
];

describe('bad input: one line naming file, key and problem; never a secret', () => {
  it('has enough cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const cwd = await tempDir(c.files);
    const secrets: string[] = [];
    const err = await loadConfig({
      cwd,
      env: c.env ?? {},
      ...c.opts,
      ...(c.defaults !== undefined && { defaults: c.defaults }),
      onSecret: (s) => secrets.push(s),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as ConfigError).message;
    expect(message.split('\n')).toContain(c.line.replace('<dir>', cwd));
    expect(message).not.toContain(PW);
    expect(message).not.toContain(TOKEN);
    expect(message).not.toContain('123456789');
    // The secrets in any auth that could be read were handed over before the error.
    if (c.files['auth.yaml'] !== undefined && c.opts?.auth === 'auth.yaml') expect(secrets).toContain(PW);
  });
});

describe('all problems at once', () => {
  it('collects every problem of every file, with file and key each', async () => {
    const cwd = await tempDir({
      'c.yaml': `auth:\n  quay.io: { username: u, password: "\${NOPE}" }\nimages:\n  Bad: reg.io/a/b\n  quay.io/a/b: reg.io/a/b:x\n`,
      'images.json': '{ "quay.io/x/y:1,2": "reg.io/x/y:a", "quay.io/x/z": 7 }',
    });
    const err = await loadConfig({
      cwd,
      config: 'c.yaml',
      images: 'images.json',
      env: {},
      imagesInline: '- x',
    }).then(
      () => new ConfigError([]),
      (e: unknown) => e as ConfigError,
    );
    expect(err.issues.map((i) => `${i.file} | ${i.key}`)).toEqual([
      'c.yaml | auth["quay.io"].password',
      'c.yaml | images["Bad"]',
      'c.yaml | images["quay.io/a/b"]',
      'images.json | images["quay.io/x/y:1,2"]',
      'images.json | images["quay.io/x/z"]',
      'input "images" | images[0]',
    ]);
    expect(err.message.split('\n')).toHaveLength(6);
  });

  it('ConfigError formats issues with and without a key', () => {
    const err = new ConfigError([
      { file: 'a.yaml', key: 'images["x"]', message: 'bad' },
      { file: 'flag --proc', message: 'worse' },
    ]);
    expect(err.message).toBe('a.yaml: images["x"]: bad\nflag --proc: worse');
    expect(err.name).toBe('ConfigError');
  });
});
