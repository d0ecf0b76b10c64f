import { z } from 'zod';
import { CLIENT_ID, CLIENT_ID_RULE, GRANT_TYPES, MIN_SECRET_LENGTH, RESPONSE_TYPES } from '../../contract/client.js';
import { absoluteUri, annotationMap, cel, condition, labelMap, objectName, patterned, secretKey, webUrl } from './common.js';
import { hydraCarriedFields, hydraIgnoredFields } from './hydra-compat.js';

export const GROUP = 'gatehouse.dev';
export const VERSION = 'v1alpha1';
export const KIND = 'OAuth2Client';
export const PLURAL = 'oauth2clients';

// The server's own lists (src/contract/client.ts): a value the CRD accepts is one the server accepts.
const grantType = z.enum(GRANT_TYPES);
const responseType = z.enum(RESPONSE_TYPES);

/** Values the operator can write into the Secret beside the credentials. */
export const EXTRA_VALUES = ['issuerUrl', 'tokenEndpoint', 'authorizationEndpoint', 'introspectionEndpoint', 'jwksUri', 'clientName', 'scope'] as const;

export const secretTemplate = z
  .object({
    clientIdKey: secretKey.default('CLIENT_ID').describe('Key of the client id in the Secret'),
    clientSecretKey: secretKey.default('CLIENT_SECRET').describe('Key of the client secret in the Secret'),
    extraKeys: z
      .record(secretKey, z.enum(EXTRA_VALUES))
      .optional()
      .describe(`Further keys and what to write into them: ${EXTRA_VALUES.join(', ')}`),
    labels: labelMap.optional().describe('Labels of the Secret'),
    annotations: annotationMap.optional().describe('Annotations of the Secret, for example one a reloader watches'),
  })
  .strict()
  .describe('What the Secret holds besides the credentials, and under which keys; changing a key name moves the credentials')
  .meta({
    'x-kubernetes-validations': [
      cel('self.clientIdKey != self.clientSecretKey', 'clientIdKey and clientSecretKey must differ'),
      cel(
        '!has(self.extraKeys) || (!(self.clientIdKey in self.extraKeys) && !(self.clientSecretKey in self.extraKeys))',
        'extraKeys must not name the clientIdKey or clientSecretKey: the credentials would be overwritten',
      ),
    ],
  });

export const serverReference = z
  .object({
    url: webUrl.describe('Base URL of the Gatehouse server for this client; the operator default when omitted'),
    credentialsSecretRef: z
      .object({
        name: objectName.describe('Secret in the same namespace with the management client credentials for this server'),
        clientIdKey: secretKey.default('CLIENT_ID').describe('Key of the management client id in that Secret'),
        clientSecretKey: secretKey.default('CLIENT_SECRET').describe('Key of the management client secret in that Secret'),
      })
      .strict()
      .describe('The management client (with the hydra.clients scope) the operator uses on that server'),
  })
  .strict()
  .describe('Another Gatehouse server for this client than the operator’s own, with management credentials for it');

const rules = [
  cel(
    "!(has(self.tokenEndpointAuthMethod) && self.tokenEndpointAuthMethod == 'none') || !self.grantTypes.exists(g, g == 'client_credentials')",
    'a public client (tokenEndpointAuthMethod: none) cannot use the client_credentials grant',
  ),
  cel(
    "!self.grantTypes.exists(g, g == 'implicit') || (has(self.responseTypes) && self.responseTypes.exists(r, r.contains('token')))",
    'the implicit grant needs a response type that contains token or id_token',
  ),
  cel(
    "!self.grantTypes.exists(g, g == 'authorization_code' || g == 'implicit') || (has(self.redirectUris) && size(self.redirectUris) > 0)",
    'the authorization_code and implicit grants need at least one redirect URI',
  ),
  cel(
    "!(has(self.existingSecret) && self.existingSecret) || !(has(self.tokenEndpointAuthMethod) && self.tokenEndpointAuthMethod == 'none')",
    'a public client has no secret, so existingSecret cannot be set',
  ),
];

/**
 * Over the whole object, since the rule needs the status: the client id of a resource that has a client cannot be
 * added, changed or removed. Replacing it would delete the client the applications hold credentials for. Naming the
 * id the resource already has is allowed (pinning a generated id changes nothing).
 */
