// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in config text is what these tests are about
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDestination, parseSource } from '../../../src/config/index.ts';
import { splitSpec } from '../../../src/config/specs.ts';
import { describeRules, load } from './helpers.ts';

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;
const defaults = { registry: 'reg.example.com', namespace: 'mirror' };

/** One images.yaml entry → the rules it gives, one line per destination. */
async function rulesOf(entry: string, opts: Parameters<typeof load>[1] = {}): Promise<string[]> {
  return describeRules(await load({ 'images.yaml': entry }, { images: 'images.yaml', defaults, ...opts }));
}

describe('images, map form (image-syncer’s)', () => {
  const table: Array<[string, string, string[]]> = [
    [
      'all tags, kept',
      'quay.io/coreos/etcd: reg.io/mirror/etcd',
      ['quay.io/coreos/etcd -> reg.io/mirror/etcd'],
    ],
    [
      'one tag, kept',
      'quay.io/coreos/etcd:v3.5.0: reg.io/mirror/etcd',
      ['quay.io/coreos/etcd:v3.5.0 -> reg.io/mirror/etcd'],
    ],
    [
      'one tag, renamed',
      'quay.io/coreos/etcd:v3.5.0: reg.io/mirror/etcd:stable',
      ['quay.io/coreos/etcd:v3.5.0 -> reg.io/mirror/etcd:stable'],
    ],
    [
      'a tag list, kept',
      'quay.io/coreos/etcd:t1,t2,t3: reg.io/mirror/etcd',
      ['quay.io/coreos/etcd:t1,t2,t3 -> reg.io/mirror/etcd'],
    ],
    [
      'a tag list, renamed pairwise',
      'quay.io/coreos/etcd:t1,t2,t3: reg.io/mirror/etcd:n1,n2,n3',
      ['quay.io/coreos/etcd:t1,t2,t3 -> reg.io/mirror/etcd:n1,n2,n3'],
    ],
    [
      'a regex',
      'quay.io/coreos/etcd:/^v3\\.5\\.\\d+$/: reg.io/m/etcd',
      ['quay.io/coreos/etcd:/^v3\\.5\\.\\d+$/ -> reg.io/m/etcd'],
    ],
    [
      'a regex holding "/", ":" and "@"',
      'quay.io/a/b:/x:y|a\\/b|c@d/: reg.io/m/b',
      ['quay.io/a/b:/x:y|a\\/b|c@d/ -> reg.io/m/b'],
    ],
    [
      'a regex on a Docker Hub short name',
      'nginx:/^1\\./: reg.io/m/nginx',
      ['docker.io/library/nginx:/^1\\./ -> reg.io/m/nginx'],
    ],
    [
      'by digest, to a tag',
      `quay.io/a/b@${D1}: reg.io/m/b:pinned`,
      [`quay.io/a/b@${D1} -> reg.io/m/b:pinned`],
    ],
    ['by digest, by digest only', `quay.io/a/b@${D1}: reg.io/m/b`, [`quay.io/a/b@${D1} -> reg.io/m/b`]],
    [
      'by digest, naming the same digest',
      `quay.io/a/b@${D1}: reg.io/m/b@${D1}`,
      [`quay.io/a/b@${D1} -> reg.io/m/b`],
    ],
    [
      'tag@digest keeps the tag',
      `quay.io/a/b:1.0@${D1}: reg.io/m/b`,
      [`quay.io/a/b@${D1} -> reg.io/m/b:1.0`],
    ],
    [
      'tag@digest, renamed',
      `quay.io/a/b:1.0@${D1}: reg.io/m/b:prod`,
      [`quay.io/a/b@${D1} -> reg.io/m/b:prod`],
    ],
    [
      '"" → default registry and namespace',
      'quay.io/coreos/etcd: ""',
      ['quay.io/coreos/etcd -> reg.example.com/mirror/etcd'],
    ],
    [
      '"" keeps the tags',
      'quay.io/coreos/etcd:a,b: ""',
      ['quay.io/coreos/etcd:a,b -> reg.example.com/mirror/etcd'],
    ],
    [
      'Docker Hub short names',
      'nginx: bitnami/nginx',
      ['docker.io/library/nginx -> docker.io/bitnami/nginx'],
    ],
    [
      'Docker Hub aliases are docker.io',
      'registry.hub.docker.com/library/redis:7: index.docker.io/acme/redis',
      ['docker.io/library/redis:7 -> docker.io/acme/redis'],
    ],
    [
      'a port is not a tag',
      'localhost:5000/a/b:1: localhost:5000/c/b',
      ['localhost:5000/a/b:1 -> localhost:5000/c/b'],
    ],
    [
      'a port, no tag',
      'localhost:5000/a/b: 127.0.0.1:5001/a/b',
      ['localhost:5000/a/b -> 127.0.0.1:5001/a/b'],
    ],
    [
      'the same destination twice is one',
      'quay.io/a/b: [reg.io/m/b, reg.io/m/b]',
      ['quay.io/a/b -> reg.io/m/b'],
    ],
  ];
  it.each(table)('%s', async (_name, entry, want) => {
    expect(await rulesOf(entry)).toEqual(want);
  });

  it('several destinations, one of them ""', async () => {
    const entry = 'ghcr.io/acme/api:v1:\n  - reg.io/acme/api\n  - backup.io/acme/api:v1-backup\n  - ""';
    expect(await rulesOf(entry)).toEqual([
      'ghcr.io/acme/api:v1 -> reg.io/acme/api',
      'ghcr.io/acme/api:v1 -> backup.io/acme/api:v1-backup',
      'ghcr.io/acme/api:v1 -> reg.example.com/mirror/api',
    ]);
  });

  it('"" without a namespace, and on Docker Hub', async () => {
    expect(await rulesOf('quay.io/a/etcd: ""', { defaults: { registry: 'localhost:5000' } })).toEqual([
      'quay.io/a/etcd -> localhost:5000/etcd',
    ]);
    expect(await rulesOf('quay.io/a/etcd: ""', { defaults: { registry: 'docker.io' } })).toEqual([
      'quay.io/a/etcd -> docker.io/library/etcd',
    ]);
    expect(
      await rulesOf('quay.io/a/etcd: ""', { defaults: { registry: 'mirror', namespace: 'x/y' } }),
    ).toEqual(['quay.io/a/etcd -> mirror/x/y/etcd']);
  });

  it('keeps the typed selector and the origin', async () => {
    const config = await load(
      { 'images.yaml': 'quay.io/a/b:/a+/: reg.io/m/b\nquay.io/a/c:1.0: reg.io/m/c' },
      { images: 'images.yaml' },
    );
    const [regex, list] = config.rules;
    expect(regex?.origin).toEqual({ file: 'images.yaml', key: 'images["quay.io/a/b:/a+/"]' });
    expect(regex?.select.kind).toBe('regex');
    // Unanchored, like image-syncer's Go MatchString.
    const pattern = regex?.select.kind === 'regex' ? regex.select.pattern : /$^/;
    expect(['xaay', 'b', 'aa'].filter((t) => pattern.test(t))).toEqual(['xaay', 'aa']);
    expect(list?.select).toEqual({ kind: 'list', tags: ['1.0'] });
    expect(list?.destinations).toEqual([{ repo: { registry: 'reg.io', repository: 'm/c' } }]);
  });

  it('Go spellings: (?i) and (?P<name>…)', async () => {
    const config = await load(
      { 'i.yaml': 'quay.io/a/b:/(?i)^V(?P<n>\\d+)$/: reg.io/m/b' },
      { images: 'i.yaml' },
    );
    const sel = config.rules[0]?.select;
    expect(sel?.kind === 'regex' && sel.pattern.flags).toBe('i');
    expect(sel?.kind === 'regex' && ['v1', 'V22', 'x1'].filter((t) => sel.pattern.test(t))).toEqual([
      'v1',
      'V22',
    ]);
  });

  it('expands ${VAR} in keys and values, braced form only', async () => {
    const env = { SRC: 'quay.io/coreos', DST: 'reg.io', TAG: 'v1' };
    const entry = '${SRC}/etcd:${TAG}: ${DST}/mirror/etcd\n"${SRC}/x": [ "${DST}/a/x", "${DST}/b/x" ]';
    expect(await rulesOf(entry, { env })).toEqual([
      'quay.io/coreos/etcd:v1 -> reg.io/mirror/etcd',
      'quay.io/coreos/x -> reg.io/a/x',
      'quay.io/coreos/x -> reg.io/b/x',
    ]);
    // A bare $ is literal: "$DST" stays as written, and is no registry.
    await expect(rulesOf('quay.io/a/b: $DST/b', { env })).rejects.toThrow(
      'images.yaml: images["quay.io/a/b"]: destination "$DST/b": "$DST" is not a valid registry host',
    );
  });
});

