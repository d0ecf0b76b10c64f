// `npm run image [-- --tag X] [-- --postgres]`: the Gatehouse image (and the PostgreSQL one) as OCI archives, for
// a cluster to load. Reuses the cached archive when nothing that goes into it changed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../envtest/assets.js';
import { buildImage, type BuiltImage } from './image.js';
import { buildPostgresImage } from './postgres.js';

export type { BuiltImage } from './image.js';
export { buildPostgresImage } from './postgres.js';

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/** docker.io/library/gatehouse:<tag>, tag defaulting to package.json's version. */
export async function buildGatehouseImage(options: { tag?: string } = {}): Promise<BuiltImage> {
  const tag = options.tag ?? packageVersion();
  // A pod whose image is tagged latest gets imagePullPolicy Always, and the kubelet would try to pull it.
  if (tag === 'latest') throw new Error('the tag latest makes the kubelet pull the image: give a version');
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new Error(`${tag} is not a valid image tag`);
  return buildImage({
    name: `gatehouse-${tag}`,
    dockerfile: join(repoRoot, 'Dockerfile'),
    context: repoRoot,
    reference: `docker.io/library/gatehouse:${tag}`,
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { tag: { type: 'string' }, postgres: { type: 'boolean', default: false } } });
  const started = Date.now();
  const images = [await buildGatehouseImage(values.tag === undefined ? {} : { tag: values.tag })];
  if (values.postgres) images.push(await buildPostgresImage());
  for (const { archive, reference } of images) console.log(`${reference}\t${archive}`);
  console.error(`image: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`image: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
