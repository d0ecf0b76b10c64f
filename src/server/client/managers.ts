import { scopeCovers, splitScope } from '../oauth2/scope.js';
import { decide } from '../policy/engine.js';
import type { Policy } from '../../config/policy.js';
import type { PolicyService } from '../policy/service.js';
import type { StoredClient } from './store.js';

export const CLIENTS_SCOPE = 'hydra.clients';

export type CanManageClients = (client: StoredClient) => boolean;

/**
 * Whether a client can manage clients: whether its own credentials get it a token with which it may create clients
 * and delete them. That is, all of:
 * - it is confidential (it has a secret) and may use the client_credentials grant, the only way to a token;
 * - its scope covers `hydra.clients` (the wildcard strategy of scope.ts, so `hydra.*` does);
 * - the policies allow its id `create` on `<prefix>:clients` and `delete` on `<prefix>:clients:<its id>`, decided
 *   without a request context: a policy with conditions (owner, remoteIP) never counts, since whether it holds
 *   depends on the request, and a deny with conditions does not take the ability away.
 * The server refuses to delete the last client that can, or to take the ability from it (ClientService).
 */
export function canManageClients(client: StoredClient, policies: readonly Policy[], resourcePrefix: string): boolean {
  if (client.public || !client.secretHash || !client.grant_types.includes('client_credentials')) return false;
  if (!scopeCovers(splitScope(client.scope), CLIENTS_SCOPE)) return false;
  const allows = (action: string, resource: string) => decide(policies, { subject: client.id, action, resource, context: {} }).allowed;
  return allows('create', `${resourcePrefix}:clients`) && allows('delete', `${resourcePrefix}:clients:${client.id}`);
}

export class ClientManagers {
  constructor(
    private readonly policies: PolicyService,
    private readonly resourcePrefix: string,
  ) {}

  /** canManageClients under the policies in force now; synchronous, so that it can run inside a transaction. */
  async predicate(): Promise<CanManageClients> {
    const policies = await this.policies.current();
    return (client) => canManageClients(client, policies, this.resourcePrefix);
  }
}
