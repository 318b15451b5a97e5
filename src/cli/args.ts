import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../config/index.ts';
import {
  given,
  parseNonNegativeInt,
  parseOsArch,
  parsePlatforms,
  parsePositiveInt,
  parseShard,
} from '../config/inputs.ts';
import type { Platform } from '../registry/manifest.ts';
import type { Shard } from '../sync/plan.ts';

/** image-syncer's flags, plus ours; validated into one shape. */
export interface CliOptions {
  readonly config?: string;
  readonly auth?: string;
  readonly images?: string;
  readonly proc: number;
  readonly retries: number;
  readonly platforms?: Platform[];
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly log?: string;
  readonly report?: string;
  readonly outputSuccessImages?: string;
  readonly outputImagesFormat: 'yaml' | 'json';
  readonly registry?: string;
  readonly namespace?: string;
  readonly shard?: Shard;
  readonly referrers: boolean;
  readonly quotaFloor: number;
}

const collect = (value: string, previous: string[] = []): string[] => [
  ...previous,
  ...value.split(',').filter(Boolean),
];

export function buildProgram(version: string): Command {
  return new Command('image-sync')
    .description(
      'Copy container images between OCI / Docker registries, streaming blobs and skipping what is already there.',
    )
    .version(version)
    .option('--config <file>', 'combined config file with auth: and images: (YAML or JSON)')
    .option(
      '--auth <file>',
      'auth file: registry or registry/namespace → username, password, token, insecure, ca',
    )
    .option('--images <file>', 'images file: source → destination rules')
    .option('-p, --proc <n>', 'images copied at once', '5')
    .option('-r, --retries <n>', 'passes over failed tags after the first', '2')
    .option(
      '--os <list>',
      'keep only these operating systems of multi-arch images (repeatable or comma list)',
      collect,
    )
    .option(
      '--arch <list>',
      'keep only these architectures of multi-arch images (repeatable or comma list)',
      collect,
    )
    .option(
      '--platform <list>',
      'keep only these platforms, e.g. linux/amd64,linux/arm64 (kept too: every --os with every --arch)',
      collect,
    )
    .option('--force', 'copy even when the destination already has the same digest', false)
    .option('--dry-run', 'resolve rules and compare digests, write nothing', false)
    .option('--log <file>', 'write the log to this file instead of standard error')
    .option('--report <file>', 'write a JSON report of every destination tag')
    .option('--output-success-images <file>', 'write the rules that succeeded, as an images file')
    .addOption(
      new Option('--output-images-format <format>', 'format of --output-success-images')
        .choices(['yaml', 'json'])
        .default('yaml'),
    )
    .option('--registry <host>', 'default destination registry for empty destinations (or DEFAULT_REGISTRY)')
    .option('--namespace <ns>', 'default destination namespace for empty destinations (or DEFAULT_NAMESPACE)')
    .option('--shard <i/n>', 'keep only the destination repositories of shard i of n')
    .option('--no-referrers', 'do not copy signatures, attestations and referrers with images')
    .option(
      '--quota-floor <n>',
      'stop starting pulls from a registry once its remaining quota is this low',
      '5',
    )
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
}

/** `undefined` with the exit code when the words end the run (help, version, usage error). */
export function parseArgs(
  argv: readonly string[],
  version: string,
  print: (text: string) => void,
): CliOptions | number {
  const program = buildProgram(version);
  program.configureOutput({ writeOut: print, writeErr: () => {} });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      throw new ConfigError([{ file: 'command line', message: err.message.replace(/^error: /, '') }]);
    }
    throw err;
  }
  const o = program.opts<Record<string, unknown>>();
  const str = (key: string) => (typeof o[key] === 'string' ? (o[key] as string) : undefined);
  const list = (key: string) => (Array.isArray(o[key]) ? (o[key] as string[]) : []);
  const platforms = [
    ...(list('platform').length > 0 ? parsePlatforms('flag --platform', list('platform').join(',')) : []),
    ...parseOsArch(list('os'), list('arch')),
  ];
  const shard = str('shard');
  return {
    ...given('config', str('config')),
    ...given('auth', str('auth')),
    ...given('images', str('images')),
    proc: parsePositiveInt('flag --proc', str('proc') ?? '5'),
    retries: parseNonNegativeInt('flag --retries', str('retries') ?? '2'),
    ...(platforms.length > 0 && { platforms }),
    force: o.force === true,
    dryRun: o.dryRun === true,
    ...given('log', str('log')),
    ...given('report', str('report')),
    ...given('outputSuccessImages', str('outputSuccessImages')),
    outputImagesFormat: str('outputImagesFormat') === 'json' ? 'json' : 'yaml',
    ...given('registry', str('registry')),
    ...given('namespace', str('namespace')),
    ...(shard !== undefined && { shard: parseShard('flag --shard', shard) }),
    referrers: o.referrers !== false,
    quotaFloor: parseNonNegativeInt('flag --quota-floor', str('quotaFloor') ?? '5'),
  };
}
