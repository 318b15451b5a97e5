/**
 * The benchmark's synthetic mirror, generated here: a dozen repositories × 5 tags (two of them
 * multi-arch indexes), layers of a few MB to a few tens of MB shared the way real images share them
 * — one layer in every image, one base layer per repository (and platform), a dependencies layer per
 * release line, an application layer per version, and `latest` as an alias of the newest version —
 * about 1 GB of distinct blobs; plus a separate image with one ~320 MB layer.
 */
import { gzipSync } from 'node:zlib';
import {
  type BuiltManifest,
  buildImage,
  buildIndex,
  type Flavour,
  type Layer,
  type Platform,
  pushImage,
  seededBytes,
  sha256,
  tar,
} from '../../test/support/images.ts';
import type { Registry } from '../../test/support/registry.ts';

const MB = 1_000_000;

export interface RepoSpec {
  /** Source repository, e.g. `apps/api`; the destination is `mirror/<last component>`. */
  readonly name: string;
  readonly flavour: Flavour;
  /** One entry: a single-platform image per tag; two: an index per tag. */
  readonly platforms: readonly Platform[];
  /** MB of the repository's base layer (one per platform). */
  readonly base: number;
  /** MB of the dependencies layer of the 1.x and the 2.x line. */
  readonly deps: readonly [number, number];
  /** MB of the application layer of 1.0.0, 1.1.0, 2.0.0, 2.1.0. */
  readonly app: readonly [number, number, number, number];
}

const AMD64: Platform = { os: 'linux', architecture: 'amd64' };
const ARM64: Platform = { os: 'linux', architecture: 'arm64' };

/** MB of the one layer every image starts with (a distro base). */
const SHARED_MB = 12;

export const REPOS: readonly RepoSpec[] = [
  { name: 'apps/api', flavour: 'docker', platforms: [AMD64], base: 38, deps: [12, 14], app: [4, 5, 5, 6] },
  { name: 'apps/web', flavour: 'docker', platforms: [AMD64], base: 22, deps: [9, 11], app: [3, 3, 4, 4] },
  { name: 'apps/worker', flavour: 'oci', platforms: [AMD64], base: 30, deps: [6, 8], app: [7, 7, 8, 9] },
  { name: 'tools/cli', flavour: 'docker', platforms: [AMD64], base: 16, deps: [4, 5], app: [2, 2, 3, 3] },
  { name: 'db/postgres', flavour: 'docker', platforms: [AMD64], base: 44, deps: [15, 16], app: [5, 6, 6, 7] },
  { name: 'db/redis', flavour: 'docker', platforms: [AMD64], base: 18, deps: [5, 6], app: [2, 3, 3, 4] },
  { name: 'web/nginx', flavour: 'oci', platforms: [AMD64], base: 26, deps: [7, 8], app: [3, 4, 4, 5] },
  {
    name: 'ops/prometheus',
    flavour: 'docker',
    platforms: [AMD64],
    base: 34,
    deps: [14, 16],
    app: [9, 9, 10, 11],
  },
  { name: 'ops/grafana', flavour: 'oci', platforms: [AMD64], base: 40, deps: [18, 20], app: [8, 9, 9, 10] },
  { name: 'ops/loki', flavour: 'docker', platforms: [AMD64], base: 24, deps: [10, 12], app: [6, 6, 7, 7] },
  {
    name: 'lang/node',
    flavour: 'oci',
    platforms: [AMD64, ARM64],
    base: 30,
    deps: [10, 12],
    app: [4, 4, 5, 5],
  },
  {
    name: 'lang/python',
    flavour: 'docker',
    platforms: [AMD64, ARM64],
    base: 28,
    deps: [9, 11],
    app: [4, 5, 5, 6],
  },
];

/** Versions in push order; `latest` is pushed last, as an alias of the newest. */
export const VERSIONS = ['1.0.0', '1.1.0', '2.0.0', '2.1.0'] as const;
export const TAGS = [...VERSIONS, 'latest'] as const;

/** MB of the separate big image's one layer. */
export const BIG_MB = 320;
export const BIG_REPO = 'big/model';
export const BIG_TAG = '1.0';

/** What was pushed to one repository, for checking a copy. */
export interface SeededRepo {
  readonly name: string;
  /** tag → digest of the top manifest. */
  readonly tags: ReadonlyMap<string, string>;
  /** Every manifest digest (children included) → the blob digests it references (none for indexes). */
  readonly manifests: ReadonlyMap<string, readonly string[]>;
  /** Every distinct blob of the repository: digest → size. */
  readonly blobs: ReadonlyMap<string, number>;
}

export interface Seeded {
  readonly repos: readonly SeededRepo[];
  /** Distinct blobs across all the repositories: digest → size. */
  readonly blobs: ReadonlyMap<string, number>;
  readonly tagCount: number;
}