describe('images, list form', () => {
  it('reads the full rule object', async () => {
    const config = await load(
      {
        'c.yaml': `
images:
  - source: docker.io/library/nginx
    destinations: [ghcr.io/acme/nginx, registry.example.com/mirror/nginx]
    tags:
      include: ['1\\.2[0-9]\\..*']
      exclude: ['.*-alpine.*']
      semver: '>=1.25 <2'
      latest: 5
    platforms: [linux/amd64, linux/arm64, linux/arm/v7]
    referrers: true
  - source: quay.io/a/b:1.0,1.1
    destination: reg.io/m/b:x,y
  - source: quay.io/a/c
    destination: ""
    tags: { include: 'v.*' }
    platforms: linux/amd64,linux/arm64
    referrers: false
`,
      },
      { config: 'c.yaml', defaults },
    );
    expect(describeRules(config)).toEqual([
      'docker.io/library/nginx -> ghcr.io/acme/nginx',
      'docker.io/library/nginx -> registry.example.com/mirror/nginx',
      'quay.io/a/b:1.0,1.1 -> reg.io/m/b:x,y',
      'quay.io/a/c -> reg.example.com/mirror/c',
    ]);
    const [nginx, b, c] = config.rules;
    expect(nginx?.origin).toEqual({ file: 'c.yaml', key: 'images[0]' });
    expect(nginx?.filter?.semver).toBe('>=1.25 <2');
    expect(nginx?.filter?.latest).toBe(5);
    // include/exclude match the whole tag.
    const include = nginx?.filter?.include?.[0];
    expect(['1.25.3', '1.2', 'x1.25.3', '1.25.3-alpine'].filter((t) => include?.test(t))).toEqual([
      '1.25.3',
      '1.25.3-alpine',
    ]);
    expect(nginx?.filter?.exclude?.[0]?.test('1.25.3-alpine')).toBe(true);
    expect(nginx?.platforms).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ]);
    expect(nginx?.referrers).toBe(true);
    expect(b?.filter).toBeUndefined();
    expect(b?.platforms).toBeUndefined();
    expect(b?.referrers).toBeUndefined();
    expect(c?.filter?.include?.[0]?.test('v1')).toBe(true);
    expect(c?.filter?.include?.[0]?.test('xv1')).toBe(false);
    expect(c?.platforms).toHaveLength(2);
    expect(c?.referrers).toBe(false);
  });

  it('a list at the top of an images file, with ${VAR} in every field', async () => {
    const env = { REG: 'ghcr.io/acme', RANGE: '^1.2.0', ARCH: 'arm64' };
    const config = await load(
      {
        'images.yml':
          '- source: quay.io/a/b\n  destination: ${REG}/b\n  tags: { semver: "${RANGE}" }\n  platforms: ["linux/${ARCH}"]\n',
      },
      { images: 'images.yml', env },
    );
    expect(describeRules(config)).toEqual(['quay.io/a/b -> ghcr.io/acme/b']);
    expect(config.rules[0]?.filter).toEqual({ semver: '^1.2.0' });
    expect(config.rules[0]?.platforms).toEqual([{ os: 'linux', architecture: 'arm64' }]);
  });

  it('an empty tags: filters nothing', async () => {
    const config = await load(
      { 'i.yaml': '- { source: quay.io/a/b, destination: r.io/a/b, tags: {} }' },
      { images: 'i.yaml' },
    );
    expect(config.rules[0]?.filter).toBeUndefined();
  });
});

