#!/usr/bin/env node
import { explain } from '../report/explain.ts';
import { run } from './run.ts';

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // The last line of defence: one plain line, never a stack trace.
    process.stderr.write(`image-sync: ${explain(err).reason}\n`);
    process.exitCode = 1;
  },
);
