import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../src/registry/client.ts';

const FAST = { retries: 0, minDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 };
const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
let agent: MockAgent;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  agent.get('https://reg.example').intercept({ path: '/v2/', method: 'HEAD' }).reply(200, '{}').persist();
});
afterEach(() => agent.close());

function client() {
  return new RegistryClient({ dispatcher: agent, retry: FAST, accessFor: () => ({ key: 'anonymous' }) });
}
const repo = (c: RegistryClient, repository: string) =>
  c.repository({ registry: 'reg.example', repository }, 'pull');

describe('listReferrers', () => {
  it('asks a registry without the API once: one 404 stands for every digest and repository', async () => {
    let asked = 0;
    agent
      .get('https://reg.example')
      .intercept({ path: (p) => p.includes('/referrers/'), method: 'GET' })
      .reply(() => {
        asked++;
        return { statusCode: 404, data: '404 page not found\n' };
      })
      .persist();
    const c = client();
    const answers = await Promise.all([
      repo(c, 'a').listReferrers(digest(1)),
      repo(c, 'a').listReferrers(digest(2)),
      repo(c, 'b').listReferrers(digest(3)),
    ]);
    expect(answers).toEqual([undefined, undefined, undefined]);
    expect(await repo(c, 'c').listReferrers(digest(4))).toBeUndefined();
    expect(asked).toBe(1);
  });

  it('keeps asking a registry that has the API, for each digest', async () => {
    const asked: string[] = [];
    agent
      .get('https://reg.example')
      .intercept({ path: (p) => p.includes('/referrers/'), method: 'GET' })
      .reply((opts) => {
        asked.push(opts.path);
        return {
          statusCode: 200,
          data: { schemaVersion: 2, manifests: [] },
          responseOptions: { headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } },
        };
      })
      .persist();
    const c = client();
    const answers = await Promise.all([1, 2, 3].map((n) => repo(c, 'a').listReferrers(digest(n))));
    expect(answers).toEqual([[], [], []]);
    expect(asked).toEqual([1, 2, 3].map((n) => `/v2/a/referrers/${digest(n)}`));
  });

  it('learns nothing from a failed first ask: the next call asks again', async () => {
    const reg = agent.get('https://reg.example');
    reg.intercept({ path: (p) => p.includes('/referrers/'), method: 'GET' }).reply(500, 'boom');
    reg.intercept({ path: (p) => p.includes('/referrers/'), method: 'GET' }).reply(404, 'nope');
    const c = client();
    await expect(repo(c, 'a').listReferrers(digest(1))).rejects.toThrow();
    expect(await repo(c, 'a').listReferrers(digest(2))).toBeUndefined();
    expect(await repo(c, 'a').listReferrers(digest(3))).toBeUndefined();
  });
});
