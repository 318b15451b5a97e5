// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in config text is what these tests are about
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAuthKey } from '../../../src/config/auth.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { parseRepository } from '../../../src/registry/reference.ts';
import { load, loadError, TEST_CA_PEM, tempDir } from './helpers.ts';

const IMAGES = { 'images.yaml': 'quay.io/a/b: reg.io/a/b' };

/** Loads an auth file (YAML) beside a trivial images file. */
const withAuth = (auth: string, env: Record<string, string> = {}) =>
  load({ ...IMAGES, 'auth.yaml': auth }, { auth: 'auth.yaml', images: 'images.yaml', env });

describe('longest-prefix lookup', () => {
  const auth = `
quay.io: { username: q, password: p0 }
quay.io/coreos: { username: q, password: p1 }
quay.io/coreos/etcd: { username: q, password: p2 }
registry.hub.docker.com: { username: h, password: hub }
index.docker.io/library: { username: h, password: hub-library }
localhost:5000: { username: l, password: local, insecure: true }
`;
  it.each([
    ['quay.io/coreos/etcd', 'p2'],
    ['quay.io/coreos/etcd/sub', 'p2'],
    ['quay.io/coreos/etcd-operator', 'p1'], // a prefix only on path-component boundaries
    ['quay.io/coreos/other', 'p1'],
    ['quay.io/other/x', 'p0'],
    ['quay.io/coreosx/y', 'p0'],
    ['nginx', 'hub-library'], // docker.io/library/nginx: a registry/namespace key beats the registry key
    ['docker.io/library/redis', 'hub-library'],
    ['bitnami/redis', 'hub'],
    ['registry-1.docker.io/bitnami/redis', 'hub'],
    ['localhost:5000/x/y', 'local'],
    ['ghcr.io/acme/app', undefined],
    ['localhost:5001/x', undefined],
  ])('%s → %s', async (repo, password) => {
    const config = await withAuth(auth);
    expect(config.auth.lookup(parseRepository(repo))?.password).toBe(password);
  });

  it('lists every entry by its normalised prefix', async () => {
    const config = await withAuth(auth);
    expect(config.auth.entries().map(([prefix]) => prefix)).toEqual([
      'quay.io',
      'quay.io/coreos',
      'quay.io/coreos/etcd',
      'docker.io',
      'docker.io/library',
      'localhost:5000',
    ]);
    expect(config.auth.lookup(parseRepository('localhost:5000/a'))).toEqual({
      username: 'l',
      password: 'local',
      insecure: true,
      origin: 'auth.yaml: auth["localhost:5000"]',
    });
  });

  it('parseAuthKey normalises keys', () => {
    expect(parseAuthKey('Registry.Hub.Docker.com/library/')).toEqual({
      registry: 'docker.io',
      path: 'library',
    });
    expect(parseAuthKey('quay.io')).toEqual({ registry: 'quay.io' });
    expect(parseAuthKey('https://quay.io')).toMatch(/without a scheme/);
    expect(parseAuthKey('quay.io/Coreos')).toBe('"Coreos" must be lower case');
  });
});

