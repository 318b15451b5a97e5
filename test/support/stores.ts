import type { ImageStore } from '../../src/registry/store.ts';

/** A store whose every method throws: a test overrides the calls the code under test may make. */
export function refusing(registry: string, repository: string): ImageStore {
  const no = (): never => {
    throw new Error('not a call expected here');
  };
  return {
    repo: { registry, repository },
    name: `${registry}/${repository}`,
    headManifest: no,
    getManifest: no,
    putManifest: no,
    headBlob: no,
    getBlob: no,
    mountBlob: no,
    startUpload: no,
    putUpload: no,
    patchUpload: no,
    listTags: no,
    listReferrers: no,
  };
}
