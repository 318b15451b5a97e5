import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RegistryClient } from '../../../src/registry/client.ts';
import type { Repository } from '../../../src/registry/reference.ts';

const FAST = { retries: 0, minDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 };
let agent: MockAgent;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
});
afterEach(() => agent.close());

const client = () =>
  new RegistryClient({ dispatcher: agent, retry: FAST, accessFor: () => ({ key: 'anonymous' }) });
const at = (registry: string, repository: string): Repository => ({ registry, repository });

/** Counts the pings each registry gets. */
function pings(...registries: string[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const registry of registries) {
    agent
      .get(`https://${registry}`)
      .intercept({ path: '/v2/', method: 'HEAD' })
      .reply(() => {
        seen.set(registry, (seen.get(registry) ?? 0) + 1);
        return { statusCode: 200, data: '{}' };
      })
      .persist();
  }
  return seen;
}

describe('RegistryClient.connect', () => {
  it('pings every registry at once, before any request, and once per registry', async () => {
    const seen = pings('a.example', 'b.example');
    agent
      .get('https://a.example')
      .intercept({ path: (p) => p.startsWith('/v2/x/tags/list'), method: 'GET' })
      .reply(200, { name: 'x', tags: ['1'] }, { headers: { 'content-type': 'application/json' } });
    const c = client();
    c.connect([at('a.example', 'x'), at('a.example', 'y'), at('b.example', 'z')]);
    await vi.waitFor(() => expect(Object.fromEntries(seen)).toEqual({ 'a.example': 1, 'b.example': 1 }));
    expect(await c.repository(at('a.example', 'x'), 'pull').listTags()).toEqual(['1']);
    expect(seen.get('a.example')).toBe(1);
  });

  it('leaves a failed ping to the requests: one made meanwhile reports it, a later one pings again', async () => {
    const reg = agent.get('https://c.example');
    reg.intercept({ path: '/v2/', method: 'HEAD' }).replyWithError(new Error('connection refused'));
    reg.intercept({ path: '/v2/', method: 'HEAD' }).reply(200, '{}');
    reg
      .intercept({ path: (p) => p.startsWith('/v2/x/tags/list'), method: 'GET' })
      .reply(200, { name: 'x', tags: ['2'] }, { headers: { 'content-type': 'application/json' } });
    const c = client();
    c.connect([at('c.example', 'x')]);
    const store = c.repository(at('c.example', 'x'), 'pull');
    await expect(store.listTags()).rejects.toThrow(/HEAD c\.example\/v2\/ failed: connection refused/);
    expect(await store.listTags()).toEqual(['2']);
    agent.assertNoPendingInterceptors();
  });
});
