import { ipInCidr } from './cidr.js';
import { matchesAny } from './matcher.js';
import type { Policy, PolicyCondition } from '../../config/policy.js';

export interface AccessRequest {
  subject: string;
  resource: string;
  action: string;
  context: Record<string, string | undefined>;
}

export type Decision = { allowed: true; policy: string } | { allowed: false; reason: string };

/** Deny wins over allow; with no matching policy the answer is deny. */
export function decide(policies: readonly Policy[], request: AccessRequest): Decision {
  let allowedBy: string | undefined;
  for (const policy of policies) {
    if (!applies(policy, request)) continue;
    if (policy.effect === 'deny') return { allowed: false, reason: `denied by policy ${policy.id}` };
    allowedBy ??= policy.id;
  }
  return allowedBy ? { allowed: true, policy: allowedBy } : { allowed: false, reason: 'no policy allows this request' };
}

function applies(policy: Policy, request: AccessRequest): boolean {
  return (
    matchesAny(policy.actions, request.action) &&
    matchesAny(policy.subjects, request.subject) &&
    matchesAny(policy.resources, request.resource) &&
    Object.entries(policy.conditions).every(([key, condition]) => fulfils(condition, request.context[key], request.subject))
  );
}

function fulfils(condition: PolicyCondition, value: string | undefined, subject: string): boolean {
  if (value === undefined) return false;
  switch (condition.type) {
    case 'EqualsSubjectCondition':
      return value === subject;
    case 'StringEqualCondition':
      return value === condition.options.equals;
    case 'CIDRCondition':
      return ipInCidr(value, condition.options.cidr);
  }
}