/** The destination repository for a source repository: `mirror/<last component>` (what `skopeo sync` makes). */
export const destRepo = (source: string): string => `mirror/${source.slice(source.lastIndexOf('/') + 1)}`;

/**
 * A layer whose content is `size` pseudo-random bytes. gzip level 0 (stored deflate blocks): the
 * bytes are incompressible either way, the tools under test never decompress, and level 1 would make
 * seeding ~10× slower (≈30 MB/s on this machine).
 */
export function fastLayer(seed: string, size: number): Layer {
  const raw = tar([
    {
      name: `data/${seed.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60)}.bin`,
      content: seededBytes(seed, size),
    },
    { name: 'data/seed.txt', content: `${seed}\n` },
  ]);
  const data = gzipSync(raw, { level: 0 });
  return { digest: sha256(data), size: data.length, data, diffId: sha256(raw) };
}

const platformKey = (p: Platform): string => `${p.os}-${p.architecture}`;

/** Builds and pushes one repository's five tags; layers are made as needed and dropped after. */
async function seedRepo(
  registry: Registry,
  spec: RepoSpec,
  shared: Layer,
  scale: number,
): Promise<SeededRepo> {
  const size = (mb: number) => Math.max(1024, Math.round(mb * MB * scale));
  const bases = new Map(
    spec.platforms.map((p) => [
      platformKey(p),
      fastLayer(`${spec.name}/${platformKey(p)}/base`, size(spec.base)),
    ]),
  );
  const tags = new Map<string, string>();
  const manifests = new Map<string, readonly string[]>();
  const blobs = new Map<string, number>();
  const record = (m: BuiltManifest): void => {
    manifests.set(
      m.digest,
      m.blobs.map((b) => b.digest),
    );
    for (const b of m.blobs) blobs.set(b.digest, b.size);
    for (const c of m.children) record(c);
  };
  const depsLayers = new Map<string, Layer>();
  const depsLayer = (key: string, line: 0 | 1): Layer => {
    const id = `${key}/deps-${line}`;
    let layer = depsLayers.get(id);
    if (layer === undefined) {
      layer = fastLayer(`${spec.name}/${id}`, size(spec.deps[line]));
      depsLayers.set(id, layer);
    }
    return layer;
  };
  let newest: BuiltManifest | undefined;
  for (const [i, version] of VERSIONS.entries()) {
    const line = i < 2 ? 0 : 1;
    const images = spec.platforms.map((platform) => {
      const key = platformKey(platform);
      const deps = depsLayer(key, line);
      const app = fastLayer(`${spec.name}/${key}/app-${version}`, size(spec.app[i]!));
      return buildImage({
        seed: `${spec.name}:${version}`,
        flavour: spec.flavour,
        platform,
        layers: 0,
        sharedLayers: [shared, bases.get(key)!, deps, app],
        labels: { 'org.opencontainers.image.version': version },
      });
    });
    const built = images.length === 1 ? images[0]! : buildIndex({ flavour: spec.flavour, images });
    await pushImage(registry, spec.name, version, built);
    record(built);
    tags.set(version, built.digest);
    newest = built;
  }
  await pushImage(registry, spec.name, 'latest', newest!);
  tags.set('latest', newest!.digest);
  return { name: spec.name, tags, manifests, blobs };
}

/** Pushes the mirror into `registry`, two repositories at a time. */
export async function seedMirror(registry: Registry, scale = 1): Promise<Seeded> {
  const shared = fastLayer('shared/distro-base', Math.max(1024, Math.round(SHARED_MB * MB * scale)));
  const repos: SeededRepo[] = [];
  const queue = [...REPOS];
  const worker = async () => {
    for (let spec = queue.shift(); spec !== undefined; spec = queue.shift()) {
      repos.push(await seedRepo(registry, spec, shared, scale));
    }
  };
  await Promise.all([worker(), worker()]);
  repos.sort((a, b) => REPOS.findIndex((r) => r.name === a.name) - REPOS.findIndex((r) => r.name === b.name));
  const blobs = new Map<string, number>();
  for (const r of repos) for (const [d, s] of r.blobs) blobs.set(d, s);
  return { repos, blobs, tagCount: repos.reduce((n, r) => n + r.tags.size, 0) };
}

/** The separate image: one layer of ~320 MB. */
export async function seedBig(registry: Registry, scale = 1): Promise<SeededRepo> {
  const layer = fastLayer('big/model/weights', Math.max(1024, Math.round(BIG_MB * MB * scale)));
  const built = buildImage({ seed: BIG_REPO, flavour: 'docker', layers: 0, sharedLayers: [layer] });
  await pushImage(registry, BIG_REPO, BIG_TAG, built);
  return {
    name: BIG_REPO,
    tags: new Map([[BIG_TAG, built.digest]]),
    manifests: new Map([[built.digest, built.blobs.map((b) => b.digest)]]),
    blobs: new Map(built.blobs.map((b) => [b.digest, b.size])),
  };
}
