import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import type { ManifestHead } from '../../../src/registry/client/manifests.ts';
import { RegistryError } from '../../../src/registry/errors.ts';
import type { Reference } from '../../../src/registry/reference.ts';
import type { ImageStore } from '../../../src/registry/store.ts';
import { BlobCopier } from '../../../src/sync/blobs.ts';
import { type CopyContext, copyImage } from '../../../src/sync/copy.ts';
import type { Task } from '../../../src/sync/types.ts';
import { refusing } from '../../support/stores.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const HEAD: ManifestHead = {
  digest: DIGEST,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 1,
};
const task: Task = {
  source: { registry: 'src.example', repository: 'lib/app', tag: '1.0' },
  destination: { registry: 'dst.example', repository: 'mirror/app', tag: '1.0' },
  referrers: false,
  origin: 'test',
};

function context(src: ImageStore, dst: ImageStore, force = false): CopyContext {
  return {
    client: { repository: (repo: Reference) => (repo.registry === 'src.example' ? src : dst) },
    blobs: new BlobCopier({
      limit: pLimit(1),
      retry: { retries: 0, minDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 },
    }),
    force,
    dryRun: false,
    emit: () => {},
    referrersDone: new Set(),
    manifestsCopied: new Map(),
    sourceManifests: new Map(),
  };
}

describe('copyImage', () => {
  it('asks the destination while the source has not answered yet: a no-op image costs one round trip', async () => {
    let sourceAnswered = false;
    let askedWhileSourcePending: boolean | undefined;
    const src: ImageStore = {
      ...refusing('src.example', 'lib/app'),
      headManifest: () =>
        new Promise((resolve) =>
          setImmediate(() => {
            sourceAnswered = true;
            resolve(HEAD);
          }),
        ),
    };
    const dst: ImageStore = {
      ...refusing('dst.example', 'mirror/app'),
      headManifest: async (ref) => {
        expect(ref).toBe('1.0');
        askedWhileSourcePending = !sourceAnswered;
        return HEAD;
      },
    };
    const outcome = await copyImage(task, context(src, dst));
    expect(outcome).toMatchObject({ status: 'skipped', digest: DIGEST, bytes: 0 });
    expect(askedWhileSourcePending).toBe(true);
  });

  it('reports a missing source as not found, whatever the destination answered', async () => {
    const src: ImageStore = { ...refusing('src.example', 'lib/app'), headManifest: async () => undefined };
    const dst: ImageStore = {
      ...refusing('dst.example', 'mirror/app'),
      headManifest: async () => {
        throw new RegistryError('HEAD denied', { status: 403 });
      },
    };
    await expect(copyImage(task, context(src, dst))).rejects.toThrow(/lib\/app:1.0 was not found/);
  });

  it('does not ask the destination first when forced to copy', async () => {
    const src: ImageStore = {
      ...refusing('src.example', 'lib/app'),
      headManifest: async () => HEAD,
      getManifest: async () => {
        throw new RegistryError('stop here: the copy itself is not under test', { status: 400 });
      },
    };
    // `refusing` throws on any destination call: a HEAD would fail the copy with another message.
    await expect(copyImage(task, context(src, refusing('dst.example', 'mirror/app'), true))).rejects.toThrow(
      /stop here/,
    );
  });
});
