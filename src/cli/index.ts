#!/usr/bin/env node
import { explain } from '../report/explain.ts';
import { run } from './run.ts';

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (err) {
  // The last line of defence: one plain line, never a stack trace.
  process.stderr.write(`image-sync: ${explain(err).reason}\n`);
  process.exitCode = 1;
}
