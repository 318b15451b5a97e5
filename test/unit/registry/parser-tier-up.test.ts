import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const MODULE = new URL('../../../src/registry/transport/parser-tier-up.ts', import.meta.url).href;

/**
 * V8's flags as a code cache sees them (`v8.cachedDataVersionTag()`), at each step of `steps`, in a
 * process of its own: the flags and the module's state are the process's.
 */
function tags(steps: string, flags: readonly string[] = []): Record<string, number> {
  const code = `import { channel } from 'node:diagnostics_channel';
    import { cachedDataVersionTag } from 'node:v8';
    import { deferParserTierUp } from ${JSON.stringify(MODULE)};
    const tags = { start: cachedDataVersionTag() };
    const at = (name) => { tags[name] = cachedDataVersionTag(); };
    const publish = (name) => channel(name).publish({});
    ${steps}
    console.log(JSON.stringify(tags));`;
  const out = execFileSync(process.execPath, [...flags, '--input-type=module', '-e', code], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as Record<string, number>;
}

describe('deferParserTierUp', () => {
  it.each(['undici:client:connected', 'undici:client:connectError'])(
    "changes V8's flags until the first connection attempt ends (%s), then leaves them as they began",
    (settled) => {
      const t = tags(`deferParserTierUp(); at('armed'); publish(${JSON.stringify(settled)}); at('settled');`);
      expect(t.armed).not.toBe(t.start);
      expect(t.settled).toBe(t.start);
    },
  );

  it('acts once per process: later connection pools and connections change nothing', () => {
    const t = tags(`deferParserTierUp(); publish('undici:client:connected');
      deferParserTierUp(); at('again'); publish('undici:client:connected'); at('settled');`);
    expect(t.again).toBe(t.start);
    expect(t.settled).toBe(t.start);
  });

  it('leaves a budget given on the command line alone', () => {
    const t = tags(`deferParserTierUp(); at('armed'); publish('undici:client:connected'); at('settled');`, [
      '--wasm-tiering-budget=5000000',
    ]);
    expect(t.armed).toBe(t.start);
    expect(t.settled).toBe(t.start);
  });

  it('leaves the flags of a V8 whose default budget it does not know alone', () => {
    const t = tags(`deferParserTierUp({ versions: { v8: '99.1.2' }, execArgv: [] }); at('armed');`);
    expect(t.armed).toBe(t.start);
  });
});
