import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { OAuth2ClientInput } from '../sdk/types.js';
import { connect, connectionOptions } from './connection.js';
import { chooseFormat, outputOption, serialize } from './output.js';
import { HELP, UsageError } from './usage.js';
import { clientListView, clientView } from './views.js';

const fieldOptions = {
  file: { type: 'string' },
  id: { type: 'string' },
  name: { type: 'string' },
  secret: { type: 'string' },
  scope: { type: 'string' },
  owner: { type: 'string' },
  public: { type: 'boolean' },
  'redirect-uri': { type: 'string', multiple: true },
  'grant-type': { type: 'string', multiple: true },
  'response-type': { type: 'string', multiple: true },
  'policy-uri': { type: 'string' },
  'tos-uri': { type: 'string' },
  'client-uri': { type: 'string' },
  'logo-uri': { type: 'string' },
  contact: { type: 'string', multiple: true },
  limit: { type: 'string' },
  offset: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function clientsCommand(args: string[], print: (text: string) => void, stdoutIsTTY = false): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...connectionOptions, ...fieldOptions, ...outputOption },
    allowPositionals: true,
    strict: true,
  });
  const [action, id, ...extra] = positionals;
  if (values.help || !action) {
    print(HELP.clients!);
    return values.help ? 0 : 2;
  }
  if (extra.length) throw new UsageError(`unexpected argument(s): ${extra.join(' ')}`);
  const format = chooseFormat(values.output, stdoutIsTTY, 'json');
  const show = (value: unknown, table: () => string) => print(format === 'table' ? table() : serialize(format, value));
  const sdk = connect(values);
  try {
    switch (action) {
      case 'create': {
        const client = await sdk.createClient(clientFields(values));
        show(client, () => clientView(client));
        return 0;
      }
      case 'get': {
        const client = await sdk.getClient(required(id, 'get'));
        show(client, () => clientView(client));
        return 0;
      }
      case 'list': {
        const page = await sdk.listClients({ limit: integer(values.limit, 'limit', 100), offset: integer(values.offset, 'offset', 0) });
        show(page.clients, () => clientListView(page.clients, page.total));
        return 0;
      }
      case 'update': {
        const client = await sdk.updateClient(required(id, 'update'), clientFields(values));
        show(client, () => clientView(client));
        return 0;
      }
      case 'delete':
        await sdk.deleteClient(required(id, 'delete'));
        print(`deleted client ${id}`);
        return 0;
      case 'mint-secret': {
        if (id) throw new UsageError(`unexpected argument(s): ${id}`);
        const clientSecret = await sdk.mintClientSecret();
        // The bare secret unless -o asks for a document, so `SECRET=$(gatehouse clients mint-secret)` just works.
        print(values.output === undefined || format === 'table' ? clientSecret : serialize(format, { client_secret: clientSecret }));
        return 0;
      }
      default:
        throw new UsageError(`unknown clients command "${action}"; use create, get, list, update, delete or mint-secret`);
    }
  } finally {
    await sdk.close();
  }
}

type FieldValues = {
  [K in keyof typeof fieldOptions]?: (typeof fieldOptions)[K] extends { multiple: true }
    ? string[]
    : (typeof fieldOptions)[K] extends { type: 'boolean' }
      ? boolean
      : string;
};

function clientFields(values: FieldValues): OAuth2ClientInput {
  const body: OAuth2ClientInput = values.file ? readJson(values.file) : {};
  const list = (items: string[] | undefined) =>
    items
      ?.flatMap((item) => item.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
  const set = <K extends keyof OAuth2ClientInput>(key: K, value: OAuth2ClientInput[K] | undefined) => {
    if (value !== undefined) body[key] = value;
  };
  set('id', values.id);
  set('client_name', values.name);
  set('client_secret', values.secret);
  set('scope', values.scope);
  set('owner', values.owner);
  set('public', values.public);
  set('redirect_uris', list(values['redirect-uri']));
  set('grant_types', list(values['grant-type']));
  set('response_types', list(values['response-type']));
  set('policy_uri', values['policy-uri']);
  set('tos_uri', values['tos-uri']);
  set('client_uri', values['client-uri']);
  set('logo_uri', values['logo-uri']);
  set('contacts', list(values.contact));
  return body;
}

function readJson(file: string): OAuth2ClientInput {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as OAuth2ClientInput;
  } catch (error) {
    throw new UsageError(`cannot read client JSON from ${file}: ${(error as Error).message}`);
  }
}

function required(id: string | undefined, action: string): string {
  if (!id) throw new UsageError(`clients ${action} needs a client id`);
  return id;
}

function integer(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`--${name} must be a whole number ≥ 0`);
  return value;
}
