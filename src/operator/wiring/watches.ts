import { GROUP, PLURAL, VERSION } from '../api/oauth2client.js';
import { KEY_POLICY_PLURAL } from '../api/keypolicy.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../controller/secret.js';
import type { Watch } from '../manager/informers.js';

// What the controllers watch, shared through the manager: two controllers asking for one of these get one informer.

export const OAUTH2_CLIENTS: Watch = {
  name: PLURAL,
  path: (namespace) => (namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`),
};

export const KEY_POLICIES: Watch = {
  name: KEY_POLICY_PLURAL,
  path: (namespace) =>
    namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${KEY_POLICY_PLURAL}` : `/apis/${GROUP}/${VERSION}/${KEY_POLICY_PLURAL}`,
};

/** The Secrets the operator manages (its label), whichever controller wrote them. */
export const MANAGED_SECRETS: Watch = {
  name: 'secrets',
  path: (namespace) => (namespace ? `/api/v1/namespaces/${namespace}/secrets` : '/api/v1/secrets'),
  labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
};

/**
 * Every Secret, as metadata only: the user's Secrets a resource reads credentials from (existingSecret, or one
 * created before the resource, as hydra-maester users do) are not labelled, and a change to one must reach the
 * resource at once rather than at the next resync.
 */
export const ALL_SECRETS_METADATA: Watch = {
  name: 'secrets-metadata',
  path: MANAGED_SECRETS.path,
  metadataOnly: true,
};
