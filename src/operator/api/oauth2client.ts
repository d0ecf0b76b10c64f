import { z } from 'zod';
import { CLIENT_ID, CLIENT_ID_RULE, GRANT_TYPES, RESPONSE_TYPES } from '../../contract/client.js';
import { annotationMap, cel, condition, labelMap, objectName, secretKey } from './common.js';

export const GROUP = 'gatehouse.dev';
export const VERSION = 'v1alpha1';
export const KIND = 'OAuth2Client';
export const PLURAL = 'oauth2clients';

// The server's own lists (src/contract/client.ts): a value the CRD accepts is one the server accepts.
const grantType = z.enum(GRANT_TYPES);
const responseType = z.enum(RESPONSE_TYPES);
const absoluteUri = z
  .string()
  .max(2048)
  .regex(/^[A-Za-z][A-Za-z0-9+.-]*:[^\s#]+$/, 'must be an absolute URI without spaces or a fragment');
const webUrl = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL');

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
    labels: labelMap.optional(),
    annotations: annotationMap.optional(),
  })
  .strict()
  .meta({ 'x-kubernetes-validations': [cel('self.clientIdKey != self.clientSecretKey', 'clientIdKey and clientSecretKey must differ')] });

export const serverReference = z
  .object({
    url: webUrl.describe('Base URL of the Gatehouse server for this client; the operator default when omitted'),
    credentialsSecretRef: z
      .object({
        name: objectName.describe('Secret in the same namespace with the management client credentials for this server'),
        clientIdKey: secretKey.default('CLIENT_ID'),
        clientSecretKey: secretKey.default('CLIENT_SECRET'),
      })
      .strict(),
  })
  .strict();

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

/** spec of an OAuth2Client: hydra-maester's field names where the concept is the same. */
export const oauth2ClientSpec = z
  .object({
    clientId: z
      .string()
      // The server's own pattern: written without lookahead, since the apiserver checks it with RE2.
      .regex(CLIENT_ID, CLIENT_ID_RULE)
      .optional()
      .describe('Fixed client id; generated once and kept in the Secret when omitted')
      .meta({ 'x-kubernetes-validations': [cel('self == oldSelf', 'clientId is immutable')] }),
    clientName: z.string().max(255).optional(),
    grantTypes: z.array(grantType).min(1).max(4).describe('OAuth 2.0 grant types the client may use'),
    responseTypes: z.array(responseType).max(7).optional(),
    redirectUris: z.array(absoluteUri).max(100).optional(),
    scope: z
      .string()
      .max(4096)
      .regex(/^([\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*)?$/, 'must be scope tokens separated by single spaces')
      .optional(),
    policyUri: webUrl.optional(),
    tosUri: webUrl.optional(),
    clientUri: webUrl.optional(),
    logoUri: webUrl.optional(),
    contacts: z.array(z.string().max(255)).max(50).optional(),
    tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional().describe('none makes a public client without a secret'),
    secretName: objectName.describe('Secret that receives the client credentials'),
    deletionPolicy: z.enum(['delete', 'orphan']).optional().describe('delete (default) removes the client from the server with the resource; orphan leaves it'),
    metadata: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Accepted for hydra-maester manifests; the server has no metadata field, so it is not sent')
      .meta({ 'x-kubernetes-preserve-unknown-fields': true }),
    server: serverReference.optional(),
    secretTemplate: secretTemplate.optional(),
    existingSecret: z.boolean().optional().describe('Wait for a Secret named secretName with user-provided credentials; never generate one'),
    adoptSecret: z.boolean().optional().describe('Take over an existing Secret the operator did not create'),
  })
  .strict()
  .meta({ 'x-kubernetes-validations': rules });

export const oauth2ClientStatus = z.object({
  observedGeneration: z.number().int().optional(),
  clientId: z.string().optional(),
  secretName: z.string().optional(),
  secretRevision: z.string().optional().describe('uid/resourceVersion of the Secret whose secret the server was last given'),
  conditions: z.array(condition).optional(),
});

export type OAuth2ClientSpec = z.output<typeof oauth2ClientSpec>;
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
