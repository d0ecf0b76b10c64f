import type { OAuth2Client, TokenResponse } from '../sdk/types.js';
import { renderFields, renderTable } from './output.js';

/** What a person reads at a terminal; scripts get the same data through -o json or -o yaml. */

export function clientListView(clients: OAuth2Client[], total = clients.length): string {
  if (clients.length === 0) return total ? `No clients on this page (${total} in all); lower --offset.` : 'No clients found.';
  const table = renderTable(
    ['client id', 'name', 'type', 'grant types', 'scope'],
    clients.map((client) => [client.id, client.client_name, clientType(client), client.grant_types.join(','), client.scope]),
  );
  // A page can hide the rest of the clients; say so rather than let the table look complete.
  return total > clients.length ? `${table}\n\nShowing ${clients.length} of ${total} clients; use --limit and --offset for more.` : table;
}

export function clientView(client: OAuth2Client): string {
  const fields = renderFields([
    ['Client ID', client.id],
    ['Name', client.client_name],
    ...(client.client_secret ? [['Secret', client.client_secret] as [string, string]] : []),
    ['Type', clientType(client)],
    ['Grant types', client.grant_types],
    ['Response types', client.response_types],
    ['Scope', client.scope],
    ['Redirect URIs', client.redirect_uris],
    ['Owner', client.owner],
    ['Contacts', client.contacts],
    ['Client URI', client.client_uri],
    ['Policy URI', client.policy_uri],
    ['Terms of service', client.tos_uri],
    ['Logo URI', client.logo_uri],
  ]);
  // The server answers with a secret only when it has just set one (create, or update giving or needing one), and keeps
  // nothing but its hash: this is the one chance to copy it.
  return client.client_secret ? `${fields}\n\nSave the secret now: it will not be shown again.` : fields;
}

export function tokenView(token: TokenResponse): string {
  return renderFields([
    ['Access token', token.access_token],
    ['Token type', token.token_type],
    ['Expires in', `${token.expires_in}s`],
    ['Scope', token.scope],
    ...(token.refresh_token ? [['Refresh token', token.refresh_token] as [string, string]] : []),
    ...(token.id_token ? [['ID token', token.id_token] as [string, string]] : []),
  ]);
}

export function rotationView(rotation: { kid: string; retired: string[] }): string {
  return renderTable(
    ['key id', 'state'],
    [[rotation.kid, 'signing'], ...rotation.retired.map((kid) => [kid, 'retired, published until the tokens it signed expire'])],
  );
}

const clientType = (client: OAuth2Client) => (client.public ? 'public' : 'confidential');
