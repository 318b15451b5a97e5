import { describe, expect, it } from 'vitest';
import { sha256 } from '../../../src/registry/digest.ts';
import type { Descriptor } from '../../../src/registry/manifest.ts';
import {
  FILTERED_FROM,
  FILTERED_PLATFORMS,
  filterIndex,
  isFilteredFrom,
  platformMatches,
  platformsKey,
} from '../../../src/sync/platforms.ts';

const d = (
  n: string,
  platform?: Descriptor['platform'],
  annotations?: Record<string, string>,
): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${n.repeat(64)}`,
  size: 100,
  ...(platform !== undefined && { platform }),
  ...(annotations !== undefined && { annotations }),
});

describe('platforms', () => {
  const amd = d('a', { os: 'linux', architecture: 'amd64' });
  const arm = d('b', { os: 'linux', architecture: 'arm', variant: 'v7' });
  const att = d(
    'c',
    { os: 'unknown', architecture: 'unknown' },
    { 'vnd.docker.reference.digest': amd.digest },
  );
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [amd, arm],
  };
  const bytes = Buffer.from(JSON.stringify(index, null, 3));
  const raw = { mediaType: index.mediaType, bytes, digest: sha256(bytes) };

  it('matches os/arch, variants and wildcards', () => {
    expect(platformMatches(arm.platform, [{ os: 'linux', architecture: 'arm' }])).toBe(true);
    expect(platformMatches(arm.platform, [{ os: 'linux', architecture: 'arm', variant: 'v6' }])).toBe(false);
    expect(platformMatches(amd.platform, [{ os: '*', architecture: 'amd64' }])).toBe(true);
    expect(platformMatches(undefined, [{ os: '*', architecture: '*' }])).toBe(false);
  });

  it('keeps the exact bytes when nothing is dropped', () => {
    const out = filterIndex(raw, [amd, arm], [{ os: 'linux', architecture: '*' }]);
    expect(out.manifest).toBe(raw);
  });

  it('writes a smaller index with a new digest when something is dropped', () => {
    const out = filterIndex(raw, [amd, arm], [{ os: 'linux', architecture: 'amd64' }]);
    expect(out.kept).toEqual([amd]);
    expect(out.manifest.digest).not.toBe(raw.digest);
    expect(out.manifest.digest).toBe(sha256(out.manifest.bytes));
    expect(JSON.parse(out.manifest.bytes.toString()).manifests).toEqual([amd]);
  });

  it('records in a filtered OCI index what it was filtered from, and recognises it by that', () => {
    const wanted = [{ os: 'linux', architecture: 'amd64' }];
    const out = filterIndex(raw, [amd, arm], wanted);
    expect(JSON.parse(out.manifest.bytes.toString()).annotations).toEqual({
      [FILTERED_FROM]: raw.digest,
      [FILTERED_PLATFORMS]: 'linux/amd64',
    });
    expect(isFilteredFrom(out.manifest, raw.digest, wanted)).toBe(true);
    expect(isFilteredFrom(out.manifest, `sha256:${'9'.repeat(64)}`, wanted)).toBe(false);
    expect(
      isFilteredFrom(out.manifest, raw.digest, [...wanted, { os: 'linux', architecture: 'arm64' }]),
    ).toBe(false);
    expect(isFilteredFrom(raw, raw.digest, wanted)).toBe(false);
  });

  it('names the same platforms in any order the same way', () => {
    const armv7 = { os: 'linux', architecture: 'arm', variant: 'v7' };
    const amd64 = { os: 'linux', architecture: 'amd64' };
    expect(platformsKey([armv7, amd64, amd64])).toBe('linux/amd64,linux/arm/v7');
    expect(platformsKey([amd64, armv7])).toBe(platformsKey([armv7, amd64]));
  });

  it('leaves a Docker manifest list without annotations, which it has no field for', () => {
    const list = { ...index, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json' };
    const listBytes = Buffer.from(JSON.stringify(list));
    const listRaw = { mediaType: list.mediaType, bytes: listBytes, digest: sha256(listBytes) };
    const out = filterIndex(listRaw, [amd, arm], [{ os: 'linux', architecture: 'amd64' }]);
    expect(JSON.parse(out.manifest.bytes.toString()).annotations).toBeUndefined();
  });

  it('keeps attestations of the images it keeps', () => {
    const out = filterIndex(raw, [amd, arm, att], [{ os: 'linux', architecture: 'amd64' }]);
    expect(out.kept).toEqual([amd, att]);
  });
});
