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

/** Outcomes only a change by a person resolves: the operator keeps the resource as it is until then. */
export const NEEDS_A_PERSON: ReadonlySet<ReadyReason> = new Set(['InvalidSpec', 'SecretConflict', 'SecretRefused', 'ClientConflict']);

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

export const RECONCILING_CONDITION = 'Reconciling';
export const STALLED_CONDITION = 'Stalled';

/**
 * Reconciling and Stalled, the two conditions kstatus reads (and with it Flux's health checks, and Argo CD through the
 * health check in docs/operator.md): Ready=False alone reads as Current there, so a resource still being worked on would
 * pass a GitOps health check. Reconciling=True while the operator retries by itself, Stalled=True while only a person
 * can help; neither once Ready.
 */
export function withProgressConditions(
  conditions: readonly Condition[] | undefined,
  progress: { ready: boolean; stalled: boolean; reason: string; message: string; observedGeneration?: number },
  now: () => Date = () => new Date(),
): Condition[] {
  const { ready, stalled, ...detail } = progress;
  if (ready) return withoutCondition(withoutCondition(conditions, RECONCILING_CONDITION), STALLED_CONDITION);
  const [present, absent] = stalled ? [STALLED_CONDITION, RECONCILING_CONDITION] : [RECONCILING_CONDITION, STALLED_CONDITION];
  return withCondition(withoutCondition(conditions, absent), { type: present, status: 'True', ...detail }, now);
}
