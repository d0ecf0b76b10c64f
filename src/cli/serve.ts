import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { createServer } from '../server/app.js';
import { DEV_CONSENT_PATH } from '../server/dev-consent/routes.js';
import { HELP } from './usage.js';

export async function serveCommand(args: string[], print: (text: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, migrate: { type: 'boolean' }, dev: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    print(HELP.serve!);
    return 0;
  }
  const loaded = loadConfig(process.env, values.config);
  // --dev: the browser flow works out of the box, through the development sign-in page of this very server.
  // It listens on loopback unless HOST says otherwise: anyone reaching the page can sign in as anyone.
  const config = values.dev
    ? { ...loaded, CONSENT_URL: `${loaded.ISSUER.replace(/\/+$/, '')}${DEV_CONSENT_PATH}`, HOST: process.env.HOST ?? '127.0.0.1' }
    : loaded;
  const server = await createServer(config, { migrate: values.migrate ?? false, processMetrics: true, devConsent: values.dev ?? false });
  if (values.dev) {
    server.logger.warn(
      { consentUrl: config.CONSENT_URL },
      'development mode: CONSENT_URL is the built-in sign-in page, where anyone can sign in as anyone; never run --dev in production',
    );
  }
  if (server.generatedSystemSecretFile) {
    print(`Generated a system secret and stored it in ${server.generatedSystemSecretFile} (keep this file: it encrypts the signing keys).`);
  }
  if (server.rootClient?.generatedSecret) {
    // Printed on stdout, outside the JSON logs, and only this once: the secret is never stored in plain text.
    print(
      [
        'Created the root client. Save its credentials now; the secret will not be shown again:',
        `  client id:     ${server.rootClient.id}`,
        `  client secret: ${server.rootClient.generatedSecret}`,
      ].join('\n'),
    );
  }
  try {
    // Fastify logs "Server listening at <address>" once it is bound.
    await server.app.listen({ port: config.PORT, host: config.HOST });
  } catch (error) {
    // Closing also flushes the log, and lets the process end instead of waiting on an open database.
    await server.close().catch(() => {});
    throw error;
  }

  const signals = stopSignals();
  const signal = await signals.first;
  server.logger.info({ signal }, 'shutting down');
  try {
    // Waits for requests in flight, then flushes the log buffer.
    await server.close();
  } finally {
    signals.dispose();
  }
  return 0;
}

/**
 * `first` settles on the first SIGTERM or SIGINT. A second one (an impatient Ctrl-C) ends the process at once with
 * the shell's 128+n code; exiting through process.exit rather than the default signal action runs the 'exit'
 * handlers, so the log lines still buffered are written.
 */
function stopSignals(): { first: Promise<NodeJS.Signals>; dispose(): void } {
  let received: NodeJS.Signals | undefined;
  let resolve!: (signal: NodeJS.Signals) => void;
  const first = new Promise<NodeJS.Signals>((settle) => (resolve = settle));
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(128 + (constants.signals[signal] ?? 0));
    received = signal;
    resolve(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    first,
    dispose() {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}
