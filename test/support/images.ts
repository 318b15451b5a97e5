import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Agent, type Dispatcher, request } from 'undici';
import type { Registry } from './registry.ts';

// Test fixtures only: this file must not import anything from src/.

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export interface Blob {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  readonly data: Buffer;
}

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
}

export interface BuiltManifest {
  readonly digest: string;
  readonly mediaType: string;
  /** The exact serialised manifest; `digest` is sha256 of these bytes. */
  readonly bytes: Buffer;
  /** `bytes.length`. */
  readonly size: number;
  /** Config first, then layers (single manifests); empty for indexes. */
  readonly blobs: Blob[];
  /** The manifests an index / list points at (in order); empty for single manifests. */
  readonly children: BuiltManifest[];
  /** Set on single-platform images (and so on an index's children). */
  readonly platform?: Platform;
  readonly artifactType?: string;
}

/** A gzip'd tar layer, independent of the media type it will be given. */
export interface Layer {
  readonly digest: string;
  readonly size: number;
  readonly data: Buffer;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids entry). */
  readonly diffId: string;
}

export type Flavour = 'oci' | 'docker';

export const PLATFORMS: readonly Platform[] = [
  { architecture: 'amd64', os: 'linux' },
  { architecture: 'arm64', os: 'linux' },
  { architecture: 'arm', os: 'linux', variant: 'v7' },
];

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant === undefined ? '' : `/${p.variant}`}`;
}

/** Deterministic pseudo-random (incompressible) bytes from a seed: AES-256-CTR over zeros. */
export function seededBytes(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(`key:${seed}`).digest();
  const iv = createHash('sha256').update(`iv:${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

// ---------------------------------------------------------------------------------------------
// tar (POSIX ustar) + gzip

export interface TarEntry {
  readonly name: string;
  readonly content: Buffer | string;
  readonly mode?: number;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** A minimal POSIX ustar archive of regular files (names up to 100 bytes), mtime 0, root-owned. */
export function tar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const content = Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content);
    const name = Buffer.from(e.name);
    if (name.length > 100) throw new Error(`tar entry name too long: ${e.name}`);
    const h = Buffer.alloc(512);
    name.copy(h, 0);
    h.write(octal(e.mode ?? 0o644, 8), 100, 'ascii');
    h.write(octal(0, 8), 108, 'ascii'); // uid
    h.write(octal(0, 8), 116, 'ascii'); // gid
    h.write(octal(content.length, 12), 124, 'ascii');
    h.write(octal(0, 12), 136, 'ascii'); // mtime
    h.write('        ', 148, 'ascii'); // checksum placeholder
    h.write('0', 156, 'ascii'); // regular file
    h.write('ustar\0', 257, 'ascii');
    h.write('00', 263, 'ascii');
    h.write('root', 265, 'ascii');
    h.write('root', 297, 'ascii');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    parts.push(h, content);
    const pad = (512 - (content.length % 512)) % 512;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export interface LayerOptions {
  /** Bytes of pseudo-random file content (default 1024). The gzip'd layer is slightly larger. */
  readonly size?: number;
  /** Explicit files instead of the generated one. */
  readonly files?: readonly TarEntry[];
}

/** A deterministic layer: `seed` decides its content (same seed + options → same digest). */
export function buildLayer(seed: string, opts: LayerOptions = {}): Layer {
  const files = opts.files ?? [
    {
      name: `data/${seed.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60)}.bin`,
      content: seededBytes(seed, opts.size ?? 1024),
    },
    { name: 'data/seed.txt', content: `${seed}\n` },
  ];
  const raw = tar(files);
  const data = gzipSync(raw, { level: 6 });
  return { digest: sha256(data), size: data.length, data, diffId: sha256(raw) };
}

function blob(data: Buffer, mediaType: string): Blob {
  return { digest: sha256(data), size: data.length, mediaType, data };
}

function descriptor(b: { mediaType: string; digest: string; size: number }): Record<string, unknown> {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size };
}

function serialise(obj: unknown, indent: number | string): Buffer {
  return Buffer.from(JSON.stringify(obj, null, indent));
}

// ---------------------------------------------------------------------------------------------
// images

