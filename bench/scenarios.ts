import { randomBytes } from 'node:crypto';
import { CLIENT_SECRET_PREFIX } from '../src/crypto/minted-secret.js';
import { GatehouseClient, basic } from '../src/sdk/index.js';
import type { LoadSpec } from './load.js';
import type { Gatehouse, RunningServer } from './servers.js';

export interface Scenario {
  key: string;
  title: string;
  spec: LoadSpec;
  /** The process answering, whose CPU time is charged to the scenario. */
  serverPid: number | undefined;
  /** Share of the bare server's requests/s this scenario must reach (issue 2), if it has a target. */
  target?: number;
  /** Requests/s this scenario must reach whatever the bare server does, if it has such a target. */
  minRequestsPerSecond?: number;
  /** It creates clients: the database grows, so it runs after every scenario that reads them. */
  createsClients?: boolean;
}

/** The Gatehouse scenarios, in the order they run; BENCH_ONLY picks from these. */
export const SCENARIO_KEYS = ['token', 'introspect', 'get-client', 'list-clients', 'create-minted', 'create-chosen', 'flows', 'auth-flood'];
/** The confidential client whose tokens the scenarios request; its secret is chosen, so stored under scrypt. */
export const MACHINE_CLIENT_ID = 'bench-machine';

const FILLER_CLIENTS = 200;
/** The fillers, the machine client and the root client. */
export const CLIENT_COUNT = FILLER_CLIENTS + 2;
const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
/** Client creations per second the server must reach when it mints the secret (Ory Hydra v2: 211–240/s here). */
export const CREATE_MINTED_TARGET = 1000;
/**
 * A confidential machine client as a deployment registers it; without an id, so the server generates one and the
 * same body creates a new client every time.
 */
const CREATED_CLIENT = {
  client_name: 'benchmark created client',
  grant_types: ['client_credentials'],
  scope: 'bench.read',
  owner: 'benchmark',
};
/** A secret of the caller's choosing (43 characters), which the server did not mint and so stores under scrypt. */
const CHOSEN_SECRET = 'benchmark-chosen-client-secret-0123456789ab';

export function bareScenario(server: RunningServer, when: 'first' | 'last'): Scenario {
  return { key: 'bare', title: `bare node:http GET, constant JSON (${when})`, spec: { url: server.url }, serverPid: server.pid };
}

/**
 * Puts the state the scenarios need into a fresh server through the public API, as a deployment would: one
 * machine client, ~200 others so that listing reads a realistically full page, and the tokens the requests carry.
 */
