// Writes every generated file from its single source: `npm run generate`. test/unit/generated.test.ts fails when
// a committed file differs from what this would write.
import { mkdirSync, writeFileSync } from 'node:fs';
import { generatedFiles } from './generated-files.js';

for (const [path, text] of Object.entries(await generatedFiles())) {
  const file = new URL(`../${path}`, import.meta.url);
  mkdirSync(new URL('.', file), { recursive: true });
  writeFileSync(file, text);
  console.log(`wrote ${path}`);
}