export interface ImageOptions {
  /** Distinguishes the content (default 'image'). Same options → same digest. */
  readonly seed?: string;
  readonly flavour?: Flavour;
  readonly platform?: Platform;
  /** Number of own layers (default 1). */
  readonly layers?: number;
  /** Content bytes in each own layer (default 1024). */
  readonly layerSize?: number;
  /** Prebuilt layers placed before the own layers (to share a layer across images). */
  readonly sharedLayers?: readonly Layer[];
  /** Manifest annotations (OCI only). */
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  /** JSON.stringify indentation of the manifest (default 3, as Docker's own tooling writes). */
  readonly indent?: number | string;
}

export function buildImage(opts: ImageOptions = {}): BuiltManifest {
  const seed = opts.seed ?? 'image';
  const flavour = opts.flavour ?? 'oci';
  const platform = opts.platform ?? PLATFORMS[0]!;
  const own: Layer[] = [];
  for (let i = 0; i < (opts.layers ?? 1); i++) {
    own.push(buildLayer(`${seed}/${platformString(platform)}/layer${i}`, { size: opts.layerSize ?? 1024 }));
  }
  const layers = [...(opts.sharedLayers ?? []), ...own];
  const layerType = flavour === 'oci' ? MT.ociLayer : MT.dockerLayer;
  const config = {
    created: '2024-01-01T00:00:00Z',
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['/bin/sh'],
      Labels: { 'org.example.seed': seed, ...opts.labels },
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({
      created: '2024-01-01T00:00:00Z',
      created_by: `image-sync test layer ${i}`,
    })),
  };
  const configBlob = blob(
    Buffer.from(JSON.stringify(config)),
    flavour === 'oci' ? MT.ociConfig : MT.dockerConfig,
  );
  const layerBlobs = layers.map(
    (l): Blob => ({ digest: l.digest, size: l.size, mediaType: layerType, data: l.data }),
  );
  const mediaType = flavour === 'oci' ? MT.ociManifest : MT.dockerManifest;
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: descriptor(configBlob),
    layers: layerBlobs.map(descriptor),
    ...(flavour === 'oci' && opts.annotations !== undefined ? { annotations: opts.annotations } : {}),
  };
  const bytes = serialise(manifest, opts.indent ?? 3);
  return {
    digest: sha256(bytes),
    mediaType,
    bytes,
    size: bytes.length,
    blobs: [configBlob, ...layerBlobs],
    children: [],
    platform,
  };
}

export interface IndexOptions extends Omit<ImageOptions, 'platform' | 'indent'> {
  readonly platforms?: readonly Platform[];
  /** Use these manifests as the children instead of building one per platform. */
  readonly images?: readonly BuiltManifest[];
  /** Indentation of the index (default 3 spaces: not what a re-serialising tool would write). */
  readonly indent?: number | string;
  /** Indentation of the children built here (default 3). */
  readonly childIndent?: number | string;
}

/** An OCI image index (flavour 'oci') or a Docker manifest list (flavour 'docker'). */
export function buildIndex(opts: IndexOptions = {}): BuiltManifest {
  const flavour = opts.flavour ?? 'oci';
  const { images, platforms, indent, childIndent, ...imageOpts } = opts;
  const children =
    images !== undefined
      ? [...images]
      : (platforms ?? PLATFORMS).map((platform) =>
          buildImage({ ...imageOpts, platform, indent: childIndent ?? 3, annotations: undefined }),
        );
  const mediaType = flavour === 'oci' ? MT.ociIndex : MT.dockerList;
  const index = {
    schemaVersion: 2,
    mediaType,
    manifests: children.map((c) => ({
      ...descriptor(c),
      ...(c.platform === undefined ? {} : { platform: { ...c.platform } }),
    })),
    ...(flavour === 'oci' && opts.annotations !== undefined ? { annotations: opts.annotations } : {}),
  };
  const bytes = serialise(index, indent ?? 3);
  return { digest: sha256(bytes), mediaType, bytes, size: bytes.length, blobs: [], children };
}

