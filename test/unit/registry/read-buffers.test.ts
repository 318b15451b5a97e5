import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { minorGc, ReadBufferReclaimer } from '../../../src/registry/transport/read-buffers.ts';

const MB = 2 ** 20;

describe('ReadBufferReclaimer', () => {
  it('asks for a scavenge each time another threshold of bytes has gone by', () => {
    let scavenges = 0;
    let asked = 0;
    const reclaimer = new ReadBufferReclaimer(16 * MB, () => {
      asked++;
      return () => scavenges++;
    });
    for (let i = 0; i < 255; i++) reclaimer.received(64 * 1024);
    expect(scavenges).toBe(0);
    reclaimer.received(64 * 1024);
    expect(scavenges).toBe(1);
    reclaimer.received(40 * MB);
    reclaimer.received(1);
    expect(scavenges).toBe(2);
    expect(asked).toBe(1);
  });

  it('does nothing where the runtime offers no scavenge', () => {
    let asked = 0;
    const reclaimer = new ReadBufferReclaimer(MB, () => {
      asked++;
      return undefined;
    });
    reclaimer.received(5 * MB);
    reclaimer.received(5 * MB);
    expect(asked).toBe(1);
  });

  it('reaches V8 scavenges on this runtime without --expose-gc', () => {
    const scavenge = minorGc();
    expect(scavenge).toBeTypeOf('function');
    expect(() => scavenge?.()).not.toThrow();
  });

  it.each([
    ['a plain start', []],
    ['a start with --expose-gc', ['--expose-gc']],
  ])(
    "leaves V8's flags as they were, so a code cache saved after a copy is taken by the next start (%s)",
    (_name, flags: string[]) => {
      // Two processes, as two runs of the CLI: V8 compares a cache's flags with those of the process reading it.
      const dir = mkdtempSync(join(tmpdir(), 'image-sync-flags-'));
      const cache = join(dir, 'cache.bin');
      const source = 'function twice(x) { return 2 * x; } twice(21);';
      const module = new URL('../../../src/registry/transport/read-buffers.ts', import.meta.url).href;
      const node = (code: string) =>
        execFileSync(process.execPath, [...flags, '--input-type=module', '-e', code], {
          encoding: 'utf8',
        }).trim();
      try {
        node(
          `import { Script } from 'node:vm'; import { writeFileSync } from 'node:fs';
         import { minorGc } from ${JSON.stringify(module)};
         const script = new Script(${JSON.stringify(source)}); script.runInThisContext();
         if (typeof minorGc() !== 'function') throw new Error('no scavenge');
         writeFileSync(${JSON.stringify(cache)}, script.createCachedData());`,
        );
        const rejected = node(
          `import { Script } from 'node:vm'; import { readFileSync } from 'node:fs';
         const script = new Script(${JSON.stringify(source)}, { cachedData: readFileSync(${JSON.stringify(cache)}) });
         console.log(script.cachedDataRejected);`,
        );
        expect(rejected).toBe('false');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
