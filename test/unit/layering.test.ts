import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/**
 * Imports run one way: cli → server / operator → sdk, config, crypto, db, observability → contract. A folder may
 * import only the folders listed for it (and itself); the contract imports nothing of ours at all.
 */
const MAY_IMPORT: Record<string, string[]> = {
  contract: [],
  crypto: [],
  config: ['contract'],
  db: [],
  observability: [],
  sdk: ['contract'],
  server: ['contract', 'config', 'crypto', 'db', 'observability', 'sdk'],
  operator: ['contract', 'config', 'crypto', 'observability', 'sdk'],
  cli: ['contract', 'config', 'crypto', 'db', 'observability', 'sdk', 'server', 'operator'],
  // The Helm chart's values schema: it names the server's settings, and nothing imports it but the generators.
  deploy: ['contract', 'config'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const layerOf = (file: string) => relative(SRC, file).split('/')[0]!;

describe('layering of src/', () => {
  it('has a rule for every top-level folder', () => {
    const layers = new Set(sourceFiles(SRC).map(layerOf));
    expect([...layers].filter((layer) => !(layer in MAY_IMPORT))).toEqual([]);
  });

  it('imports only downwards', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const layer = layerOf(file);
      const text = readFileSync(file, 'utf8');
      // Static imports, re-exports and dynamic imports of relative paths.
      for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = resolve(dirname(file), match[1]!);
        if (!target.startsWith(SRC)) continue;
        const targetLayer = layerOf(target);
        if (targetLayer !== layer && !MAY_IMPORT[layer]?.includes(targetLayer)) violations.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps the operator in layers: decisions, Kubernetes and server adapters, the manager, and the wiring above them', () => {
    // operator/<folder> → the operator folders it may import (besides itself, and anything outside the operator).
    const OPERATOR: Record<string, string[]> = {
      api: [],
      runtime: [],
      controller: ['api'],
      keypolicy: ['api', 'controller'],
      k8s: ['api', 'controller', 'keypolicy', 'runtime'],
      manager: ['runtime'],
      wiring: ['api', 'controller', 'keypolicy', 'k8s', 'manager', 'runtime'],
    };
    const OPERATOR_DIR = join(SRC, 'operator');
    const folderOf = (file: string) => {
      const parts = relative(OPERATOR_DIR, file).split('/');
      return parts.length > 1 ? parts[0]! : undefined;
    };
    const violations: string[] = [];
    for (const file of sourceFiles(OPERATOR_DIR)) {
      const folder = folderOf(file);
      if (!folder) continue;
      expect(OPERATOR, `a rule for operator/${folder}`).toHaveProperty(folder);
      for (const match of readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = resolve(dirname(file), match[1]!);
        if (!target.startsWith(OPERATOR_DIR)) continue;
        const targetFolder = folderOf(target);
        if (targetFolder && targetFolder !== folder && !OPERATOR[folder]!.includes(targetFolder))
          violations.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
