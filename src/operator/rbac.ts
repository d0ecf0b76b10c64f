// The Kubernetes permissions the operator needs, written once from the calls its code makes (k8s/, runtime/,
// wiring/watches.ts). The Helm chart's ClusterRole/Roles and deploy/gatehouse.yaml are generated from these rules
// (`npm run generate`), and test/e2e/chart.test.ts runs the operator under exactly them: a call added to the code
// without a rule here fails there with a 403.
import { KEY_POLICY_PLURAL } from './api/keypolicy.js';
import { GROUP, PLURAL } from './api/oauth2client.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** Stands for the Lease's name in leaseRules; the chart and the plain manifests put the real name in. */
export const LEASE_NAME = '<lease-name>';

/** In every namespace the operator watches: a ClusterRole when it watches all of them, a Role in each otherwise. */
export const watchedNamespaceRules: PolicyRule[] = [
  // Informers list and watch; nothing reads a single resource past the cache.
  { apiGroups: [GROUP], resources: [PLURAL, KEY_POLICY_PLURAL], verbs: ['list', 'watch'] },
  // The finalizer is set and removed with a merge patch of the resource itself.
  { apiGroups: [GROUP], resources: [PLURAL], verbs: ['patch'] },
  { apiGroups: [GROUP], resources: [`${PLURAL}/status`, `${KEY_POLICY_PLURAL}/status`], verbs: ['patch'] },
  // A credentials Secret names its OAuth2Client as owner with blockOwnerDeletion; clusters that enforce owner
  // references (the OwnerReferencesPermissionEnforcement admission plugin) demand this to set it.
  { apiGroups: [GROUP], resources: [`${PLURAL}/finalizers`], verbs: ['update'] },
  // Informers on the managed Secrets and on every Secret's metadata; a direct get for a user's Secret (existingSecret,
  // spec.server credentials); the Secrets it manages are created, replaced (PUT) and deleted.
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'] },
  // Events in the namespace of the resource they are about; a repeat patches the count of the one already written.
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
];

/** In the namespace of the Lease (the operator's own). Creating cannot be narrowed to a name; the rest can. */
export const leaseRules: PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'], resourceNames: [LEASE_NAME] },
];

/** leaseRules for a Lease of this name. */
export function leaseRulesFor(leaseName: string): PolicyRule[] {
  return leaseRules.map((rule) =>
    rule.resourceNames ? { ...rule, resourceNames: rule.resourceNames.map((name) => (name === LEASE_NAME ? leaseName : name)) } : rule,
  );
}