describe('splitSpec', () => {
  it.each([
    ['nginx', { name: 'nginx' }],
    ['nginx:1.25', { name: 'nginx', tagSpec: '1.25' }],
    ['localhost:5000/a', { name: 'localhost:5000/a' }],
    ['localhost:5000/a:b,c', { name: 'localhost:5000/a', tagSpec: 'b,c' }],
    ['nginx:/a/b:c@d/', { name: 'nginx', tagSpec: '/a/b:c@d/' }],
    ['ghcr.io/a/b:/x/', { name: 'ghcr.io/a/b', tagSpec: '/x/' }],
    [`a.io/b@${D1}`, { name: 'a.io/b', digest: D1 }],
    [`a.io:443/b:t@${D1}`, { name: 'a.io:443/b', tagSpec: 't', digest: D1 }],
  ])('%s', (text, want) => {
    expect(splitSpec(text)).toEqual(want);
  });
});

describe('parseSource / parseDestination', () => {
  it('parse the strings directly', () => {
    const src = parseSource('quay.io/a/b:t1,t2');
    expect(src).toEqual({
      repo: { registry: 'quay.io', repository: 'a/b' },
      select: { kind: 'list', tags: ['t1', 't2'] },
    });
    if (typeof src === 'string') throw new Error(src);
    expect(parseDestination('r.io/x/b:n1,n2', src)).toEqual({
      repo: { registry: 'r.io', repository: 'x/b' },
      tags: ['n1', 'n2'],
    });
    expect(parseDestination('r.io/x/b:n1', src)).toBe('renames 2 source tags to 1; the counts must match');
    const digest = parseSource(`quay.io/a/b@${D1}`);
    if (typeof digest === 'string') throw new Error(digest);
    expect(parseDestination(`r.io/x/b@${D2}`, digest)).toBe(
      'a destination can name a digest only when it is the source’s own',
    );
  });

  it('read a layout by digest, and by tag and digest, without taking the digest for a tag', () => {
    const layout = { registry: 'oci:', repository: resolve('carry/app') };
    expect(parseSource(`oci:carry/app@${D1}`)).toEqual({
      repo: layout,
      select: { kind: 'digest', digest: D1 },
    });
    expect(parseSource(`oci:carry/app:v1@${D1}`)).toEqual({
      repo: layout,
      select: { kind: 'digest', digest: D1 },
      tag: 'v1',
    });
    expect(parseSource('oci:carry/app:v1')).toEqual({ repo: layout, select: { kind: 'list', tags: ['v1'] } });
  });
});
