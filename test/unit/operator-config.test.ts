import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { operatorConfigFrom } from '../../src/cli/operator.js';
import { startHealthServer } from '../../src/operator/health.js';

const REQUIRED = ['--server-url', 'http://gatehouse:4444', '--client-id', 'operator', '--client-secret', 's'];

describe('operator settings: controller-runtime flag names', () => {
  it('reads --health-probe-bind-address and --metrics-bind-address as host and port, ":port" meaning every address (no host: both families)', () => {
    const config = operatorConfigFrom([...REQUIRED, '--health-probe-bind-address', ':8081', '--metrics-bind-address=127.0.0.1:8080'], {});
    expect(config.healthProbeBindAddress).toEqual({ host: undefined, port: 8081 });
    expect(config.metricsBindAddress).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(operatorConfigFrom([...REQUIRED, '--metrics-bind-address', '[::1]:9090'], {}).metricsBindAddress).toEqual({ host: '::1', port: 9090 });
  });

  it('"0" turns metrics off; unset, neither is set and the probe port settings apply', () => {
    expect(operatorConfigFrom([...REQUIRED, '--metrics-bind-address', '0'], {}).metricsBindAddress).toBe('off');
    const plain = operatorConfigFrom(REQUIRED, { HEALTH_PORT: '9000' });
    expect(plain).toMatchObject({ healthPort: 9000, healthHost: '0.0.0.0' });
    expect(plain.healthProbeBindAddress).toBeUndefined();
    expect(plain.metricsBindAddress).toBeUndefined();
  });

  it('takes the bind addresses from the environment too; flags win', () => {
    const env = { METRICS_BIND_ADDRESS: ':7000', HEALTH_PROBE_BIND_ADDRESS: ':7001' };
    expect(operatorConfigFrom(REQUIRED, env)).toMatchObject({ metricsBindAddress: { port: 7000 }, healthProbeBindAddress: { port: 7001 } });
    expect(operatorConfigFrom([...REQUIRED, '--metrics-bind-address', ':7100'], env).metricsBindAddress).toEqual({ host: undefined, port: 7100 });
  });

  it('a bare --leader-elect means true, as controller-runtime reads it; =false turns it off', () => {
    expect(operatorConfigFrom([...REQUIRED, '--leader-elect'], { LEADER_ELECT: 'false' }).leaderElect).toBe(true);
    expect(operatorConfigFrom(['--leader-elect', ...REQUIRED], { LEADER_ELECT: 'false' }).leaderElect).toBe(true);
    expect(operatorConfigFrom([...REQUIRED, '--leader-elect=false'], {}).leaderElect).toBe(false);
    expect(operatorConfigFrom([...REQUIRED, '--leader-elect', 'false'], {}).leaderElect).toBe(false);
  });

  it('a malformed bind address names the flag, its variable and the form expected', () => {
    expect(() => operatorConfigFrom([...REQUIRED, '--metrics-bind-address', '8080'], {})).toThrow(
      '--metrics-bind-address (METRICS_BIND_ADDRESS): must be host:port or :port (e.g. :8080)',
    );
    expect(() => operatorConfigFrom([...REQUIRED, '--health-probe-bind-address', ':99999'], {})).toThrow(
      '--health-probe-bind-address (HEALTH_PROBE_BIND_ADDRESS): the port must be at most 65535',
    );
  });
});

describe('operator health listener', () => {
  async function get(port: number, path: string): Promise<number> {
    return (await fetch(`http://127.0.0.1:${port}${path}`)).status;
  }

  it('probes without a registry do not serve /metrics; a metrics-only listener serves nothing but /metrics', async () => {
    const registry = new Registry();
    const probes = await startHealthServer({ port: 0, host: '127.0.0.1', ready: () => false });
    const metrics = await startHealthServer({ port: 0, host: '127.0.0.1', registry });
    try {
      const probePort = (probes.address() as AddressInfo).port;
      const metricsPort = (metrics.address() as AddressInfo).port;
      expect([await get(probePort, '/healthz'), await get(probePort, '/readyz'), await get(probePort, '/metrics')]).toEqual([200, 503, 404]);
      expect([await get(metricsPort, '/metrics'), await get(metricsPort, '/healthz'), await get(metricsPort, '/readyz')]).toEqual([200, 404, 404]);
    } finally {
      probes.close();
      metrics.close();
    }
  });
});
