import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonReport } from '../../src/report/json.ts';
import { runAction } from '../support/action-runner.ts';
import { runCli } from '../support/cli-runner.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { type BuiltManifest, buildArtifact, buildImage, buildIndex, pushImage } from '../support/images.ts';
import { startRateLimitDouble } from '../support/rate-limit-double.ts';
import { type Registry, startRegistry } from '../support/registry.ts';
import { optsFor, skopeoDigest, skopeoInspectRaw, skopeoListTags } from '../support/skopeo.ts';
import { TempDirs } from '../support/tmp.ts';

const execFileP = promisify(execFile);

/** What image-syncer does not do: tag filters, referrers, OCI layouts, Docker Hub quota. */
describe('beyond image-syncer', () => {
  const dirs = new TempDirs();
  let src: Registry;
  let dst: Registry;
  const VERSIONS = [
    '1.24.0',
    '1.25.0',
    '1.25.1',
    '1.26.0-alpine',
    '1.26.0',
    '2.0.0',
    'latest',
    'v1.27.0',
    'nightly',
  ];
  const built: Record<string, BuiltManifest> = {};

  beforeAll(async () => {
    [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
    for (const tag of VERSIONS) {
      built[tag] = buildImage({ seed: `versions-${tag}` });
      await pushImage(src, 'lib/web', tag, built[tag]!);
    }
  });
  afterAll(async () => {
    await Promise.all([src?.stop(), dst?.stop()]);
    await dirs.cleanup();
  });

  async function cli(config: string, ...args: string[]) {
    const dir = await dirs.make();
    await writeFile(join(dir, 'config.yaml'), config);
    const run = await runCli(['--config', 'config.yaml', '--report', 'report.json', ...args], { cwd: dir });
    const report = JSON.parse(
      await readFile(join(dir, 'report.json'), 'utf8').catch(() => '{}'),
    ) as JsonReport;
    return { ...run, report, dir };
  }
  const tagsAt = async (repo: string) => (await skopeoListTags(`${dst.host}/${repo}`, optsFor(dst))).sort();

  it('filters tags by include, exclude, semver and latest, alone and combined', async () => {
    const s = `${src.host}/lib/web`;
    const d = `${dst.host}/filters`;
    const run = await cli(
      [
        'images:',
        `  - source: ${s}`,
        `    destinations: [${d}/include]`,
        `    tags: { include: ['1\\.25\\..*', 'v.*'] }`,
        `  - source: ${s}`,
        `    destination: ${d}/exclude`,
        `    tags: { exclude: ['.*-alpine', 'latest', 'nightly', 'v.*', '1\\.2[45].*'] }`,
        `  - source: ${s}`,
        `    destination: ${d}/semver`,
        `    tags: { semver: '>=1.25 <2' }`,
        `  - source: ${s}`,
        `    destination: ${d}/latest`,
        '    tags: { latest: 3 }',
        `  - source: ${s}`,
        `    destination: ${d}/combined`,
        `    tags: { include: ['1\\..*', 'v1\\..*'], exclude: ['.*-alpine.*'], semver: '>=1.25 <2', latest: 2 }`,
        '',
      ].join('\n'),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(await tagsAt('filters/include')).toEqual(['1.25.0', '1.25.1', 'v1.27.0']);
    expect(await tagsAt('filters/exclude')).toEqual(['1.26.0', '2.0.0']);
    // Pre-releases stay out of ranges (node-semver's rule); a leading v is a version.
    expect(await tagsAt('filters/semver')).toEqual(['1.25.0', '1.25.1', '1.26.0', 'v1.27.0']);
    expect(await tagsAt('filters/latest')).toEqual(['1.26.0', '2.0.0', 'v1.27.0']);
    expect(await tagsAt('filters/combined')).toEqual(['1.26.0', 'v1.27.0']);
    expect(await skopeoDigest(`${dst.host}/filters/combined:v1.27.0`, optsFor(dst))).toBe(
      built['v1.27.0']!.digest,
    );
  });

  describe('signatures and referrers', () => {
    const image = buildImage({ seed: 'signed', layers: 2 });
    const hex = image.digest.slice('sha256:'.length);
    const signature = buildArtifact({
      seed: 'cosign-signature',
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      payloads: [
        { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', data: `{"critical":"${hex}"}` },
      ],
    });
    const sbom = buildArtifact({ seed: 'sbom', artifactType: 'application/spdx+json', subject: image });
    // distribution 2.8 has no referrers API: pushers keep the referrers tag schema's index instead.
    const referrersIndex = buildIndex({ images: [sbom] });

    beforeAll(async () => {
      await pushImage(src, 'lib/signed', '1.0', image);
      await pushImage(src, 'lib/signed', `sha256-${hex}.sig`, signature);
      await pushImage(src, 'lib/signed', null, sbom);
      await pushImage(src, 'lib/signed', `sha256-${hex}`, referrersIndex);
    });

    it('brings the cosign signature and the OCI 1.1 referrer with the image, and counts them', async () => {
      const ws = await dirs.make();
      const run = await runAction(
        { images: `${src.host}/lib/signed:1.0: ${dst.host}/signed/app` },
        { workspace: ws },
      );
      expect(run.code, run.everything).toBe(0);
      const at = (ref: string) => skopeoDigest(`${dst.host}/signed/app${ref}`, optsFor(dst));
      expect(await at(':1.0')).toBe(image.digest);
      expect(await at(`:sha256-${hex}.sig`)).toBe(signature.digest);
      expect(await at(`:sha256-${hex}`)).toBe(referrersIndex.digest);
      expect(await at(`@${sbom.digest}`)).toBe(sbom.digest);
      expect(run.summary).toContain(
        '2 signatures, attestations and other referrers travelled with their images',
      );
      expect(run.report?.results[0]?.referrers).toBe(2);
    });

    it("adds the source's new referrers to the destination's tag index, keeping those pushed there", async () => {
      const first = await cli(`images:\n  ${src.host}/lib/signed:1.0: ${dst.host}/merged/app\n`);
      expect(first.code, first.stderr).toBe(0);
      // A scanner attaches its report at the destination; then a new attestation arrives at the source.
      const scan = buildArtifact({ seed: 'scan-at-destination', subject: image });
      await pushImage(dst, 'merged/app', null, scan);
      await pushImage(dst, 'merged/app', `sha256-${hex}`, buildIndex({ images: [sbom, scan] }));
      const attestation = buildArtifact({ seed: 'new-attestation', subject: image });
      await pushImage(src, 'lib/signed-later', '1.0', image);
      await pushImage(src, 'lib/signed-later', null, sbom);
      await pushImage(src, 'lib/signed-later', null, attestation);
      await pushImage(src, 'lib/signed-later', `sha256-${hex}`, buildIndex({ images: [sbom, attestation] }));

      const run = await cli(`images:\n  ${src.host}/lib/signed-later:1.0: ${dst.host}/merged/app\n`);

      expect(run.code, run.stderr).toBe(0);
      expect(run.report.results[0]).toMatchObject({ status: 'skipped', referrers: 1 });
      const raw = await skopeoInspectRaw(`${dst.host}/merged/app:sha256-${hex}`, optsFor(dst));
      const listed = (JSON.parse(raw.toString()) as { manifests: { digest: string }[] }).manifests;
      expect(listed.map((m) => m.digest)).toEqual([sbom.digest, attestation.digest, scan.digest]);
      expect(await skopeoDigest(`${dst.host}/merged/app@${attestation.digest}`, optsFor(dst))).toBe(
        attestation.digest,
      );

      // The merged index records what it was merged from: a no-op run reads no manifest of the source.
      const counting = await startFaultProxy(src.host);
      try {
        const again = await cli(`images:\n  ${counting.host}/lib/signed-later:1.0: ${dst.host}/merged/app\n`);
        expect(again.report.results[0]).toMatchObject({ status: 'skipped', referrers: 0 });
        expect(counting.log.filter((e) => e.method === 'GET' && e.path.includes('/manifests/'))).toEqual([]);
        expect(await skopeoInspectRaw(`${dst.host}/merged/app:sha256-${hex}`, optsFor(dst))).toEqual(raw);
      } finally {
        await counting.stop();
      }
    });

    it('leaves them behind when the rule says referrers: false', async () => {
      const run = await cli(
        [
          'images:',
          `  - source: ${src.host}/lib/signed:1.0`,
          `    destination: ${dst.host}/unsigned/app`,
          '    referrers: false',
          // All tags: the signature's and the referrers index's tags are not images of their own.
          `  - source: ${src.host}/lib/signed`,
          `    destination: ${dst.host}/unsigned/all`,
          '    referrers: false',
          '',
        ].join('\n'),
      );
      expect(run.code, run.stderr).toBe(0);
      expect(await tagsAt('unsigned/app')).toEqual(['1.0']);
      expect(await tagsAt('unsigned/all')).toEqual(['1.0']);
    });
  });

  it('round-trips registry → OCI layout directory → registry with every digest kept', async () => {
    const multi = buildIndex({ seed: 'layout-multi' });
    const single = buildImage({ seed: 'layout-single', layers: 3 });
    await pushImage(src, 'lib/layout', 'multi', multi);
    await pushImage(src, 'lib/layout', 'single', single);
    const layout = join(await dirs.make(), 'carried');

    const out = await cli(`images:\n  ${src.host}/lib/layout: oci:${layout}\n`);
    expect(out.code, out.stderr).toBe(0);
    expect(out.report.totals.synced).toBe(2);
    // skopeo reads the directory as an independent check.
    expect(await skopeoDigest(`oci:${layout}:multi`)).toBe(multi.digest);
    expect(await skopeoDigest(`oci:${layout}:single`)).toBe(single.digest);

    const back = await cli(`images:\n  oci:${layout}: ${dst.host}/from-layout/app\n`);
    expect(back.code, back.stderr).toBe(0);
    expect(await tagsAt('from-layout/app')).toEqual(['multi', 'single']);
    expect(await skopeoDigest(`${dst.host}/from-layout/app:multi`, optsFor(dst))).toBe(multi.digest);
    expect(await skopeoDigest(`${dst.host}/from-layout/app:single`, optsFor(dst))).toBe(single.digest);

    const again = await cli(`images:\n  ${src.host}/lib/layout: oci:${layout}\n`);
    expect(again.report.totals).toMatchObject({ synced: 0, skipped: 2 });
  });

  it('carries a digest-pinned image through a layout, and reads only what a layout holds', async () => {
    const pinned = buildImage({ seed: 'layout-pinned', layers: 2 });
    await pushImage(src, 'lib/pinned', 'v1', pinned);
    const base = await dirs.make();
    const layout = join(base, 'by-digest');

    // No tag to name it by: the layout lists it untagged, as skopeo does, so it can be found again.
    const out = await cli(`images:\n  ${src.host}/lib/pinned@${pinned.digest}: oci:${layout}\n`);
    expect(out.code, out.stderr).toBe(0);
    expect(await skopeoDigest(`oci:${layout}`)).toBe(pinned.digest);

    const back = await cli(`images:\n  oci:${layout}@${pinned.digest}: ${dst.host}/from-digest/app:pinned\n`);
    expect(back.code, back.stderr).toBe(0);
    expect(await skopeoDigest(`${dst.host}/from-digest/app:pinned`, optsFor(dst))).toBe(pinned.digest);

    // A ref name that is a whole reference (skopeo writes them) is no tag: it is not listed.
    await execFileP('skopeo', ['copy', `oci:${layout}`, `oci:${join(base, 'named')}:docker.io/acme/app:v2`]);
    const named = await cli(`images:\n  oci:${join(base, 'named')}: ${dst.host}/from-named/app\n`);
    expect(named.report.results).toEqual([]);
    expect(named.stderr).toMatch(/no tag of oci:\S+named matches \(0 listed\)/);

    const missing = await cli(`images:\n  oci:${join(base, 'nowhere')}: ${dst.host}/from-nowhere/app\n`);
    expect(missing.code).toBe(1);
    expect(missing.report.results).toMatchObject([{ status: 'failed' }]);
    expect(missing.stderr).toMatch(/nowhere was not found: no OCI layout \(index\.json\) there/);
  });

  it('stops starting pulls when the quota reaches the floor and reports the rest as deferred', async () => {
    const hub = await startRateLimitDouble(src.host, 100, 4);
    try {
      const tags = ['1.24.0', '1.25.0', '1.25.1', '1.26.0'];
      const run = await cli(
        `images:\n  ${hub.host}/lib/web:${tags.join(',')}: ${dst.host}/quota/web\n`,
        '--proc',
        '1',
        '--quota-floor',
        '2',
      );
      expect(run.code, run.stderr).toBe(0);
      // 4 left: two pulls bring it to the floor of 2; the other two are not started.
      expect(hub.pulls()).toBe(2);
      expect(run.report.totals).toMatchObject({ synced: 2, deferred: 2, failed: 0 });
      expect(run.report.results.filter((r) => r.status === 'deferred')).toHaveLength(2);
      expect(run.stderr).toContain('2 synced, 0 skipped, 0 failed, 2 deferred');
    } finally {
      await hub.stop();
    }
  });
});
