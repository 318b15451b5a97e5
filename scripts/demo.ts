/**
 * `npm run demo`: two registries on loopback (one with a password, one with Docker-style bearer
 * tokens), a small multi-arch image and a single-platform one seeded into the first, and the
 * bundled action (dist/index.js) run against them exactly as the GitHub runner runs it. Prints the
 * action's log, its outputs and its job summary; then runs it again to show the no-op pass.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runAction } from '../test/support/action-runner.ts';
import { buildImage, buildIndex, pushImage } from '../test/support/images.ts';
import { startRegistry } from '../test/support/registry.ts';
import { TempDirs } from '../test/support/tmp.ts';

const dirs = new TempDirs();
const say = (text: string) => process.stdout.write(`${text}\n`);

const [source, destination] = await Promise.all([
  startRegistry({ auth: 'htpasswd', users: { demo: 'demo-source-pw' } }),
  startRegistry({ auth: 'token', users: { ci: 'demo-destination-pw' } }),
]);
let code = 1;
try {
  say(`source registry (htpasswd):      ${source.url}`);
  say(`destination registry (tokens):   ${destination.url}`);
  await pushImage(source, 'library/webapp', '1.0.0', buildIndex({ seed: 'demo-webapp', layerSize: 200_000 }));
  await pushImage(
    source,
    'library/webapp',
    '1.1.0',
    buildIndex({ seed: 'demo-webapp-1.1', layerSize: 200_000 }),
  );
  await pushImage(
    source,
    'tools/cli',
    'latest',
    buildImage({ seed: 'demo-cli', layers: 2, layerSize: 300_000 }),
  );

  const workspace = await dirs.make('image-sync-demo-');
  await writeFile(
    join(workspace, 'image-sync.yaml'),
    [
      'auth:',
      `  ${source.host}:`,
      '    username: demo',
      '    password: ${SOURCE_PASSWORD}',
      `  ${destination.host}:`,
      '    username: ci',
      '    password: ${DESTINATION_PASSWORD}',
      'images:',
      `  ${source.host}/library/webapp: ${destination.host}/mirror/webapp`,
      `  ${source.host}/tools/cli:latest:`,
      `    - ${destination.host}/mirror/cli:stable`,
      `    - ${destination.host}/mirror/cli:latest`,
      '',
    ].join('\n'),
  );
  const env = { SOURCE_PASSWORD: 'demo-source-pw', DESTINATION_PASSWORD: 'demo-destination-pw' };

  for (const pass of ['first run', 'second run (nothing changed)']) {
    say(`\n=== ${pass}: node dist/index.js with INPUT_CONFIG=image-sync.yaml ===\n`);
    const run = await runAction({ config: 'image-sync.yaml', concurrency: '4' }, { workspace, env });
    // The runner hides these; so does the demo.
    const lines = run.stdout.trimEnd().split('\n');
    const masks = lines.filter((l) => l.startsWith('::add-mask::')).length;
    say(`(${masks} secrets masked with ::add-mask:: before anything else was printed)`);
    say(lines.filter((l) => !l.startsWith('::add-mask::')).join('\n'));
    if (run.stderr.trim() !== '') say(run.stderr.trimEnd());
    say('\n--- outputs ---');
    for (const [name, value] of Object.entries(run.outputs)) say(`${name}=${value}`);
    say('\n--- job summary ---');
    say(run.summary.trimEnd());
    code = run.code;
    if (code !== 0) break;
  }
} finally {
  await Promise.all([source.stop(), destination.stop()]);
  await dirs.cleanup();
}
process.exitCode = code;
