import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedFiles } from '../../scripts/generated-files.js';

describe('generated files', () => {
  it('are up to date with their zod sources (run `npm run generate` when this fails)', async () => {
    for (const [path, expected] of Object.entries(await generatedFiles())) {
      const actual = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
      expect(actual, `${path} is stale: run npm run generate`).toBe(expected);
    }
  });
});
