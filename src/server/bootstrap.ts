import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.js';
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
 * Refuses to start when none of the configured system secrets is one the database knows, instead of failing later
 * on every sealed key and token. The database keeps a verifier of each secret configured at the last start. A
 * rotation rolls out in three steps, each compatible with its neighbours: "old,new" (new known, old still signs),
 * "new,old" (new signs), "new" — so replicas one step apart always share the secret that signs.
 */
export async function checkSystemSecret(db: Kysely<Database>, secrets: readonly string[]): Promise<void> {
  const verifiers = secrets.map((secret) => createHmac('sha256', secret).update('gatehouse system secret verifier').digest('base64url'));
  const configured = verifiers.join(',');
  await db
    .insertInto('gatehouse_meta')
    .values({ key: 'system_secret_verifier', value: configured })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db.selectFrom('gatehouse_meta').select('value').where('key', '=', 'system_secret_verifier').executeTakeFirstOrThrow();
  const known = row.value.split(',');
  if (!verifiers.some((verifier) => known.some((stored) => sameString(stored, verifier)))) {
    throw new ConfigError(
      secrets.length > 1
        ? 'invalid configuration: environment variable SYSTEM_SECRET: none of its secrets is one this database was initialised with'
        : 'invalid configuration: environment variable SYSTEM_SECRET: differs from the secret this database was initialised with (when rotating, list the new secret first and the old one after it, separated by a comma)',
    );
  }
  if (row.value !== configured) await db.updateTable('gatehouse_meta').set({ value: configured }).where('key', '=', 'system_secret_verifier').execute();
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
