import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../crypto/equal.js';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.js';
import { splitSystemSecrets } from '../crypto/keys.js';
import { randomToken } from '../crypto/random.js';
import { ConfigError } from '../config/load.js';
import { clientInputSchema } from '../contract/client.js';
import type { ClientService } from './client/service.js';
import type { PolicyStore } from './policy/store.js';
import type { Policy } from '../config/policy.js';
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
  writeDurably(file, `${secret}\n`);
  return { secret, generatedAt: file };
}

/**
 * Everything sealed in the database from now on depends on this file: after a power cut the database (synced by
 * makeDurable) must never come back without it. Written under another name, synced, renamed, and the directory
 * synced, so the file is either complete or absent, and once the call returns it survives.
 */
function writeDurably(file: string, content: string): void {
  const partial = `${file}.partial-${process.pid}`;
  const fd = openSync(partial, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // linkSync, unlike renameSync, refuses an existing file: two servers starting at once must not both win.
  try {
    linkSync(partial, file);
  } finally {
    unlinkSync(partial);
  }
  const directory = openSync(dirname(file), 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
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
    if (known.some((stored) => constantTimeEqual(stored, verifierOf(configured)))) return [configured];
  }
  if (!listed.some((secret) => known.some((stored) => constantTimeEqual(stored, verifierOf(secret))))) {
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

export interface RootClientResult {
  id: string;
  /** Only when generated here: the one time it is ever shown. */
  generatedSecret?: string;
  /** Created again from FORCE_ROOT_CLIENT_CREDENTIALS on a database that had lost it. */
  recreated?: boolean;
}

/**
 * The root client and the two default policies, as Hydra does, on a server without clients. With forced credentials
 * also on any later start where that client is missing: the way back for a server nobody can manage any more.
 */
export async function bootstrapRootClient(options: {
  clients: ClientService;
  policies: PolicyStore;
  forcedCredentials: string | undefined;
  resourcePrefix: string;
}): Promise<RootClientResult | undefined> {
  const { clients, policies, forcedCredentials, resourcePrefix } = options;
  const colon = forcedCredentials?.indexOf(':') ?? -1;
  if (forcedCredentials && colon > 0) {
    return ensureForcedRoot(clients, policies, forcedCredentials.slice(0, colon), forcedCredentials.slice(colon + 1), resourcePrefix);
  }
  if ((await clients.count()) > 0) return undefined;
  const created = await clients.create(rootClientInput());
  for (const policy of defaultPolicies(created.id, resourcePrefix)) await policies.insertIfMissing(policy);
  return { id: created.id, generatedSecret: created.client_secret };
}

async function ensureForcedRoot(
  clients: ClientService,
  policies: PolicyStore,
  id: string,
  secret: string,
  prefix: string,
): Promise<RootClientResult | undefined> {
  if (await clients.findById(id)) return undefined;
  const recreated = (await clients.count()) > 0;
  // Policies before the client: a start that stops in between finds the client missing next time and finishes, where
  // the other order would leave a root client that no policy allows anything.
  for (const policy of await rootPolicies(policies, id, prefix)) await policies.insertIfMissing(policy);
  try {
    await clients.create(rootClientInput(id, secret));
  } catch (error) {
    // Another replica created it a moment earlier.
    if ((error as { statusCode?: number }).statusCode === 409) return undefined;
    throw error;
  }
  return { id, ...(recreated ? { recreated } : {}) };
}

/**
 * The default policies for root client `id`. When the stored admin policy names another root client (the forced id
 * changed), this one gets an admin policy of its own: rewriting the stored one would take the other's rights.
 */
async function rootPolicies(policies: PolicyStore, id: string, prefix: string): Promise<Policy[]> {
  const [admin, publicKeys] = defaultPolicies(id, prefix) as [Policy, Policy];
  const stored = (await policies.list()).find((policy) => policy.id === admin.id);
  if (stored && !stored.subjects.includes(id)) return [{ ...admin, id: `${admin.id}:${id}` }, publicKeys];
  return [admin, publicKeys];
}

function rootClientInput(id?: string, secret?: string) {
  return clientInputSchema.parse({
    ...(id ? { id } : {}),
    ...(secret ? { client_secret: secret } : {}),
    client_name: 'Gatehouse root client',
    grant_types: ['client_credentials', 'authorization_code', 'implicit', 'refresh_token'],
    response_types: ['code', 'token', 'id_token', 'code id_token'],
    scope: 'hydra.* openid offline offline_access',
  });
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
