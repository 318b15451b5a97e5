/**
 * A fast wrong answer must not look good: after each run, every destination tag must resolve to the
 * source's digest, and (after a cold run) every manifest and blob below it must be there.
 * Asked of the destination registry directly, not through the counting proxy.
 */
import { Agent, request } from 'undici';
import { MT } from '../../test/support/images.ts';
import { destRepo, type SeededRepo } from './mirror.ts';

const ACCEPT = [MT.ociIndex, MT.ociManifest, MT.dockerList, MT.dockerManifest].join(', ');

export interface Verdict {
  readonly tags: number;
  readonly tagsOk: number;
  readonly problems: readonly string[];
}

export async function verify(
  registryUrl: string,
  repos: readonly SeededRepo[],
  deep: boolean,
): Promise<Verdict> {
  const dispatcher = new Agent({ connections: 8 });
  const problems: string[] = [];
  let tags = 0;
  let tagsOk = 0;
  const head = async (path: string): Promise<{ status: number; digest: string | undefined }> => {
    const res = await request(`${registryUrl}${path}`, {
      method: 'HEAD',
      headers: { accept: ACCEPT },
      dispatcher,
    });
    await res.body.dump();
    const digest = res.headers['docker-content-digest'];
    return { status: res.statusCode, digest: typeof digest === 'string' ? digest : undefined };
  };
  try {
    await Promise.all(
      repos.map(async (repo) => {
        const dest = destRepo(repo.name);
        for (const [tag, digest] of repo.tags) {
          tags++;
          const got = await head(`/v2/${dest}/manifests/${tag}`);
          if (got.digest === digest) tagsOk++;
          else problems.push(`${dest}:${tag} is ${got.digest ?? `HTTP ${got.status}`}, source ${digest}`);
        }
        if (!deep) return;
        for (const digest of repo.manifests.keys()) {
          const got = await head(`/v2/${dest}/manifests/${digest}`);
          if (got.status !== 200) problems.push(`${dest}@${digest}: manifest HTTP ${got.status}`);
        }
        for (const digest of repo.blobs.keys()) {
          const got = await head(`/v2/${dest}/blobs/${digest}`);
          if (got.status !== 200) problems.push(`${dest}: blob ${digest} HTTP ${got.status}`);
        }
      }),
    );
  } finally {
    await dispatcher.close();
  }
  return { tags, tagsOk, problems };
}
