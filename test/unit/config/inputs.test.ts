import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/index.ts';
import {
  parseBoolean,
  parseNonNegativeInt,
  parseOsArch,
  parsePlatforms,
  parsePositiveInt,
  parseShard,
} from '../../../src/config/inputs.ts';

/** The message of the ConfigError `fn` throws. */
function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('numbers', () => {
  it.each([
    ['5', 5],
    [' 12 ', 12],
    ['007', 7],
  ])('positive %j → %d', (text, want) => {
    expect(parsePositiveInt('input "concurrency"', text)).toBe(want);
  });
  it.each(['0', '-1', '1.5', '1e3', 'abc', '', '+3', '99999999999999999999'])(
    'positive %j is an error',
    (text) => {
      expect(problem(() => parsePositiveInt('input "concurrency"', text))).toBe(
        `input "concurrency": must be a whole number of at least 1, not "${text}"`,
      );
    },
  );
  it('non-negative', () => {
    expect(parseNonNegativeInt('flag --retries', '0')).toBe(0);
    expect(parseNonNegativeInt('flag --retries', '3')).toBe(3);
    expect(problem(() => parseNonNegativeInt('flag --retries', '-1'))).toBe(
      'flag --retries: must be a whole number of at least 0, not "-1"',
    );
  });
});

describe('parseBoolean', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['Yes', true],
    ['1', true],
    [' false ', false],
    ['no', false],
    ['NO', false],
    ['0', false],
  ])('%j → %s', (text, want) => {
    expect(parseBoolean('input "force"', text)).toBe(want);
  });
  it.each(['on', 'y', '2', ''])('%j is an error', (text) => {
    expect(problem(() => parseBoolean('input "force"', text))).toBe(
      `input "force": must be true or false (or yes/no, 1/0), not "${text}"`,
    );
  });
});

describe('parseShard (1-based)', () => {
  it.each([
    ['1/3', { index: 1, count: 3 }],
    ['3/3', { index: 3, count: 3 }],
    [' 2 / 4 ', { index: 2, count: 4 }],
    ['1/1', { index: 1, count: 1 }],
  ])('%j', (text, want) => {
    expect(parseShard('input "shard"', text)).toEqual(want);
  });
  it.each([
    ['0/3', 'input "shard": "0/3": the shard must be from 1 to 3 (shards are counted from 1: 1/3 … 3/3)'],
    ['4/3', 'input "shard": "4/3": the shard must be from 1 to 3 (shards are counted from 1: 1/3 … 3/3)'],
    ['1/0', 'input "shard": must be i/n, e.g. 1/3 (shard i of n, counted from 1), not "1/0"'],
    ['2', 'input "shard": must be i/n, e.g. 1/3 (shard i of n, counted from 1), not "2"'],
    ['a/b', 'input "shard": must be i/n, e.g. 1/3 (shard i of n, counted from 1), not "a/b"'],
  ])('%j is an error', (text, message) => {
    expect(problem(() => parseShard('input "shard"', text))).toBe(message);
  });
});

describe('parsePlatforms', () => {
  it('comma, newline or list; variants; duplicates dropped', () => {
    expect(parsePlatforms('input "platforms"', 'linux/amd64, linux/arm64\nlinux/arm/v7,linux/amd64')).toEqual(
      [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
        { os: 'linux', architecture: 'arm', variant: 'v7' },
      ],
    );
    expect(parsePlatforms('flag --platform', ['windows/amd64', 'linux/*'])).toEqual([
      { os: 'windows', architecture: 'amd64' },
      { os: 'linux', architecture: '*' },
    ]);
  });
  it('every bad platform, one line each', () => {
    expect(problem(() => parsePlatforms('input "platforms"', 'linux,Linux/amd64,linux/arm/v7/x'))).toBe(
      [
        'input "platforms": "linux" is not a platform (os/architecture[/variant], e.g. linux/amd64)',
        'input "platforms": "Linux/amd64": "Linux" is not a valid platform part (lower-case letters, digits, ".", "_", "-")',
        'input "platforms": "linux/arm/v7/x" is not a platform (os/architecture[/variant], e.g. linux/amd64)',
      ].join('\n'),
    );
  });
});

describe('parseOsArch (image-syncer --os / --arch)', () => {
  it('every os with every architecture', () => {
    expect(parseOsArch(['linux', 'windows'], ['amd64,arm64'])).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
      { os: 'windows', architecture: 'amd64' },
      { os: 'windows', architecture: 'arm64' },
    ]);
  });
  it('one alone pairs with any (*)', () => {
    expect(parseOsArch(['linux'], [])).toEqual([{ os: 'linux', architecture: '*' }]);
    expect(parseOsArch([], ['arm64', 'arm/v7'])).toEqual([
      { os: '*', architecture: 'arm64' },
      { os: '*', architecture: 'arm', variant: 'v7' },
    ]);
  });
  it('none is no filter', () => {
    expect(parseOsArch([], [])).toEqual([]);
  });
  it('names the flag of a bad value', () => {
    expect(problem(() => parseOsArch(['Linux'], []))).toBe(
      'flag --os: "Linux" is not valid (lower-case letters, digits, ".", "_", "-")',
    );
    expect(problem(() => parseOsArch([], ['arm/v7/x']))).toBe(
      'flag --arch: "arm/v7/x" is not valid (lower-case letters, digits, ".", "_", "-")',
    );
  });
});
