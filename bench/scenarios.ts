import { randomBytes } from 'node:crypto';
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
}

/** The Gatehouse scenarios, in the order they run; BENCH_ONLY picks from these. */
export const SCENARIO_KEYS = ['token', 'introspect', 'get-client', 'list-clients'];

const FILLER_CLIENTS = 200;
/** The fillers, the machine client and the root client. */
export const CLIENT_COUNT = FILLER_CLIENTS + 2;
const FORM = 'application/x-www-form-urlencoded';

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
    const machine = { id: 'bench-machine', secret: randomBytes(24).toString('base64url') };
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
    ];
  } finally {
    await sdk.close();
  }
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