export const OAUTH2_CLIENT_RULES = [
  cel(
    // Unchanged passes first: status writes and finalizer removal must never be refused, whatever the spec says.
    '(has(self.spec.clientId) == has(oldSelf.spec.clientId) && (!has(self.spec.clientId) || self.spec.clientId == oldSelf.spec.clientId)) || !has(oldSelf.status) || !has(oldSelf.status.clientId) || (has(self.spec.clientId) && self.spec.clientId == oldSelf.status.clientId)',
    'spec.clientId cannot be added, changed or removed once the resource has a client (status.clientId): that would replace the client and lock out every application using it; to move to another client id, create a new resource',
    { reason: 'FieldValueForbidden' },
  ),
];

/** spec of an OAuth2Client: hydra-maester's field names where the concept is the same. */
export const oauth2ClientSpec = z
  .object({
    clientId: patterned(CLIENT_ID, CLIENT_ID_RULE)
      .optional()
      .describe('Fixed client id; generated once and kept in the Secret when omitted. Cannot change once the resource has a client')
      .meta({ 'x-kubernetes-validations': [cel('self == oldSelf', 'clientId is immutable')] }),
    clientName: z.string().max(255).optional().describe('Name of the client shown to users on the consent screen'),
    grantTypes: z.array(grantType).min(1).max(4).describe('OAuth 2.0 grant types the client may use'),
    responseTypes: z.array(responseType).max(7).optional().describe('Response types the client may ask for at the authorization endpoint; code when omitted'),
    redirectUris: z
      .array(absoluteUri)
      .max(100)
      .optional()
      .describe('Where the authorization endpoint may send the user back: matched exactly; https, or http to a loopback host'),
    scope: patterned(/^([\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*)?$/, 'must be scope tokens separated by single spaces')
      .max(4096)
      .optional()
      .describe('Scopes the client may request, separated by spaces'),
    policyUri: webUrl.optional().describe('Page with the client’s privacy policy, linked on the consent screen'),
    tosUri: webUrl.optional().describe('Page with the client’s terms of service, linked on the consent screen'),
    clientUri: webUrl.optional().describe('Home page of the client'),
    logoUri: webUrl.optional().describe('Logo of the client, shown on the consent screen'),
    contacts: z.array(z.string().max(255)).max(50).optional().describe('People responsible for the client, usually email addresses'),
    tokenEndpointAuthMethod: z
      .enum(['client_secret_basic', 'client_secret_post', 'none'])
      .optional()
      .describe('How the client authenticates at the token endpoint; none makes a public client without a secret'),
    secretName: objectName.describe('Secret that receives the client credentials'),
    deletionPolicy: z
      .enum(['delete', 'orphan'])
      .default('delete')
      .describe('delete (default) removes the client from the server with the resource; orphan leaves it, and the Secret'),
    metadata: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Accepted for hydra-maester manifests; the server has no metadata field, so it is not sent')
      .meta({ 'x-kubernetes-preserve-unknown-fields': true }),
    server: serverReference.optional(),
    secretTemplate: secretTemplate.optional(),
    existingSecret: z
      .boolean()
      .optional()
      .describe(
        `Wait for a Secret named secretName with user-provided credentials (a client secret of at least ${MIN_SECRET_LENGTH} characters); never generate one`,
      ),
    adoptSecret: z.boolean().optional().describe('Take over an existing Secret the operator did not create (never one another OAuth2Client controls)'),
    ...hydraCarriedFields,
    ...hydraIgnoredFields,
  })
  .strict()
  .describe('The client as the server should hold it, and the Secret its credentials go to')
  .meta({ 'x-kubernetes-validations': rules });

export const oauth2ClientStatus = z.object({
  observedGeneration: z.number().int().optional(),
  clientId: z.string().optional(),
  secretName: z.string().optional(),
  secretRevision: z.string().optional().describe('uid/resourceVersion of the Secret whose secret the server was last given'),
  userSecret: z
    .boolean()
    .optional()
    .describe(
      'The credentials come from a Secret the user manages (existingSecret, or one created before the resource): if it goes, the operator waits for it rather than making its own',
    ),
  conditions: z.array(condition).optional(),
});

// Input: defaults (deletionPolicy, key names) are applied by the API server, not guaranteed in an object read elsewhere.
export type OAuth2ClientSpec = z.input<typeof oauth2ClientSpec>;
export type OAuth2ClientStatus = z.output<typeof oauth2ClientStatus>;

export interface OAuth2ClientResource {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
  };
  spec: OAuth2ClientSpec;
  status?: OAuth2ClientStatus;
}