describe('auth fields', () => {
  it('expands ${VAR}; a bare $ is literal (Harbor robot accounts)', async () => {
    const config = await withAuth(
      'harbor.example.com:\n  username: robot$project+ci\n  password: ${HARBOR_PW}\n  insecure: "${INSECURE}"\n',
      { HARBOR_PW: 'pw-from-env', INSECURE: 'yes' },
    );
    expect(config.auth.lookup(parseRepository('harbor.example.com/project/app'))).toEqual({
      username: 'robot$project+ci',
      password: 'pw-from-env',
      insecure: true,
      origin: 'auth.yaml: auth["harbor.example.com"]',
    });
  });

  it('expands ${VAR} in keys too', async () => {
    const config = await withAuth('${REG}: { token: t }', { REG: 'ghcr.io/acme' });
    // Where it was written: the key as in the file.
    expect(config.auth.entries()).toEqual([
      ['ghcr.io/acme', { token: 't', insecure: false, origin: 'auth.yaml: auth["${REG}"]' }],
    ]);
  });

  it('token instead of a password, and a CA bundle relative to the file', async () => {
    const cwd = await tempDir({
      ...IMAGES,
      'conf/auth.json': JSON.stringify({
        'reg.example.com': { username: 'u', token: 'tok', ca: 'certs/ca.pem' },
      }),
      'conf/certs/ca.pem': TEST_CA_PEM,
    });
    const config = await loadConfig({ cwd, auth: 'conf/auth.json', images: 'images.yaml', env: {} });
    expect(config.auth.lookup(parseRepository('reg.example.com/x'))).toEqual({
      username: 'u',
      token: 'tok',
      insecure: false,
      ca: join(cwd, 'conf/certs/ca.pem'),
      origin: 'conf/auth.json: auth["reg.example.com"]',
    });
  });

  it('reports every password and token, expanded, before any error is thrown', async () => {
    const secrets: string[] = [];
    const cwd = await tempDir({
      'c.yaml': `
auth:
  quay.io: { username: u, password: "\${QUAY_PW}" }
  ghcr.io: { token: literal-token }
  bad.io: { username: u, password: 12345678 }
images:
  Bad/Upper: x
`,
    });
    const failed = loadConfig({
      cwd,
      config: 'c.yaml',
      env: { QUAY_PW: 'expanded-pw' },
      onSecret: (s) => secrets.push(s),
    });
    await expect(failed).rejects.toThrow('images["Bad/Upper"]');
    expect(secrets).toEqual(expect.arrayContaining(['expanded-pw', 'literal-token', '12345678']));
    // A placeholder is not a secret: masking it would only hide the config's own text.
    expect(secrets).not.toContain('${QUAY_PW}');
  });

  it('an empty expansion is dropped, with a warning naming the variable', async () => {
    const config = await withAuth('quay.io: { username: u, password: "${PW}" }', { PW: '' });
    expect(config.auth.lookup(parseRepository('quay.io/a/b'))).toEqual({
      username: 'u',
      insecure: false,
      origin: 'auth.yaml: auth["quay.io"]',
    });
    expect(config.warnings).toEqual([
      'auth.yaml: auth["quay.io"].password: is empty (${PW} is set but empty); ignored',
    ]);
  });

  it('unknown keys are warnings, not errors', async () => {
    const config = await load(
      {
        'c.yaml':
          'auth:\n  quay.io: { username: u, password: p, email: me@example.com, pasword: x }\nimages:\n  quay.io/a/b: r.io/a/b\nlog: debug\n',
      },
      { config: 'c.yaml' },
    );
    expect(config.warnings).toEqual([
      'c.yaml: unknown top-level key "log" ignored (known: auth, images)',
      'c.yaml: auth["quay.io"]: unknown keys "email", "pasword" ignored (known: username, password, token, insecure, ca)',
    ]);
    expect(config.rules).toHaveLength(1);
  });

  it('auth from the config file and the auth file: the auth file replaces the same prefix, with a warning', async () => {
    const config = await load(
      {
        'c.yaml':
          'auth:\n  docker.io: { username: a, password: from-config }\n  quay.io: { username: q, password: q }\nimages:\n  nginx: r.io/a/nginx\n',
        'auth.yaml': 'registry.hub.docker.com: { username: b, password: from-auth-file }\n',
      },
      { config: 'c.yaml', auth: 'auth.yaml' },
    );
    expect(config.auth.lookup(parseRepository('nginx'))?.password).toBe('from-auth-file');
    expect(config.auth.lookup(parseRepository('quay.io/x/y'))?.password).toBe('q');
    expect(config.warnings).toEqual([
      'auth.yaml: auth["registry.hub.docker.com"]: replaces c.yaml: auth["docker.io"] (both are docker.io)',
    ]);
  });

  it('an empty auth file is no auth at all', async () => {
    const config = await withAuth('');
    expect(config.auth.entries()).toEqual([]);
    expect(config.auth.lookup(parseRepository('quay.io/a/b'))).toBeUndefined();
  });

  it('warns that "$NAME" is taken as written when NAME is set, and leaves other bare $ alone', async () => {
    const config = await load(
      { ...IMAGES, 'auth.yaml': 'r.io: { username: $USER_NAME, password: robot$ci }\n' },
      { auth: 'auth.yaml', images: 'images.yaml', env: { USER_NAME: 'ann', ci: 'set-too' } },
    );
    expect(config.warnings).toEqual([
      'auth.yaml: auth["r.io"].username: is "$USER_NAME" as written; variables are expanded only as ${USER_NAME}',
    ]);
    expect(config.auth.lookup(parseRepository('r.io/a'))).toMatchObject({
      username: '$USER_NAME',
      password: 'robot$ci',
    });
  });

  it('a CA file that holds no certificate is an error, before any request', async () => {
    const err = await loadError(
      { ...IMAGES, 'auth.yaml': 'r.io: { username: u, password: hunter2-secret, ca: auth.yaml }' },
      { auth: 'auth.yaml', images: 'images.yaml' },
    );
    expect(err.message).toMatch(
      /^auth\.yaml: auth\["r\.io"\]\.ca: CA file "\/.*\/auth\.yaml" holds no PEM certificate$/,
    );
    const broken = await loadError(
      {
        ...IMAGES,
        'auth.yaml': 'r.io: { ca: ca.pem }',
        'ca.pem': '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n',
      },
      { auth: 'auth.yaml', images: 'images.yaml' },
    );
    expect(broken.message).toContain('holds no PEM certificate');
  });

  it('a missing CA file is an error naming the resolved path', async () => {
    const err = await loadError(
      { ...IMAGES, 'sub/auth.yaml': 'r.io: { username: u, password: hunter2-secret, ca: ../missing.pem }' },
      { auth: 'sub/auth.yaml', images: 'images.yaml' },
    );
    expect(err.message).toMatch(
      /^sub\/auth\.yaml: auth\["r\.io"\]\.ca: CA file "\/.*\/missing\.pem" does not exist$/,
    );
    expect(err.message).not.toContain('hunter2-secret');
  });
});
