import { describe, expect, it } from 'vitest';
import { sha256 } from '../../../src/registry/digest.ts';
import { RegistryError, UnsupportedManifest } from '../../../src/registry/errors.ts';
import { MediaType, parseManifest } from '../../../src/registry/manifest.ts';

const raw = (body: unknown, mediaType = '') => {
  const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return { bytes, digest: sha256(bytes), mediaType };
};
const D = (c: string) => ({ mediaType: 'x', digest: `sha256:${c.repeat(64)}`, size: 3 });

describe('parseManifest', () => {
  it('reads images and indexes of both flavours, by body or by Content-Type', () => {
    expect(
      parseManifest(
        raw({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config: D('a'), layers: [D('b')] }),
      ).kind,
    ).toBe('image');
    expect(
      parseManifest(raw({ schemaVersion: 2, config: D('a'), layers: [] }, MediaType.ociManifest)).kind,
    ).toBe('image');
    const list = parseManifest(
      raw({ schemaVersion: 2, mediaType: MediaType.dockerList, manifests: [D('c')] }),
    );
    expect(list.kind === 'index' && list.manifests).toHaveLength(1);
    expect(parseManifest(raw({ schemaVersion: 2, manifests: [] }, MediaType.ociIndex)).kind).toBe('index');
  });

  it('reads an OCI artifact with a subject', () => {
    const m = parseManifest(
      raw({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType: 'a/b',
        config: D('e'),
        layers: [],
        subject: D('f'),
      }),
    );
    expect(m.subject?.digest).toBe(D('f').digest);
  });

  it('refuses Docker schema 1 with a clear "unsupported legacy manifest" error', () => {
    const err = (() => {
      try {
        parseManifest(
          raw({ schemaVersion: 1, name: 'a', tag: 'b', fsLayers: [] }, MediaType.dockerSchema1Signed),
        );
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UnsupportedManifest);
    expect((err as Error).message).toContain('unsupported legacy manifest (Docker schema 1)');
    expect((err as UnsupportedManifest).isTemporary()).toBe(false);
  });

  it('refuses what is not a manifest', () => {
    expect(() => parseManifest(raw('<html>not json</html>'))).toThrow('is not valid JSON');
    expect(() => parseManifest(raw('[1,2]'))).toThrow('is not valid JSON');
    expect(() => parseManifest(raw({ schemaVersion: 2, mediaType: 'text/plain' }))).toThrow(
      'unknown media type "text/plain"',
    );
    expect(() =>
      parseManifest(raw({ schemaVersion: 2, config: { digest: 'nope', size: -1 }, layers: [] })),
    ).toThrow(RegistryError);
  });
});
