import { ConfigError } from '../config/load.js';
import { GatehouseApiError, GatehouseUnavailableError } from '../sdk/errors.js';
import { HELP, UsageError } from './usage.js';

// stdoutIsTTY picks the default output format (see output.ts); commands that print no data ignore it.
type Command = (args: string[], print: (text: string) => void, stdoutIsTTY: boolean) => Promise<number>;

// Loaded on demand: `gatehouse clients` should not pay for importing the server, nor `serve` for the SDK.
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.js')).serveCommand,
  migrate: async () => (await import('./database.js')).migrateCommand,
  clients: async () => (await import('./clients.js')).clientsCommand,
  token: async () => (await import('./token.js')).tokenCommand,
  keys: async () => (await import('./database.js')).keysCommand,
  operator: async () => (await import('./operator.js')).operatorCommand,
  '--version': async () => (await import('./version.js')).versionCommand,
  '-V': async () => (await import('./version.js')).versionCommand,
};

/** Runs one command; every failure becomes one line on stderr and a non-zero exit code. */
export async function main(
  argv: string[],
  print: (text: string) => void = (text) => console.log(text),
  stdoutIsTTY = process.stdout.isTTY === true,
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    print(HELP.main!);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  try {
    if (!load) throw new UsageError(`unknown command "${name}"; run \`gatehouse --help\``);
    return await (
      await load()
    )(rest, print, stdoutIsTTY);
  } catch (error) {
    console.error(`gatehouse ${name}: ${describe(error)}`);
    return error instanceof UsageError || isArgumentError(error) ? 2 : 1;
  }
}

function describe(error: unknown): string {
  if (error instanceof GatehouseApiError) return `${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}`;
  if (error instanceof ConfigError || error instanceof UsageError || error instanceof GatehouseUnavailableError) return error.message;
  if (isArgumentError(error)) return (error as Error).message;
  return error instanceof Error ? error.message : String(error);
}

function isArgumentError(error: unknown): boolean {
  return typeof (error as { code?: unknown })?.code === 'string' && (error as { code: string }).code.startsWith('ERR_PARSE_ARGS');
}
