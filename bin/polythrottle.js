#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader so the package works without a build step. The
// entry is called explicitly: the path this file was reached by (npx, a global install, npm link,
// a symlink of any name) does not matter.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
