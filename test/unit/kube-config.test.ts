import { KubeConfig, RequestContext } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { shareDispatcher } from '../../src/operator/k8s/kube-config.js';

// Guards the one workaround that reaches into client-node: if an upgrade renames createDispatcher or stops
// routing API calls through it, these fail instead of the operator silently paying a TLS handshake per call.

const pem = (label: string) => Buffer.from(`-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`).toString('base64');

function clientCertificateConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'test', server: 'https://127.0.0.1:6443', caData: pem('CERTIFICATE') }],
    users: [{ name: 'admin', certData: pem('CERTIFICATE'), keyData: pem('PRIVATE KEY') }],
    contexts: [{ name: 'test', cluster: 'test', user: 'admin' }],
    currentContext: 'test',
  });
  return kubeConfig;
}

async function dispatcherOfOneCall(kubeConfig: KubeConfig) {
  const context = new RequestContext('https://127.0.0.1:6443/api', 'GET');
  await kubeConfig.applySecurityAuthentication(context);
  return context.getDispatcher();
}

describe('shareDispatcher', () => {
  it('gives every API call of one cluster and user the same keep-alive dispatcher', async () => {
    const kubeConfig = shareDispatcher(clientCertificateConfig());
    const first = await dispatcherOfOneCall(kubeConfig);
    expect(first).toBeDefined();
    expect(await dispatcherOfOneCall(kubeConfig)).toBe(first);
  });

  it('is still needed: client-node builds a new dispatcher per call on its own', async () => {
    // When this fails, client-node shares dispatchers itself and src/operator/k8s/kube-config.ts can go.
    const kubeConfig = clientCertificateConfig();
    const first = await dispatcherOfOneCall(kubeConfig);
    expect(first).toBeDefined();
    expect(await dispatcherOfOneCall(kubeConfig)).not.toBe(first);
  });

  it('names the file to update when client-node drops the method it replaces', () => {
    const kubeConfig = clientCertificateConfig();
    (kubeConfig as unknown as { createDispatcher?: unknown }).createDispatcher = undefined;
    expect(() => shareDispatcher(kubeConfig)).toThrow(/kube-config\.ts/);
  });
});
