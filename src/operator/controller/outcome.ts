import { GatehouseApiError, GatehouseUnavailableError } from '../../sdk/errors.js';
import type { OAuth2Client } from '../../sdk/types.js';
import { NEEDS_A_PERSON, withCondition, withoutCondition, withProgressConditions, type ReadyReason } from '../api/conditions.js';
import type { OAuth2ClientResource, OAuth2ClientStatus } from '../api/oauth2client.js';
import { ServerSelectionError } from './ports.js';
import { specWarnings, WARNINGS_CONDITION, type SpecWarning } from './warnings.js';

/** How a reconcile ended, as the Ready condition will say it; retry asks the queue for backoff. */
export type Outcome = { reason: ReadyReason; message: string; ready: boolean; requeueAfterMs?: number; retry?: boolean };

/** A failure as a reason and message a person can act on, and whether to retry. */
export function describeFailure(error: unknown): Outcome {
  if (error instanceof ServerSelectionError) return { reason: 'InvalidSpec', message: error.message, ready: false, requeueAfterMs: 30_000 };
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof GatehouseApiError) {
    if (error.status === 400) return { reason: 'InvalidSpec', message: `the server refused the client: ${message}`, ready: false };
    if (error.status === 409) return { reason: 'ClientConflict', message: `the server already has this client id: ${message}`, ready: false, retry: true };
    // 429 and 5xx pass; other 4xx mean the operator's own client is refused: retried (a rotated operator secret comes
    // back through its Secret), and reported as Reconciling with the reason until then.
    if (error.status < 500 && error.status !== 429)
      return { reason: 'ServerRejected', message: `the server refused the operator's request: ${message}`, ready: false, retry: true };
    return { reason: 'ServerUnavailable', message: `the authorization server is unavailable: ${message}`, ready: false, retry: true };
  }
  if (error instanceof GatehouseUnavailableError)
    return { reason: 'ServerUnavailable', message: `the authorization server is unavailable: ${message}`, ready: false, retry: true };
  return { reason: 'KubernetesError', message: `a Kubernetes API call failed: ${message}`, ready: false, retry: true };
}

export function clientConflict(clientId: string, actual: OAuth2Client): Outcome {
  return {
    reason: 'ClientConflict',
    message: `client ${clientId} on the server belongs to "${actual.owner || '(no owner)'}", not to this resource; it is left untouched`,
    ready: false,
  };
}

/** The conditions after a reconcile: Ready from the outcome, Warnings from the spec (present only while it applies). */
export function conditionsAfter(resource: OAuth2ClientResource, outcome: Outcome): { conditions: OAuth2ClientStatus['conditions']; warnings: SpecWarning[] } {
  const generation = resource.metadata.generation;
  const detail = { reason: outcome.reason, message: outcome.message, observedGeneration: generation };
  const ready = withProgressConditions(withCondition(resource.status?.conditions, { type: 'Ready', status: outcome.ready ? 'True' : 'False', ...detail }), {
    ready: outcome.ready,
    // A 409 on create may be a race the next attempt wins, and a credentials Secret not there yet (requeued) may be
    // applied a moment after the resource by the same GitOps sync; a client found on the server belonging to someone
    // else, or a spec the server refuses, waits for a person.
    stalled: NEEDS_A_PERSON.has(outcome.reason) && !outcome.retry && outcome.requeueAfterMs === undefined,
    ...detail,
  });
  const warnings = specWarnings(resource.spec);
  const conditions = warnings.length
    ? withCondition(ready, {
        type: WARNINGS_CONDITION,
        status: 'True',
        reason: warnings.length > 1 ? 'SeveralWarnings' : warnings[0]!.reason,
        message: warnings.map((warning) => warning.message).join('; '),
        observedGeneration: generation,
      })
    : withoutCondition(ready, WARNINGS_CONDITION);
  return { conditions, warnings };
}

/** Status as compared for "did anything change": key order must not matter. */
export function normalize(status: OAuth2ClientStatus): unknown {
  return {
    observedGeneration: status.observedGeneration,
    clientId: status.clientId,
    secretName: status.secretName,
    secretRevision: status.secretRevision,
    userSecret: status.userSecret,
    conditions: [...(status.conditions ?? [])]
      .sort((a, b) => a.type.localeCompare(b.type))
      .map((c) => ({
        type: c.type,
        status: c.status,
        observedGeneration: c.observedGeneration,
        lastTransitionTime: c.lastTransitionTime,
        reason: c.reason,
        message: c.message,
      })),
  };
}
