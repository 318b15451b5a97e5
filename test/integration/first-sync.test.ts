import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction } from '../support/action-runner.ts';
import { buildImage, pushImage } from '../support/images.ts';
import { type Registry, startRegistry } from '../support/registry.ts';
import { optsFor, skopeoDigest } from '../support/skopeo.ts';
import { TempDirs } from '../support/tmp.ts';

describe('the bundled action, run as the GitHub runner runs it', () => {
  let source: Registry;
  let destination: Registry;
  const dirs = new TempDirs();

  beforeAll(async () => {
    [source, destination] = await Promise.all([
      startRegistry({ auth: 'htpasswd', users: { alice: 'alice-pw-1' } }),
      startRegistry({ auth: 'token', users: { bob: 'bob-pw-2' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), destination?.stop()]);
    await dirs.cleanup();
  });

  it('copies a tagged image from an htpasswd registry to a bearer-token registry, digest for digest', async () => {
    const image = buildImage({ seed: 'first-sync', layers: 2, layerSize: 300_000 });
    await pushImage(source, 'team/app', 'v1.0.0', image);
    const workspace = await dirs.make();
    await writeFile(
      join(workspace, 'sync.yaml'),
      [
        'auth:',
        `  ${source.host}:`,
        '    username: alice',
        '    password: ${SRC_PASSWORD}',
        `  ${destination.host}:`,
        '    username: bob',
        '    password: ${DST_PASSWORD}',
        'images:',
        `  ${source.host}/team/app:v1.0.0: ${destination.host}/mirror/app`,
        '',
      ].join('\n'),
    );

    const run = await runAction(
      { config: 'sync.yaml' },
      { workspace, env: { SRC_PASSWORD: 'alice-pw-1', DST_PASSWORD: 'bob-pw-2' } },
    );

    expect(run.code, run.everything).toBe(0);
    const copied = await skopeoDigest(`${destination.host}/mirror/app:v1.0.0`, optsFor(destination, 'bob'));
    expect(copied).toBe(image.digest);
    expect(await skopeoDigest(`${source.host}/team/app:v1.0.0`, optsFor(source, 'alice'))).toBe(image.digest);
    expect(run.summary).toContain(`${destination.host}/mirror/app:v1.0.0`);
    expect(run.summary).toMatch(/1 synced, 0 skipped, 0 failed/);
    expect(run.outputs).toMatchObject({ synced: '1', skipped: '0', failed: '0' });
    expect(Number(run.outputs.bytes)).toBeGreaterThan(600_000);
  });
});
