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
