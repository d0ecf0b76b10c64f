import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.js';
import { splitSystemSecrets } from '../crypto/keys.js';
import { randomToken } from '../crypto/random.js';
import { ConfigError } from '../config/load.js';
import { clientInputSchema } from './client/schema.js';
import type { ClientService } from './client/service.js';
import type { PolicyStore } from './policy/store.js';
import type { Policy } from './policy/schema.js';
import { ID_TOKEN_SET } from './jwk/service.js';

export const SYSTEM_SECRET_FILE = 'system-secret';

/**
 * SYSTEM_SECRET when given. On the embedded SQLite default a secret is generated on first start and kept in a file
 * beside the database (mode 0600), so `npm start` works on a fresh machine and restarts keep every key readable.
 * PostgreSQL means several replicas, which must share one secret: there it is required.
 */
export function resolveSystemSecret(
  configured: string | undefined,
  sqlitePath: string | undefined,
  isMemory: boolean,
): { secret: string; generatedAt?: string } {
  if (configured) return { secret: configured };
  if (isMemory) return { secret: randomToken(32) };
  if (!sqlitePath)
    throw new ConfigError(
      'invalid configuration: environment variable SYSTEM_SECRET: required with PostgreSQL (all replicas must share it), at least 16 characters',
    );
  const file = join(dirname(sqlitePath), SYSTEM_SECRET_FILE);
  if (existsSync(file)) return { secret: readFileSync(file, 'utf8').trim() };
  const secret = randomToken(32);
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return { secret, generatedAt: file };
}

/**
 * The system secrets to use, refusing when none of them is one the database knows, instead of failing later on every
 * sealed key and token. The database keeps a verifier of each secret configured at the last successful start
 * (recordSystemSecrets). A rotation rolls out in three steps, each compatible with its neighbours: "old,new" (new
 * known, old still signs), "new,old" (new signs), "new" — so replicas one step apart always share the secret that
 * signs. A value the database knows as a whole is one secret, even with a comma or surrounding spaces in it: that
 * is how it was used before lists existed.
 */
export async function systemSecretsFor(db: Kysely<Database>, configured: string): Promise<string[]> {
  const known = (await storedVerifiers(db)) ?? [];
  const listed = splitSystemSecrets(configured);
  if (known.length === 0) return listed;
  if (listed.length !== 1 || listed[0] !== configured) {
    if (known.some((stored) => sameString(stored, verifierOf(configured)))) return [configured];
  }
  if (!listed.some((secret) => known.some((stored) => sameString(stored, verifierOf(secret))))) {
    throw new ConfigError(
      listed.length > 1
        ? 'invalid configuration: environment variable SYSTEM_SECRET: none of its secrets is one this database was initialised with'
        : 'invalid configuration: environment variable SYSTEM_SECRET: differs from the secret this database was initialised with (when rotating, list the new secret first and the old one after it, separated by a comma)',
    );
  }
  return listed;
}

/** Remembers the secrets of a start that got everything open (keys re-sealed): the next start is checked against them. */
export async function recordSystemSecrets(db: Kysely<Database>, secrets: readonly string[]): Promise<void> {
  const value = secrets.map(verifierOf).join(',');
  const known = await storedVerifiers(db);
  if (known === undefined) {
    await db
      .insertInto('gatehouse_meta')
      .values({ key: SYSTEM_SECRET_VERIFIER, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  } else if (known.join(',') !== value) {
    await db.updateTable('gatehouse_meta').set({ value }).where('key', '=', SYSTEM_SECRET_VERIFIER).execute();
  }
}

const SYSTEM_SECRET_VERIFIER = 'system_secret_verifier';

async function storedVerifiers(db: Kysely<Database>): Promise<string[] | undefined> {
  const row = await db.selectFrom('gatehouse_meta').select('value').where('key', '=', SYSTEM_SECRET_VERIFIER).executeTakeFirst();
  return row?.value.split(',');
}

function verifierOf(secret: string): string {
  return createHmac('sha256', secret).update('gatehouse system secret verifier').digest('base64url');
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export interface RootClientResult {
  id: string;
  /** Only when generated here: the one time it is ever shown. */
  generatedSecret?: string;
}

/** On a server without clients: the root client and the two default policies, as Hydra does. */
export async function bootstrapRootClient(options: {
  clients: ClientService;
  policies: PolicyStore;
  forcedCredentials: string | undefined;
  resourcePrefix: string;
}): Promise<RootClientResult | undefined> {
  const { clients, policies, forcedCredentials, resourcePrefix } = options;
  if ((await clients.count()) > 0) return undefined;
  const colon = forcedCredentials?.indexOf(':') ?? -1;
  const forcedId = forcedCredentials && colon > 0 ? forcedCredentials.slice(0, colon) : undefined;
  const forcedSecret = forcedCredentials && colon > 0 ? forcedCredentials.slice(colon + 1) : undefined;
  const input = clientInputSchema.parse({
    ...(forcedId ? { id: forcedId } : {}),
    ...(forcedSecret ? { client_secret: forcedSecret } : {}),
    client_name: 'Gatehouse root client',
    grant_types: ['client_credentials', 'authorization_code', 'implicit', 'refresh_token'],
    response_types: ['code', 'token', 'id_token', 'code id_token'],
    scope: 'hydra.* openid offline offline_access',
  });
  let created;
  try {
    created = await clients.create(input);
  } catch (error) {
    // Another replica bootstrapped the same forced root client a moment earlier.
    if ((error as { statusCode?: number }).statusCode === 409) return undefined;
    throw error;
  }
  for (const policy of defaultPolicies(created.id, resourcePrefix)) await policies.insertIfMissing(policy);
  return { id: created.id, ...(forcedSecret ? {} : { generatedSecret: created.client_secret }) };
}

export function defaultPolicies(rootClientId: string, prefix: string): Policy[] {
  return [
    {
      id: 'default-admin-policy',
      description: 'Allows the root client everything.',
      subjects: [rootClientId],
      effect: 'allow',
      resources: [`${prefix}:<.*>`],
      actions: ['<.*>'],
      conditions: {},
    },
    {
      id: 'default-public-keys-policy',
      description: 'Allows anyone to read the public ID-token keys.',
      subjects: ['<.*>'],
      effect: 'allow',
      resources: [`${prefix}:keys:${ID_TOKEN_SET}:public`],
      actions: ['get'],
      conditions: {},
    },
  ];
}
