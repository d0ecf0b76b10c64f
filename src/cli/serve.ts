import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { createServer } from '../server/app.js';
import { HELP } from './usage.js';

export async function serveCommand(args: string[], print: (text: string) => void): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, migrate: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    print(HELP.serve!);
    return 0;
  }
  const config = loadConfig(process.env, values.config);
  const server = await createServer(config, { migrate: values.migrate ?? false, processMetrics: true });
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
  await server.app.listen({ port: config.PORT, host: config.HOST });

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      server.logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await server.close();
  return 0;
}
