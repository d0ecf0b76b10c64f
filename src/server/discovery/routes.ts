import type { FastifyInstance } from 'fastify';
import type { KeyService } from '../jwk/service.js';
import { declared } from '../openapi/declare.js';

const KEYS_CACHE_MS = 5_000;

export function discoveryRoutes(deps: { issuer: string; keys: KeyService; grantTypes: readonly string[]; responseTypes: readonly string[] }) {
  const issuer = deps.issuer.replace(/\/+$/, '');
  const configuration = {
    issuer,
    authorization_endpoint: `${issuer}/oauth2/auth`,
    token_endpoint: `${issuer}/oauth2/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    userinfo_endpoint: `${issuer}/userinfo`,
    introspection_endpoint: `${issuer}/oauth2/introspect`,
    revocation_endpoint: `${issuer}/oauth2/revoke`,
    subject_types_supported: ['public'],
    response_types_supported: [...deps.responseTypes],
    response_modes_supported: ['query', 'fragment'],
    // What the token and authorization endpoints serve, not what the client schema knows: a grant is advertised once it works.
    grant_types_supported: [...deps.grantTypes],
    scopes_supported: ['offline', 'offline_access', 'openid'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'c_hash'],
    // none: a public client sends only its client_id (with PKCE for a code); it cannot use client_credentials.
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    id_token_signing_alg_values_supported: ['RS256'],
    code_challenge_methods_supported: ['S256'],
  };

  let cached: { at: number; body: unknown } | undefined;

  return async function plugin(app: FastifyInstance): Promise<void> {
    const discover = {
      operationId: 'discoverOpenIDConfiguration',
      summary: 'OpenID Connect discovery',
      responses: { 200: { description: 'the configuration' } },
    };
    app.get('/.well-known/openid-configuration', declared({ operation: discover }), async () => configuration);

    // Public by nature: relying parties fetch it without credentials to verify ID tokens.
    const jwks = { operationId: 'wellKnownJsonWebKeys', summary: 'Public ID-token signing keys', responses: { 200: { description: 'a JSON Web Key Set' } } };
    app.get('/.well-known/jwks.json', declared({ operation: jwks }), async (_request, reply) => {
      if (!cached || Date.now() - cached.at > KEYS_CACHE_MS) cached = { at: Date.now(), body: await deps.keys.publicKeys() };
      return reply.header('Cache-Control', `public, max-age=${KEYS_CACHE_MS / 1000}`).send(cached.body);
    });
  };
}
