// PostgreSQL 15 from Debian's package, for clusters that run Gatehouse against PostgreSQL: tools/image/postgres/.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, type BuiltImage } from './image.js';

const context = fileURLToPath(new URL('postgres', import.meta.url));

export const POSTGRES_REFERENCE = 'docker.io/library/gatehouse-postgres:15-local';

export async function buildPostgresImage(): Promise<BuiltImage> {
  return buildImage({ name: 'gatehouse-postgres-15', dockerfile: join(context, 'Dockerfile'), context, reference: POSTGRES_REFERENCE });
}
