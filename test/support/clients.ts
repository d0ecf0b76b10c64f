import type { OAuth2Client } from '../../src/contract/client.js';
import { LIFESPAN_FIELDS, type LifespanField } from '../../src/contract/client-settings.js';

/**
 * A client as the API answers it, every field at the server's default for an empty registration except those given:
 * unit tests name only the fields they are about.
 */
export function aClient(fields: Partial<OAuth2Client> & Pick<OAuth2Client, 'id'>): OAuth2Client {
  return {
    client_name: '',
    redirect_uris: [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    scope: '',
    owner: '',
    policy_uri: '',
    tos_uri: '',
    client_uri: '',
    logo_uri: '',
    contacts: [],
    public: false,
    post_logout_redirect_uris: [],
    audience: [],
    allowed_cors_origins: [],
    skip_consent: false,
    ...(Object.fromEntries(LIFESPAN_FIELDS.map((field) => [field, null])) as Record<LifespanField, null>),
    ...fields,
  };
}
