#!/usr/bin/env node
// The command users run (package.json "bin"): the bundle, started with a code cache (code-cache.mjs).
import { start } from './code-cache.mjs';

await start(new URL('../dist/cli/index.js', import.meta.url), process.argv.slice(2));
