import { readFileSync } from 'node:fs';

/**
 * `gatehouse 0.1.0 (node v24.21.0)`. package.json is read at run time, not imported, so the compiled CLI does not
 * embed a copy that could go stale; the path is the same from dist/cli/ and from src/cli/ under tsx.
 */
export function versionLine(packageJson = new URL('../../package.json', import.meta.url)): string {
  const { name, version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { name: string; version: string };
  return `${name} ${version} (node ${process.version})`;
}

export async function versionCommand(_args: string[], print: (text: string) => void): Promise<number> {
  print(versionLine());
  return 0;
}
