import { describe, expect, it } from 'vitest';
import { parseRepository } from '../../../src/registry/reference.ts';
import { QuotaGuard } from '../../../src/sync/quota.ts';

const hub = parseRepository('library/nginx');
const endpoint = 'registry-1.docker.io';

describe('QuotaGuard', () => {
  it('lets pulls start until the floor, counting those started before any answer', () => {
    const guard = new QuotaGuard(5);
    expect(guard.mayPull(hub)).toBe(true); // nothing read yet
    guard.record({ registry: endpoint, remaining: 8, limit: 100 });
    expect([guard.mayPull(hub), guard.mayPull(hub), guard.mayPull(hub), guard.mayPull(hub)]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    // An answer sent before those pulls counted them does not give them back.
    guard.record({ registry: endpoint, remaining: 7, limit: 100 });
    expect(guard.mayPull(hub)).toBe(false);
    expect(guard.mayPull(parseRepository('quay.io/a/b'))).toBe(true);
  });
});
