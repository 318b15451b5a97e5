import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/index.ts';
import { formatOf, parseText } from '../../../src/config/load.ts';
import { describeRules, load, loadError, tempDir } from './helpers.ts';

const YAML_RULES = 'quay.io/a/b: reg.io/m/b\n';
const JSON_RULES = '{ "quay.io/a/b": "reg.io/m/b" }';
const WANT = ['quay.io/a/b -> reg.io/m/b'];

describe('format detection', () => {
  it.each([
    ['images.yaml', YAML_RULES],
    ['images.yml', YAML_RULES],
    ['images.YAML', YAML_RULES],
    ['images.json', JSON_RULES],
    ['images.conf', JSON_RULES], // by content: JSON
    ['images.conf', YAML_RULES], // by content: YAML
    ['images', `\uFEFF${JSON_RULES}`], // no extension, a byte-order mark
    ['images.txt', '{ quay.io/a/b: reg.io/m/b }'], // flow YAML that is not JSON
  ])('%s: %j', async (name, text) => {
    expect(describeRules(await load({ [name]: text }, { images: name }))).toEqual(WANT);
  });

  it('formatOf', () => {
    expect([formatOf('a.yml'), formatOf('/x/a.JSON'), formatOf('a.conf'), formatOf('json')]).toEqual([
      'yaml',
      'json',
      undefined,
      undefined,
    ]);
  });

  it('a .json file is JSON only: YAML in it is an error with line and column', async () => {
    const err = await loadError({ 'images.json': YAML_RULES }, { images: 'images.json' });
    expect(err.message).toMatch(/^images\.json: not valid JSON at line 1, column 1: /);
  });

  it('broken JSON: one line with line and column, without quoting the text', () => {
    const bad = '{\n  "auth": {\n    "quay.io": { "password": s3cr3t-in-json }\n  }\n}';
    const r = parseText(bad, 'config.json', 'json');
    expect(r).toEqual({
      file: 'config.json',
      message: 'not valid JSON at line 3, column 30: Unexpected token',
    });
    const r2 = parseText('{"a": "b",}', 'x.json', 'json');
    expect(r2).toEqual({
      file: 'x.json',
      message: 'not valid JSON at line 1, column 11: Expected double-quoted property name',
    });
    const r4 = parseText('{"a": "b"} s3cr3t', 'x.json', 'json');
    expect(r4).toEqual({
      file: 'x.json',
      message: 'not valid JSON at line 1, column 12: Unexpected non-whitespace character',
    });
    const r3 = parseText('{"a": ', 'x.json', 'json');
    expect(r3).toEqual({
      file: 'x.json',
      message: 'not valid JSON at line 1, column 7: Unexpected end of JSON input',
    });
  });

  it('broken YAML: one line with line and column, without quoting the text', () => {
    const r = parseText('auth:\n  quay.io:\n    password: "s3cr3t-in-yaml\n', 'c.yaml', 'yaml');
    expect(r).toEqual({
      file: 'c.yaml',
      message: 'not valid YAML at line 4, column 1: Missing closing "quote',
    });
    const r2 = parseText('a: b\n  c: s3cr3t-x: y\n', 'c.yaml');
    expect('message' in r2 && r2.message).toMatch(/^not valid YAML at line \d+, column \d+: [A-Z]/);
    expect(JSON.stringify(r2)).not.toContain('s3cr3t');
  });

  it('a duplicate key in YAML is an error', async () => {
    const err = await loadError(
      { 'i.yaml': 'quay.io/a/b: r.io/a/b\nquay.io/a/b: r.io/c/b\n' },
      { images: 'i.yaml' },
    );
    expect(err.message).toBe('i.yaml: not valid YAML at line 2, column 1: Map keys must be unique');
  });
});

