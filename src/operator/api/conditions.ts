import { rfc3339, type Condition } from './common.js';

export type ReadyReason =
  | 'Reconciled'
  | 'InvalidSpec'
  | 'ServerUnavailable'
  | 'ServerRejected'
  | 'SecretConflict'
  | 'SecretRefused'
  | 'WaitingForSecret'
  | 'ClientConflict'
  | 'KubernetesError'
  | 'Deleting';

/**
 * Sets one condition, keeping lastTransitionTime when the status did not change, so a reconcile that finds
 * nothing new produces an identical status and therefore no write.
 */
export function withCondition(
  conditions: readonly Condition[] | undefined,
  next: { type: string; status: Condition['status']; reason: string; message: string; observedGeneration?: number },
  now: () => Date = () => new Date(),
): Condition[] {
  const existing = conditions?.find((c) => c.type === next.type);
  const lastTransitionTime = existing && existing.status === next.status ? existing.lastTransitionTime : rfc3339(now());
  const updated: Condition = {
    type: next.type,
    status: next.status,
    observedGeneration: next.observedGeneration,
    lastTransitionTime,
    reason: next.reason,
    message: next.message,
  };
  if (updated.observedGeneration === undefined) delete updated.observedGeneration;
  return [...(conditions ?? []).filter((c) => c.type !== next.type), updated];
}

/** The conditions without one type: a condition that no longer applies goes, rather than lingering as False. */
export function withoutCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}
