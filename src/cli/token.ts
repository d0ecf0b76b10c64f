import { parseArgs } from 'node:util';
import { connect, connectionOptions } from './connection.js';
import { HELP, UsageError } from './usage.js';

export async function tokenCommand(args: string[], print: (text: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...connectionOptions, scope: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    print(HELP.token!);
    return 0;
  }
  if (positionals[0] !== 'client' || positionals.length > 1) throw new UsageError('use `gatehouse token client`');
  const sdk = connect(values);
  try {
    const token = await sdk.clientCredentialsToken(values.scope);
    print(values.json ? JSON.stringify(token, null, 2) : token.access_token);
    return 0;
  } finally {
    await sdk.close();
  }
}