describe('where the rules come from', () => {
  it('a combined file (auth: + images:), JSON, as image-syncer writes it', async () => {
    const config = await load(
      {
        'harbor-to-acr.json': JSON.stringify({
          auth: {
            'harbor.example.com': { username: 'admin', password: 'x', insecure: true },
            'registry.cn-beijing.aliyuncs.com': { username: 'acr_pusher@1938562138124787', password: 'y' },
          },
          images: { 'harbor.example.com/library/nginx': '' },
        }),
      },
      {
        config: 'harbor-to-acr.json',
        defaults: { registry: 'registry.cn-beijing.aliyuncs.com', namespace: 'image-syncer' },
      },
    );
    expect(describeRules(config)).toEqual([
      'harbor.example.com/library/nginx -> registry.cn-beijing.aliyuncs.com/image-syncer/nginx',
    ]);
    expect(config.auth.entries().map(([p, a]) => [p, a.insecure])).toEqual([
      ['harbor.example.com', true],
      ['registry.cn-beijing.aliyuncs.com', false],
    ]);
  });

  it('separate auth and images files: each file is the map itself', async () => {
    const config = await load(
      {
        'auth.yaml':
          'quay.io:\n  username: xxx\n  password: xxxxxxxxx\n  insecure: true\nquay.io/coreos:\n  username: abc\n  password: yyy\n',
        'images.yaml':
          'quay.io/coreos/kube-rbac-proxy: quay.io/ruohe/kube-rbac-proxy\nquay.io/coreos/kube-rbac-proxy:v1.0,v2.0: quay.io/ruohe/kube-rbac-proxy\n',
      },
      { auth: 'auth.yaml', images: 'images.yaml' },
    );
    expect(describeRules(config)).toEqual([
      'quay.io/coreos/kube-rbac-proxy -> quay.io/ruohe/kube-rbac-proxy',
      'quay.io/coreos/kube-rbac-proxy:v1.0,v2.0 -> quay.io/ruohe/kube-rbac-proxy',
    ]);
    expect(config.auth.entries().map(([p]) => p)).toEqual(['quay.io', 'quay.io/coreos']);
  });

  it('inline images (the action input), YAML or JSON', async () => {
    const yaml = await load(
      {},
      { imagesInline: 'docker.io/library/nginx:1.27: ghcr.io/acme/mirror/nginx\n' },
    );
    expect(describeRules(yaml)).toEqual(['docker.io/library/nginx:1.27 -> ghcr.io/acme/mirror/nginx']);
    expect(yaml.rules[0]?.origin).toEqual({
      file: 'input "images"',
      key: 'images["docker.io/library/nginx:1.27"]',
    });
    const json = await load({}, { imagesInline: '{"nginx": "ghcr.io/acme/nginx"}' });
    expect(describeRules(json)).toEqual(['docker.io/library/nginx -> ghcr.io/acme/nginx']);
  });

  it('the config, the images file and inline images together: the union, in that order', async () => {
    const config = await load(
      { 'c.yaml': 'images:\n  quay.io/a/one: r.io/a/one\n', 'i.json': '{"quay.io/a/two": "r.io/a/two"}' },
      { config: 'c.yaml', images: 'i.json', imagesInline: 'quay.io/a/three: r.io/a/three' },
    );
    expect(describeRules(config)).toEqual([
      'quay.io/a/one -> r.io/a/one',
      'quay.io/a/two -> r.io/a/two',
      'quay.io/a/three -> r.io/a/three',
    ]);
  });

  it('a config with auth only, and the images elsewhere', async () => {
    const config = await load(
      { 'c.yaml': 'auth:\n  quay.io: { username: u, password: p }\n' },
      { config: 'c.yaml', imagesInline: 'quay.io/a/b: r.io/a/b' },
    );
    expect(config.rules).toHaveLength(1);
    expect(config.auth.entries()).toHaveLength(1);
  });

  it('paths are relative to cwd', async () => {
    const cwd = await tempDir({ 'deep/dir/images.yaml': YAML_RULES });
    const config = await loadConfig({ cwd, images: 'deep/dir/images.yaml', env: {} });
    expect(describeRules(config)).toEqual(WANT);
  });

  it('nothing to read is a ConfigError', async () => {
    const cwd = await tempDir();
    await expect(loadConfig({ cwd, env: {} })).rejects.toThrow(ConfigError);
    await expect(loadConfig({ cwd, env: {}, auth: 'auth.yaml' })).rejects.toThrow(
      'configuration: no image rules: give a config file with an images: section, an images file, or inline images',
    );
  });
});
