import { parseArgs } from 'node:util';
import { createLogger } from '../observability/logger.js';
import { OPERATOR_ENV, operatorConfigSchema, type OperatorConfig } from '../operator/config.js';
import { startOperator } from '../operator/operator.js';
import { HELP, UsageError } from './usage.js';

const FLAGS = {
  'server-url': 'serverUrl',
  'client-id': 'clientId',
  'client-secret': 'clientSecret',
  namespaces: 'namespaces',
  selector: 'selector',
  workers: 'workers',
  resync: 'resync',
  'drift-check': 'driftCheck',
  'health-port': 'healthPort',
  'health-host': 'healthHost',
  'health-probe-bind-address': 'healthProbeBindAddress',
  'metrics-bind-address': 'metricsBindAddress',
  'leader-elect': 'leaderElect',
  'lease-namespace': 'leaseNamespace',
  'lease-name': 'leaseName',
  identity: 'identity',
  kubeconfig: 'kubeconfig',
  'log-level': 'logLevel',
} as const satisfies Record<string, keyof OperatorConfig>;

/** controller-runtime's --leader-elect is a boolean flag: bare, it means true. */
function withBareBooleans(args: string[]): string[] {
  return args.map((arg, index) =>
    arg === '--leader-elect' && (args[index + 1] === undefined || args[index + 1]!.startsWith('--')) ? '--leader-elect=true' : arg,
  );
}

export function operatorConfigFrom(args: string[], env: NodeJS.ProcessEnv): OperatorConfig {
  args = withBareBooleans(args);
  const options = Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' as const }]));
  const { values } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } } });
  const raw: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(FLAGS)) {
    const value = (values as Record<string, string | undefined>)[flag] ?? env[OPERATOR_ENV[key]];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const result = operatorConfigSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = String(issue.path[0]) as keyof OperatorConfig;
      const flag = Object.entries(FLAGS).find(([, k]) => k === key)?.[0];
      return `--${flag} (${OPERATOR_ENV[key]}): ${issue.message}`;
    });
    throw new UsageError(`invalid operator settings: ${problems.join('; ')}`);
  }
  return result.data;
}

export async function operatorCommand(args: string[], print: (text: string) => void): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    print(HELP.operator!);
    return 0;
  }
  const config = operatorConfigFrom(args, process.env);
  const logger = createLogger({ level: config.logLevel, format: 'json', buffered: false });
  const operator = await startOperator(config, logger);
  const reason = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
    void operator.lostLeadership.then(() => resolve('lost leadership'));
  });
  if (reason === 'lost leadership') {
    // No drain: a reconcile begun as leader (a KeyPolicy rotating its clients) must not run on beside the new leader's.
    // Stopping here is what a crash does, which every reconcile survives (the rotation is resumable from its Secret).
    logger.error({ reason }, 'operator exiting at once');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    process.exit(1);
  }
  logger.info({ reason }, 'operator shutting down');
  await operator.stop();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return 0;
}
