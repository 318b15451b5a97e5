#!/usr/bin/env node
// The command users run (package.json "bin"). It turns on Node's compile cache before loading the
// bundle, so a rerun skips compiling it again (about 30 ms of every start); Node before 22.1 has no
// cache and simply runs the bundle.
import module from 'node:module';

module.enableCompileCache?.();
await import('../dist/cli/index.js');
