import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { setFlagsFromString } from 'node:v8';

/**
 * Holds back V8's optimising compile of undici's HTTP parser.
 *
 * undici parses HTTP with llhttp compiled to WebAssembly: one instance per process, made at the first
 * connection. V8 runs it as compiled in one quick pass, and once a function has used up its budget
 * (roughly, bytes of code executed) compiles it again with its optimising compiler on a background
 * thread. For llhttp's parser that compile took 80–90 ms of CPU, and a no-op sync of the benchmark's
 * mirror (134 HEADs and GETs) used the budget up: a fifth of that run's CPU, spent on a runner whose
 * two cores the run already keeps busy, for a parser that reads response heads (bodies stream through).
 * Measured on the benchmark's mirror (warm re-run, 12 alternating pairs): CPU 0.49 s → 0.40 s, wall
 * 0.53 s → 0.47 s.
 *
 * V8 gives an instance its budget when the instance is made. A budget DEFERRAL times the default is
 * set just for that moment — from the first connection pool made to the first connection's outcome —
 * and the default put back at once: a long run still gets the optimised parser, later. The flags must
 * end as they began: V8 stamps a code cache with them and refuses it under others, so the launcher's
 * cache (bin/code-cache.mjs) would be refused, and rewritten, run after run.
 */
export function deferParserTierUp(runtime: Runtime = process): void {
  if (asked) return;
  asked = true;
  const budget = DEFAULT_BUDGET[runtime.versions.v8.split('.')[0] ?? ''];
  // A budget on the command line is the user's, and the value to put back would be unknown.
  if (budget === undefined || runtime.execArgv.some((arg) => /^--wasm[-_]tiering[-_]budget\b/.test(arg)))
    return;
  setFlagsFromString(`--wasm-tiering-budget=${budget * DEFERRAL}`);
  const restore = () => {
    for (const name of SETTLED) unsubscribe(name, restore);
    setFlagsFromString(`--wasm-tiering-budget=${budget}`);
  };
  for (const name of SETTLED) subscribe(name, restore);
}

export interface Runtime {
  readonly versions: { readonly v8: string };
  readonly execArgv: readonly string[];
}

/**
 * V8's `--wasm-tiering-budget`, by V8 major version: only where the default is known can it be put
 * back. (V8 11, Node 20: 1,800,000; V8 13, Node 24: 13,000,000.)
 */
const DEFAULT_BUDGET: Readonly<Record<string, number>> = { '13': 13_000_000 };

/** A hundred times as much parsing before the parser is optimised: by then the compile is a rounding error. */
const DEFERRAL = 100;

/** undici publishes one of these when a connection attempt ends, just after making the parser. */
const SETTLED = ['undici:client:connected', 'undici:client:connectError'] as const;

let asked = false;
