import { parseArgs } from 'node:util';
import { connect, connectionOptions } from './connection.js';
import { chooseFormat, outputOption, serialize } from './output.js';
import { HELP, UsageError } from './usage.js';
import { tokenView } from './views.js';

export async function tokenCommand(args: string[], print: (text: string) => void, stdoutIsTTY = false): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...connectionOptions, ...outputOption, scope: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    print(HELP.token!);
    return 0;
  }
  if (positionals[0] !== 'client' || positionals.length > 1) throw new UsageError('use `gatehouse token client`');
  // Piped, the bare access token, as before -o existed: `TOKEN=$(gatehouse token client)` is the common use.
  // --json predates -o and stays as its shorthand.
  const format = chooseFormat(values.output ?? (values.json ? 'json' : undefined), stdoutIsTTY, 'access-token');
  if (values.json && format !== 'json') throw new UsageError(`--json contradicts --output ${values.output}`);
  const sdk = connect(values);
  try {
    const token = await sdk.clientCredentialsToken(values.scope);
    print(format === 'access-token' ? token.access_token : format === 'table' ? tokenView(token) : serialize(format, token));
    return 0;
  } finally {
    await sdk.close();
  }
}
