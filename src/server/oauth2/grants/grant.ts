import type { AuthenticatedClient } from '../../client/service.js';
import type { Form } from '../form.js';
import type { TokenResponse } from '../../../contract/oauth2.js';

/** What a grant gets once the token endpoint has authenticated the client and checked it may use the grant. */
export interface GrantRequest {
  client: AuthenticatedClient;
  form: Form;
}

/**
 * One grant type of the token endpoint (RFC 6749 §4, §6). The endpoint dispatches on `grant_type` to the grant
 * registered under it, and discovery advertises exactly the registered types, so a grant that is not implemented
 * can be neither requested nor advertised.
 */
export interface Grant {
  readonly type: string;
  /** Whether a public client (no secret; RFC 6749 §2.1) may use it, identified by client_id alone. */
  readonly publicClients: boolean;
  issue(request: GrantRequest): Promise<TokenResponse>;
}

/** The grants the token endpoint serves, by `grant_type`. */
export class GrantRegistry {
  private readonly byType = new Map<string, Grant>();

  constructor(grants: Grant[]) {
    for (const grant of grants) {
      if (this.byType.has(grant.type)) throw new Error(`two grants registered for grant_type ${grant.type}`);
      this.byType.set(grant.type, grant);
    }
  }

  get(type: string): Grant | undefined {
    return this.byType.get(type);
  }

  /** For discovery's grant_types_supported. */
  get types(): string[] {
    return [...this.byType.keys()];
  }
}
