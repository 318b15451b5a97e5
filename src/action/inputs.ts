import * as core from '@actions/core';
import { ConfigError } from '../config/errors.ts';
import {
  given,
  parseBoolean,
  parseNonNegativeInt,
  parsePlatforms,
  parsePositiveInt,
  parseShard,
} from '../config/inputs.ts';
import type { Platform } from '../registry/manifest.ts';
import type { Shard } from '../sync/plan.ts';

/** The action's inputs, keyed by their action.yml names, validated. */
export interface ActionInputs {
  readonly config?: string;
  readonly authFile?: string;
  readonly imagesFile?: string;
  readonly images?: string;
  readonly concurrency: number;
  readonly retries: number;
  readonly registry?: string;
  readonly namespace?: string;
  readonly platforms?: Platform[];
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly failOnError: boolean;
  readonly shard?: Shard;
  readonly referrers: boolean;
  readonly quotaFloor: number;
  readonly summary: boolean;
  readonly githubToken?: string;
}

const optional = (name: string): string | undefined => core.getInput(name) || undefined;
const flag = (name: string, fallback: boolean): boolean => {
  const value = core.getInput(name);
  return value === '' ? fallback : parseBoolean(`input "${name}"`, value);
};

/**
 * Whether to write the job summary, for a run stopped before readInputs finished: read as readInputs
 * reads it, with a value it would refuse counting as the default (the refusal is then the summary).
 */
export function summaryWanted(): boolean {
  try {
    return flag('summary', true);
  } catch (err) {
    if (err instanceof ConfigError) return true;
    throw err;
  }
}

/** The token is masked the moment it is read, before anything else can log. */
export function readInputs(): ActionInputs {
  const githubToken = optional('github-token');
  if (githubToken !== undefined) core.setSecret(githubToken);
  const platforms = optional('platforms');
  const shard = optional('shard');
  return {
    ...given('config', optional('config')),
    ...given('authFile', optional('auth-file')),
    ...given('imagesFile', optional('images-file')),
    ...given('images', optional('images')),
    concurrency: parsePositiveInt('input "concurrency"', core.getInput('concurrency') || '5'),
    retries: parseNonNegativeInt('input "retries"', core.getInput('retries') || '2'),
    ...given('registry', optional('registry')),
    ...given('namespace', optional('namespace')),
    ...(platforms !== undefined && { platforms: parsePlatforms('input "platforms"', platforms) }),
    force: flag('force', false),
    dryRun: flag('dry-run', false),
    failOnError: flag('fail-on-error', true),
    ...(shard !== undefined && { shard: parseShard('input "shard"', shard) }),
    referrers: flag('referrers', true),
    quotaFloor: parseNonNegativeInt('input "quota-floor"', core.getInput('quota-floor') || '5'),
    summary: flag('summary', true),
    ...given('githubToken', githubToken),
  };
}