export async function gatehouseScenarios(server: Gatehouse): Promise<Scenario[]> {
  const sdk = new GatehouseClient({ endpoint: server.url, clientId: server.rootId, clientSecret: server.rootSecret, scope: 'hydra.*' });
  try {
    const machine = { id: MACHINE_CLIENT_ID, secret: randomBytes(24).toString('base64url') };
    await sdk.createClient({
      id: machine.id,
      client_name: 'benchmark machine client',
      client_secret: machine.secret,
      grant_types: ['client_credentials'],
      scope: 'bench.read bench.write',
    });
    await createFillerClients(sdk);

    const machineBasic = basic(machine.id, machine.secret);
    const token = await sdk.clientCredentialsToken('bench.read', { clientId: machine.id, clientSecret: machine.secret });
    const machineSdk = new GatehouseClient({ endpoint: server.url, clientId: machine.id, clientSecret: machine.secret });
    const introspection = await machineSdk.introspect(token.access_token).finally(() => machineSdk.close());
    if (!introspection.active) throw new Error('the benchmark token introspects as inactive; the introspection scenario would measure the wrong path');
    const bearer = `Bearer ${await sdk.accessToken()}`;
    const mintedBody = JSON.stringify(CREATED_CLIENT);
    const chosenBody = JSON.stringify({ ...CREATED_CLIENT, client_secret: CHOSEN_SECRET });
    await checkCreation(
      sdk,
      server.url,
      bearer,
      mintedBody,
      (secret) => secret.startsWith(CLIENT_SECRET_PREFIX),
      `a secret starting with ${CLIENT_SECRET_PREFIX}`,
    );
    await checkCreation(sdk, server.url, bearer, chosenBody, (secret) => secret === CHOSEN_SECRET, 'the supplied secret');

    // Each request adds a client: a 201 is the only success.
    const createScenario = (key: string, title: string, body: string, minRequestsPerSecond?: number): Scenario => ({
      key,
      serverPid: server.pid,
      title,
      ...(minRequestsPerSecond === undefined ? {} : { minRequestsPerSecond }),
      createsClients: true,
      spec: { url: `${server.url}/clients`, method: 'POST', headers: { authorization: bearer, 'content-type': JSON_TYPE }, body, expectedStatus: 201 },
    });

    return [
      {
        key: 'token',
        serverPid: server.pid,
        title: 'POST /oauth2/token (client_credentials, Basic)',
        target: 0.3,
        spec: {
          url: `${server.url}/oauth2/token`,
          method: 'POST',
          headers: { authorization: machineBasic, 'content-type': FORM },
          body: 'grant_type=client_credentials&scope=bench.read',
        },
      },
      {
        key: 'introspect',
        serverPid: server.pid,
        title: 'POST /oauth2/introspect (active token, Basic)',
        target: 0.4,
        spec: {
          url: `${server.url}/oauth2/introspect`,
          method: 'POST',
          headers: { authorization: machineBasic, 'content-type': FORM },
          body: new URLSearchParams({ token: token.access_token }).toString(),
        },
      },
      {
        key: 'get-client',
        title: 'GET /clients/{id} (bearer)',
        serverPid: server.pid,
        spec: { url: `${server.url}/clients/${machine.id}`, headers: { authorization: bearer } },
      },
      {
        key: 'list-clients',
        serverPid: server.pid,
        title: `GET /clients?limit=100 (${CLIENT_COUNT} clients, bearer)`,
        spec: { url: `${server.url}/clients?limit=100`, headers: { authorization: bearer } },
      },
      // Last: each request adds a client, and the scenarios above expect CLIENT_COUNT of them.
      createScenario('create-minted', 'POST /clients (no secret: server-minted, bearer)', mintedBody, CREATE_MINTED_TARGET),
      createScenario('create-chosen', `POST /clients (chosen ${CHOSEN_SECRET.length}-char secret: scrypt, bearer)`, chosenBody),
    ];
  } finally {
    await sdk.close();
  }
}

/**
 * One creation with a scenario's exact request before it is measured, so a body the server refuses or a secret
 * stored the other way fails the run up front instead of measuring the wrong path. The client is deleted again so
 * the read scenarios still see CLIENT_COUNT clients.
 */
async function checkCreation(
  sdk: GatehouseClient,
  url: string,
  bearer: string,
  body: string,
  secretOk: (secret: string) => boolean,
  expected: string,
): Promise<void> {
  const response = await fetch(`${url}/clients`, { method: 'POST', headers: { authorization: bearer, 'content-type': JSON_TYPE }, body });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`POST /clients with ${body} answered ${response.status}, not 201: ${text.slice(0, 300)}`);
  const created = JSON.parse(text) as { id: string; client_secret?: string };
  await sdk.deleteClient(created.id);
  if (!created.client_secret || !secretOk(created.client_secret))
    throw new Error(`POST /clients with ${body} did not return ${expected}; the creation scenario would measure the wrong path`);
}

/**
 * Public clients: they carry no secret, so creating 200 costs no scrypt (minutes on two cores); listing never reads
 * the hash anyway. The fields are filled so each row serializes to a realistic size.
 */
async function createFillerClients(sdk: GatehouseClient): Promise<void> {
  const ids = Array.from({ length: FILLER_CLIENTS }, (_, i) => `bench-app-${String(i).padStart(3, '0')}`);
  const parallel = 8;
  for (let i = 0; i < ids.length; i += parallel) {
    await Promise.all(
      ids.slice(i, i + parallel).map((id) =>
        sdk.createClient({
          id,
          client_name: `Benchmark application ${id}`,
          public: true,
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          redirect_uris: [`https://${id}.example.com/callback`, `https://${id}.example.com/silent-renew`],
          scope: 'openid offline profile email',
          owner: 'benchmark',
          client_uri: `https://${id}.example.com`,
          contacts: [`ops@${id}.example.com`],
        }),
      ),
    );
  }
}
