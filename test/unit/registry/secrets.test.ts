import { describe, expect, it } from 'vitest';
import { Secrets } from '../../../src/registry/secrets.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('Secrets', () => {
  it('takes out each secret and its base64 form', () => {
    const secrets = new Secrets();
    secrets.add('hunter22');
    expect(secrets.scrub(`pw=hunter22 auth=${b64('hunter22')}`)).toBe('pw=*** auth=***');
  });

  it('takes out a secret that contains another one whole, not around the shorter one', () => {
    const secrets = new Secrets();
    secrets.add('s3cret');
    secrets.add('s3cret-and-more');
    expect(secrets.scrub('sent s3cret-and-more, then s3cret')).toBe('sent ***, then ***');
  });

  it('keeps a bearer scheme and takes out the token', () => {
    const secrets = new Secrets();
    secrets.addHeader('Bearer eyJ.token.sig');
    expect(secrets.scrub('denied for Bearer eyJ.token.sig')).toBe('denied for Bearer ***');
  });

  it('replaces secrets from three characters up, and leaves shorter ones', () => {
    const secrets = new Secrets();
    secrets.add('ab');
    secrets.add(undefined);
    secrets.add('xyz');
    expect(secrets.scrub('about ab, not xyz')).toBe('about ab, not ***');
  });
});
