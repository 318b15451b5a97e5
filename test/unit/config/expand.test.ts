// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in config text is what these tests are about
import { describe, expect, it } from 'vitest';
import { expandVars } from '../../../src/config/index.ts';

const env = { USER: 'robot', PW: 'p@ss', EMPTY: '', REG: 'ghcr.io' };

describe('expandVars', () => {
  it.each([
    ['no variables', 'plain', 'plain'],
    ['one', '${PW}', 'p@ss'],
    ['in the middle, twice', '${REG}/a/${USER}', 'ghcr.io/a/robot'],
    ['a bare $ is literal', 'robot$project+ci', 'robot$project+ci'],
    ['$VAR unbraced is literal', '$USER', '$USER'],
    ['a trailing $', 'abc$', 'abc$'],
    ['$$ is literal', 'a$$b', 'a$$b'],
    ['set but empty', 'x${EMPTY}y', 'xy'],
    ['no recursion into values', '${DOLLAR}', '${USER}'],
  ])('%s', (_name, text, want) => {
    const r = expandVars(text, { ...env, DOLLAR: '${USER}' });
    expect(r).toMatchObject({ ok: true, value: want });
  });

  it('names the variables that are set but empty', () => {
    expect(expandVars('${EMPTY}${EMPTY}', env)).toEqual({ ok: true, value: '', empty: ['EMPTY'] });
  });

  it.each([
    ['unset', 'a${MISSING}b', 'environment variable MISSING is not set'],
    ['several unset, each named once', '${A}${B}${A}', 'environment variables A, B are not set'],
  ])('%s is an error', (_name, text, problem) => {
    expect(expandVars(text, env)).toEqual({ ok: false, problem });
  });

  it.each([
    ['unterminated', 'pass${word', '"${" without a closing "}"'],
    ['not a name', '${A-B}', '"${…}" holds something other than a variable name (letters, digits, _)'],
    ['empty name', '${}', '"${…}" holds something other than a variable name (letters, digits, _)'],
  ])('%s is an error in how the text is written', (_name, text, problem) => {
    expect(expandVars(text, env)).toEqual({ ok: false, problem, written: true });
  });

  it('never puts the surrounding text in a problem', () => {
    const r = expandVars('s3cr3t-${NOPE', env);
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain('s3cr3t');
  });
});
