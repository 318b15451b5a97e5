import { describe, expect, it } from 'vitest';
import { applyTagFilter, matchesSelector, versionOf } from '../../../src/sync/tag-filter.ts';

/** Whole-tag regexes, as the config compiles `include` / `exclude`. */
const whole = (...sources: string[]) => sources.map((s) => new RegExp(`^(?:${s})$`));

const NGINX = [
  'latest',
  '1.24.0',
  '1.25.0',
  '1.25.3',
  '1.25.3-alpine',
  '1.25',
  'v1.26.1',
  '1.27.0-rc.1',
  '1.27.2',
  '2.0.0',
  'mainline',
];

describe('applyTagFilter', () => {
  it.each([
    ['include only', { include: whole('1\\.25\\..*') }, ['1.25.0', '1.25.3', '1.25.3-alpine']],
    ['include: any one matches', { include: whole('latest', 'main.*') }, ['latest', 'mainline']],
    [
      'exclude only',
      { exclude: whole('.*-alpine', '.*-rc\\..*', '1\\..*') },
      ['latest', 'v1.26.1', '2.0.0', 'mainline'],
    ],
    [
      'include minus exclude',
      { include: whole('1\\.2[0-9]\\..*'), exclude: whole('.*-alpine.*') },
      ['1.24.0', '1.25.0', '1.25.3', '1.27.0-rc.1', '1.27.2'],
    ],
    // Non-versions (latest, 1.25, mainline) drop out; v1.26.1 is a version; the pre-release is out of range.
    ['semver range', { semver: '>=1.25 <2' }, ['1.25.0', '1.25.3', 'v1.26.1', '1.27.2']],
    [
      'semver with a pre-release on the same tuple',
      { semver: '>=1.27.0-rc.0 <1.28' },
      ['1.27.0-rc.1', '1.27.2'],
    ],
    ['latest: highest first', { latest: 3 }, ['2.0.0', '1.27.2', '1.27.0-rc.1']],
    ['latest larger than what is left', { latest: 50, semver: '^1.25.1' }, ['1.27.2', 'v1.26.1', '1.25.3']],
    [
      'all four together',
      { include: whole('v?1\\..*'), exclude: whole('.*-alpine.*'), semver: '>=1.25 <2', latest: 2 },
      ['1.27.2', 'v1.26.1'],
    ],
    ['an empty filter keeps everything, in order', {}, NGINX],
    ['empty include and exclude lists filter nothing', { include: [], exclude: [] }, NGINX],
  ])('%s', (_name, filter, want) => {
    expect(applyTagFilter(NGINX, filter)).toEqual(want);
  });

  it('keeps input order without latest', () => {
    expect(applyTagFilter(['2.0.0', '1.0.0', '1.5.0'], { semver: '*' })).toEqual(['2.0.0', '1.0.0', '1.5.0']);
  });

  it('equal versions (v1.2.3 and 1.2.3) keep their input order and each count', () => {
    expect(applyTagFilter(['v1.2.3', '1.0.0', '1.2.3'], { latest: 2 })).toEqual(['v1.2.3', '1.2.3']);
  });

  it('is not fooled by g or y flags', () => {
    const re = /^a/g;
    expect(applyTagFilter(['a1', 'a2', 'a3'], { include: [re] })).toEqual(['a1', 'a2', 'a3']);
  });

  it('does not change its input', () => {
    const tags = ['1.0.0', '2.0.0'];
    applyTagFilter(tags, { latest: 1 });
    expect(tags).toEqual(['1.0.0', '2.0.0']);
  });
});

describe('versionOf', () => {
  it.each([
    ['1.2.3', '1.2.3'],
    ['v1.2.3', '1.2.3'],
    ['1.2.3-rc.1', '1.2.3-rc.1'],
    ['1.2', undefined],
    ['=1.2.3', undefined],
    ['V1.2.3', undefined],
    ['1.2.3_build', undefined],
    ['latest', undefined],
    ['01.2.3', undefined],
  ])('%s → %s', (tag, want) => {
    expect(versionOf(tag)).toBe(want);
  });
});

describe('matchesSelector', () => {
  it('by kind; a regex selector is unanchored', () => {
    expect(matchesSelector('x', { kind: 'all' })).toBe(true);
    expect(matchesSelector('b', { kind: 'list', tags: ['a', 'b'] })).toBe(true);
    expect(matchesSelector('c', { kind: 'list', tags: ['a', 'b'] })).toBe(false);
    expect(matchesSelector('xaay', { kind: 'regex', pattern: /a+/ })).toBe(true);
    expect(matchesSelector('bbb', { kind: 'regex', pattern: /a+/ })).toBe(false);
    expect(matchesSelector('1.0', { kind: 'digest', digest: `sha256:${'a'.repeat(64)}` })).toBe(false);
  });
});
