import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('runtime', () => {
  it('runs the tests on the Node the action runs on (action.yml: node24), not the machine’s own', () => {
    const action = readFileSync(new URL('../../action.yml', import.meta.url), 'utf8');
    const wanted = Number(/using:\s*node(\d+)/.exec(action)?.[1]);
    expect(wanted).toBe(24);
    expect(Number(process.versions.node.split('.')[0])).toBe(wanted);
  });
});
