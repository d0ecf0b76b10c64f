import type { V1Secret } from '@kubernetes/client-node';
import { parseDuration } from '../../config/duration.js';
import type { KeyPolicySpec, KeyPolicyStatus } from '../api/keypolicy.js';
import type { OAuth2ClientResource } from '../api/oauth2client.js';
import { keysOf } from '../controller/secret.js';

import { ROTATED_AT, ROTATION_ANSWERED } from '../api/common.js';

export interface KeyPolicyResource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string; generation?: number; creationTimestamp?: string; resourceVersion?: string };
  spec: KeyPolicySpec;
  status?: KeyPolicyStatus;
}

type Selector = KeyPolicySpec['selector'];

/** metav1.LabelSelector semantics: every matchLabels entry and every expression hold. */
export function selects(selector: Selector, labels: Record<string, string> | undefined): boolean {
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (have[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(have, key);
    if (operator === 'Exists' && !present) return false;
    if (operator === 'DoesNotExist' && present) return false;
    if (operator === 'In' && !(present && values.includes(have[key]!))) return false;
    if (operator === 'NotIn' && present && values.includes(have[key]!)) return false;
  }
  return true;
}

/** Which of several policies selecting one client governs it: the oldest, then the first by name. Deterministic on every replica. */
export function byPrecedence(a: KeyPolicyResource, b: KeyPolicyResource): number {
  const age = Date.parse(a.metadata.creationTimestamp ?? '') - Date.parse(b.metadata.creationTimestamp ?? '');
  if (age) return age;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

export interface RotationState {
  /** When the secret was last replaced; a Secret never rotated counts from its creation. */
  rotatedAt: number;
  /** Whether a policy has rotated it (rotatedAt is a rotation's, not the Secret's creation). */
  rotated: boolean;
  /** The rotate annotation value already answered. */
  answered: string | undefined;
}

export function rotationStateOf(secret: V1Secret): RotationState {
  const annotations = secret.metadata?.annotations ?? {};
  const rotatedAt = Date.parse(annotations[ROTATED_AT] ?? '');
  const created = Date.parse(String(secret.metadata?.creationTimestamp ?? ''));
  return {
    rotatedAt: Number.isNaN(rotatedAt) ? (Number.isNaN(created) ? 0 : created) : rotatedAt,
    rotated: !Number.isNaN(rotatedAt),
    answered: annotations[ROTATION_ANSWERED],
  };
}

export type RotationDecision = { due: true; reason: 'scheduled' | 'requested' } | { due: false; nextAt: number };

/**
 * Whether a client's secret is to be replaced now: its interval has passed since the last rotation, or its rotate
 * annotation holds a value not answered yet. The time comes from the Secret, so every replica and every restart
 * agrees on it, and a rotation that completed moves it on for everyone.
 */
export function rotationDue(state: RotationState, requested: string | undefined, intervalMs: number, now: number): RotationDecision {
  if (requested !== undefined && requested !== state.answered) return { due: true, reason: 'requested' };
  const nextAt = state.rotatedAt + intervalMs;
  return nextAt <= now ? { due: true, reason: 'scheduled' } : { due: false, nextAt };
}

/** The policy's durations in milliseconds (the CRD has checked them; a bad one here is a bug, not user input). */
export function durationsOf(spec: KeyPolicySpec): { intervalMs: number; graceMs: number } {
  const intervalMs = parseDuration(spec.rotationInterval);
  const graceMs = parseDuration(spec.gracePeriod);
  if (intervalMs === undefined || graceMs === undefined) throw new Error(`unreadable durations ${spec.rotationInterval} / ${spec.gracePeriod}`);
  return { intervalMs, graceMs };
}

/** The policy that governs a client: of those of its namespace selecting it, the oldest (byPrecedence). */
export function governingPolicy(client: OAuth2ClientResource, policies: readonly KeyPolicyResource[]): KeyPolicyResource | undefined {
  return policies
    .filter((policy) => policy.metadata.namespace === client.metadata.namespace && selects(policy.spec.selector, client.metadata.labels))
    .sort(byPrecedence)[0];
}

/**
 * The client as the controllers treat it when a policy governs it: the policy's Secret template laid over the client's
 * own (key names set there win; extra keys, labels and annotations are added). Key names that would collide are not
 * taken; the client keeps its own. New key names move the credentials (heldKeysOf), they never mint new ones.
 */
export function withPolicyTemplate(client: OAuth2ClientResource, policy: KeyPolicyResource | undefined): OAuth2ClientResource {
  const layer = policy?.spec.secretTemplate;
  // An existingSecret is the user's: its key names are theirs, and a policy does not rotate it.
  if (!layer || client.spec.existingSecret) return client;
  const own = client.spec.secretTemplate;
  const ownKeys = keysOf(client);
  const clientIdKey = layer.clientIdKey ?? ownKeys.idKey;
  const clientSecretKey = layer.clientSecretKey ?? ownKeys.secretKey;
  const keys = clientIdKey === clientSecretKey ? { clientIdKey: ownKeys.idKey, clientSecretKey: ownKeys.secretKey } : { clientIdKey, clientSecretKey };
  const secretTemplate = {
    ...own,
    ...keys,
    ...(own?.extraKeys || layer.extraKeys ? { extraKeys: { ...own?.extraKeys, ...layer.extraKeys } } : {}),
    ...(own?.labels || layer.labels ? { labels: { ...own?.labels, ...layer.labels } } : {}),
    ...(own?.annotations || layer.annotations ? { annotations: { ...own?.annotations, ...layer.annotations } } : {}),
  };
  return { ...client, spec: { ...client.spec, secretTemplate } };
}
