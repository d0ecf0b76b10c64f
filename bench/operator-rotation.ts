// The KeyPolicy phase of the operator benchmark: one policy over the burst's clients, all due at once, and an
// application that keeps requesting tokens with one of those clients' Secret (re-read each second, as a mounted file
// changes) while they are rotated.
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../src/operator/api/oauth2client.js';
import { KEY_POLICY_PLURAL } from '../src/operator/api/keypolicy.js';
import { ROTATED_AT } from '../src/operator/api/common.js';
import { GatehouseApiError } from '../src/sdk/errors.js';
import { GatehouseClient } from '../src/sdk/index.js';

export interface RotationRun {
  clients: number;
  /** From the policy's creation until every governed client's Secret had been rotated. */
  allRotatedSeconds: number;
  appRequests: number;
  appFailures: number;
  firstFailure: string;
}

/** The label the burst's resources carry, which the policy selects. */
export const BURST_LABEL = { key: 'bench.gatehouse.dev/phase', value: 'burst' } as const;
const INTERVAL_SECONDS = 60;
const TIMEOUT_MS = 300_000;

const decode = (secret: V1Secret | undefined, key: string) => Buffer.from(secret?.data?.[key] ?? '', 'base64').toString('utf8');

export async function measureRotation(options: {
  kc: KubeConfig;
  namespace: string;
  serverUrl: string;
  clients: number;
  /** The Secret the application reads (one of the governed clients'). */
  appSecret: string;
  /** When the burst's Secrets were created: the policy is applied once all are older than its interval. */
  createdAt: number;
}): Promise<RotationRun> {
  const { kc, namespace } = options;
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const wait = options.createdAt + (INTERVAL_SECONDS + 10) * 1000 - Date.now();
  if (wait > 0) await sleep(wait);

  let running = true;
  let requests = 0;
  let failures = 0;
  let firstFailure = '';
  const application = (async () => {
    let credentials = { clientId: '', clientSecret: '' };
    let readAt = 0;
    while (running) {
      if (Date.now() - readAt >= 1_000) {
        const secret = await core.readNamespacedSecret({ namespace, name: options.appSecret });
        credentials = { clientId: decode(secret, 'CLIENT_ID'), clientSecret: decode(secret, 'CLIENT_SECRET') };
        readAt = Date.now();
      }
      const app = new GatehouseClient({ endpoint: options.serverUrl, ...credentials });
      try {
        await app.clientCredentialsToken('orders.read');
      } catch (error) {
        failures++;
        firstFailure ||= error instanceof GatehouseApiError ? `${error.status} ${error.message}` : String(error);
      } finally {
        requests++;
        await app.close();
      }
      await sleep(100);
    }
  })();

  const started = performance.now();
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: KEY_POLICY_PLURAL,
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'KeyPolicy',
      metadata: { name: 'bench-rotation' },
      spec: { selector: { matchLabels: { [BURST_LABEL.key]: BURST_LABEL.value } }, rotationInterval: `${INTERVAL_SECONDS}s`, gracePeriod: '30s' },
    },
  });
  let rotated = 0;
  let allRotatedSeconds = NaN;
  try {
    while (rotated < options.clients) {
      if (performance.now() - started > TIMEOUT_MS) throw new Error(`only ${rotated} of ${options.clients} clients were rotated after ${TIMEOUT_MS / 1000} s`);
      await sleep(500);
      const secrets = await core.listNamespacedSecret({ namespace });
      rotated = secrets.items.filter((secret) => secret.metadata?.annotations?.[ROTATED_AT] && secret.metadata.name?.startsWith('burst-')).length;
    }
    allRotatedSeconds = (performance.now() - started) / 1000;
    // A few more seconds of the application, past the last rotation.
    await sleep(3_000);
  } finally {
    running = false;
    await application;
    await custom
      .deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: KEY_POLICY_PLURAL, name: 'bench-rotation' })
      .catch(() => undefined);
  }
  return { clients: options.clients, allRotatedSeconds, appRequests: requests, appFailures: failures, firstFailure };
}
