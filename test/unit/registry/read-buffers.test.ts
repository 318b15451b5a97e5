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
});