export interface ArtifactOptions {
  readonly seed?: string;
  /** Default `application/vnd.example.sbom.v1`. */
  readonly artifactType?: string;
  /** The manifest this artifact refers to (OCI 1.1 `subject`). */
  readonly subject?: BuiltManifest;
  /** Payload blobs (default: one JSON document derived from the seed). */
  readonly payloads?: readonly { readonly mediaType: string; readonly data: Buffer | string }[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly indent?: number | string;
}

/** The OCI empty descriptor's blob: `{}`. */
export const EMPTY_BLOB: Blob = blob(Buffer.from('{}'), MT.ociEmpty);

/** An OCI artifact: `artifactType`, config `application/vnd.oci.empty.v1+json` (`{}`), optional `subject`. */
export function buildArtifact(opts: ArtifactOptions = {}): BuiltManifest {
  const seed = opts.seed ?? 'artifact';
  const artifactType = opts.artifactType ?? 'application/vnd.example.sbom.v1';
  const payloads = (
    opts.payloads ?? [{ mediaType: 'application/vnd.example.sbom.v1+json', data: JSON.stringify({ seed }) }]
  ).map((p) => blob(Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data), p.mediaType));
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    artifactType,
    config: descriptor(EMPTY_BLOB),
    layers: payloads.map(descriptor),
    ...(opts.subject === undefined ? {} : { subject: descriptor(opts.subject) }),
    annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', ...opts.annotations },
  };
  const bytes = serialise(manifest, opts.indent ?? 3);
  return {
    digest: sha256(bytes),
    mediaType: MT.ociManifest,
    bytes,
    size: bytes.length,
    blobs: [EMPTY_BLOB, ...payloads],
    children: [],
    artifactType,
  };
}

/** Every distinct blob of a manifest and its children. */
export function allBlobs(built: BuiltManifest): Blob[] {
  const seen = new Map<string, Blob>();
  const visit = (m: BuiltManifest): void => {
    for (const b of m.blobs) if (!seen.has(b.digest)) seen.set(b.digest, b);
    for (const c of m.children) visit(c);
  };
  visit(built);
  return [...seen.values()];
}

/** Every manifest (children first, then `built` itself). */
export function allManifests(built: BuiltManifest): BuiltManifest[] {
  return [...built.children.flatMap(allManifests), built];
}

// ---------------------------------------------------------------------------------------------
// pushing (an independent, minimal registry client)

export interface Creds {
  readonly username: string;
  readonly password: string;
}

type PushTarget = Pick<Registry, 'url' | 'auth' | 'tls' | 'caPem' | 'users'>;

class PushSession {
  readonly #base: string;
  readonly #dispatcher: Dispatcher;
  readonly #creds: Creds | undefined;
  readonly #repo: string;
  #authorization: string | undefined;

  constructor(target: PushTarget, repo: string, creds: Creds | undefined) {
    this.#base = target.url;
    this.#dispatcher = target.tls ? new Agent({ connect: { ca: target.caPem } }) : new Agent();
    this.#creds = creds;
    this.#repo = repo;
    if (target.auth === 'htpasswd' && creds !== undefined) this.#authorization = basic(creds);
  }

