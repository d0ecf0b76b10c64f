// The Gatehouse and PostgreSQL images the chart tests install: built from the repository's Dockerfiles by tools/image
// (cached, so only the first file of a run pays for a build) and imported into the cluster's containerd, where the
// kubelet finds them without a registry (the chart's pullPolicy IfNotPresent and a tag other than latest).
import { buildGatehouseImage, buildPostgresImage } from '../../tools/image/build.js';
import { clusterAccess, importImage } from './cluster.js';

export { clusterAccess as clusterUnderTest };

export interface ClusterImage {
  repository: string;
  tag: string;
  reference: string;
}

function split(reference: string): ClusterImage {
  const colon = reference.lastIndexOf(':');
  return { repository: reference.slice(0, colon), tag: reference.slice(colon + 1), reference };
}

/** The chart values that make it run this image. */
export function imageValues(image: ClusterImage): string[] {
  return ['--set', `image.repository=${image.repository}`, '--set', `image.tag=${image.tag}`];
}

export async function gatehouseImage(): Promise<ClusterImage> {
  const built = await buildGatehouseImage();
  await importImage(built.archive);
  return split(built.reference);
}

/** The PostgreSQL image, and where its data lives (the volume to mount; PGDATA is a folder inside it). */
export async function postgresImage(): Promise<ClusterImage & { dataDir: string }> {
  const built = await buildPostgresImage();
  await importImage(built.archive);
  return { ...split(built.reference), dataDir: '/var/lib/postgresql/data' };
}
