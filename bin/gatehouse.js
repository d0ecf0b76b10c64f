#!/usr/bin/env node
// The installed entry point runs the compiled CLI; a source checkout without a build is told how to fix it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/cli/bin.js', import.meta.url));
if (!existsSync(compiled)) {
  console.error('gatehouse: dist/ is missing; run `npm run build` first');
  process.exit(1);
}
await import(compiled);