  async send(
    method: Dispatcher.HttpMethod,
    pathOrUrl: string,
    headers: Record<string, string> = {},
    body?: Buffer,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const url = new URL(pathOrUrl, this.#base).toString();
    for (let attempt = 0; ; attempt++) {
      const res = await request(url, {
        method,
        headers: {
          ...headers,
          ...(this.#authorization === undefined ? {} : { authorization: this.#authorization }),
        },
        ...(body === undefined ? {} : { body }),
        dispatcher: this.#dispatcher,
      });
      const data = Buffer.from(await res.body.arrayBuffer());
      const challenge = res.headers['www-authenticate'];
      if (
        res.statusCode === 401 &&
        attempt === 0 &&
        typeof challenge === 'string' &&
        /^bearer\s/i.test(challenge)
      ) {
        this.#authorization = `Bearer ${await this.#token(challenge)}`;
        continue;
      }
      return { status: res.statusCode, headers: res.headers, body: data };
    }
  }

  async #token(challenge: string): Promise<string> {
    const params: Record<string, string> = {};
    for (const m of challenge.replace(/^bearer\s+/i, '').matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
    if (params.realm === undefined) throw new Error(`no realm in challenge: ${challenge}`);
    const url = new URL(params.realm);
    if (params.service !== undefined) url.searchParams.set('service', params.service);
    url.searchParams.append('scope', `repository:${this.#repo}:pull,push`);
    const res = await request(url, {
      headers: this.#creds === undefined ? {} : { authorization: basic(this.#creds) },
      dispatcher: this.#dispatcher,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`token request ${url} → ${res.statusCode}: ${text}`);
    const json = JSON.parse(text) as { token?: string; access_token?: string };
    const token = json.token ?? json.access_token;
    if (token === undefined) throw new Error(`token response without a token: ${text}`);
    return token;
  }

  close(): Promise<void> {
    return this.#dispatcher.close();
  }
}

function basic(c: Creds): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

function fail(what: string, res: { status: number; body: Buffer }): never {
  throw new Error(`${what} → HTTP ${res.status}: ${res.body.toString('utf8').slice(0, 500)}`);
}

/** The registry's first user, unless the registry is anonymous. */
function defaultCreds(target: PushTarget): Creds | undefined {
  if (target.auth === 'none') return undefined;
  const first = Object.entries(target.users)[0];
  return first === undefined ? undefined : { username: first[0], password: first[1] };
}

async function pushBlob(s: PushSession, repo: string, b: Blob): Promise<void> {
  const head = await s.send('HEAD', `/v2/${repo}/blobs/${b.digest}`);
  if (head.status === 200) return;
  const start = await s.send('POST', `/v2/${repo}/blobs/uploads/`, { 'content-length': '0' });
  if (start.status !== 202) fail(`POST /v2/${repo}/blobs/uploads/`, start);
  const location = start.headers.location;
  if (typeof location !== 'string') throw new Error('upload without Location');
  const url = new URL(location, 'http://placeholder');
  url.searchParams.set('digest', b.digest);
  const target = location.includes('://') ? url.toString() : `${url.pathname}${url.search}`;
  const put = await s.send(
    'PUT',
    target,
    { 'content-type': 'application/octet-stream', 'content-length': String(b.size) },
    b.data,
  );
  if (put.status !== 201) fail(`PUT blob ${b.digest} to ${repo}`, put);
}

async function pushManifest(s: PushSession, repo: string, ref: string, m: BuiltManifest): Promise<void> {
  const put = await s.send('PUT', `/v2/${repo}/manifests/${ref}`, { 'content-type': m.mediaType }, m.bytes);
  if (put.status !== 201) fail(`PUT manifest ${repo}:${ref}`, put);
  const digest = put.headers['docker-content-digest'];
  if (typeof digest === 'string' && digest !== m.digest) {
    throw new Error(`registry computed ${digest} for ${repo}:${ref}, expected ${m.digest}`);
  }
}

/**
 * Pushes `built` (blobs, then children by digest, then the top manifest by `tag`, or by digest when
 * `tag` is null). Credentials default (undefined) to the registry's first user (none for anonymous
 * registries); `null` pushes anonymously.
 */
export async function pushImage(
  registry: PushTarget,
  repo: string,
  tag: string | null,
  built: BuiltManifest,
  creds?: Creds | null,
): Promise<void> {
  const s = new PushSession(
    registry,
    repo,
    creds === undefined ? defaultCreds(registry) : (creds ?? undefined),
  );
  try {
    for (const b of allBlobs(built)) await pushBlob(s, repo, b);
    const push = async (m: BuiltManifest, ref: string): Promise<void> => {
      for (const c of m.children) await push(c, c.digest);
      await pushManifest(s, repo, ref, m);
    };
    await push(built, tag ?? built.digest);
  } finally {
    await s.close();
  }
}

// ---------------------------------------------------------------------------------------------
// OCI image layout

export interface LayoutEntry {
  /** Written as the `org.opencontainers.image.ref.name` annotation (omitted when undefined). */
  readonly ref?: string;
  readonly built: BuiltManifest;
}

/**
 * Writes (or adds to) an OCI image layout: `oci-layout`, `index.json`, `blobs/sha256/<hex>`. An
 * existing entry with the same ref name is replaced.
 */
export async function writeOciLayout(dir: string, entries: readonly LayoutEntry[]): Promise<void> {
  const blobsDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobsDir, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const write = async (digest: string, data: Buffer): Promise<void> => {
    await writeFile(join(blobsDir, digest.slice('sha256:'.length)), data);
  };
  type IndexEntry = { mediaType: string; digest: string; size: number; annotations?: Record<string, string> };
  let manifests: IndexEntry[] = [];
  try {
    const existing = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
      manifests?: IndexEntry[];
    };
    manifests = existing.manifests ?? [];
  } catch {
    // a new layout
  }
  const REF = 'org.opencontainers.image.ref.name';
  for (const { ref, built } of entries) {
    for (const b of allBlobs(built)) await write(b.digest, b.data);
    for (const m of allManifests(built)) await write(m.digest, m.bytes);
    if (ref !== undefined) manifests = manifests.filter((m) => m.annotations?.[REF] !== ref);
    manifests.push({
      mediaType: built.mediaType,
      digest: built.digest,
      size: built.bytes.length,
      ...(ref === undefined ? {} : { annotations: { [REF]: ref } }),
    });
  }
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests }, null, 2),
  );
}
