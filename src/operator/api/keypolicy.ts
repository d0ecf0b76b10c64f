import { z } from 'zod';
import { DURATION, parseDuration } from '../../contract/duration.js';
import { annotationKey, annotationMap, cel, condition, labelMap, secretKey } from './common.js';
import { EXTRA_VALUES, GROUP, VERSION } from './oauth2client.js';

export const KEY_POLICY_KIND = 'KeyPolicy';
export const KEY_POLICY_PLURAL = 'keypolicies';

/** On an OAuth2Client a KeyPolicy governs: any new value rotates its secret now. */
export const ROTATE_ANNOTATION = 'gatehouse.dev/rotate';

// Go's duration syntax (what kubectl users write elsewhere), as the operator reads it (contract/duration.ts) and CEL's
// duration() accepts: "720h", "1h30m", "90s". In a raw CEL string, which leaves the pattern's escapes alone.
const wellFormed = (field: string) => `${field}.matches(r'${DURATION.source}')`;
const DURATION_EXAMPLE = 'a duration such as 30m, 12h or 720h';
const MIN_INTERVAL = '10s';
const MAX_INTERVAL = '8760h';

/** A duration field: checked as text and as a length at apply time, with a sentence for each rule. */
function duration(description: string, bounds: { min: string; max: string }) {
  const well = wellFormed('self');
  return z
    .string()
    .max(64)
    .refine((text) => parseDuration(text) !== undefined, `must be ${DURATION_EXAMPLE}`)
    .describe(description)
    .meta({
      'x-kubernetes-validations': [
        cel(well, `must be ${DURATION_EXAMPLE}`),
        cel(`!${well} || duration(self) >= duration('${bounds.min}')`, `must be at least ${bounds.min}`),
        cel(`!${well} || duration(self) <= duration('${bounds.max}')`, `must be at most ${bounds.max}`),
      ],
    });
}

const labelSelectorRequirement = z
  .object({
    key: z.string().min(1).max(317),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
    values: z.array(z.string().max(63)).max(100).optional(),
  })
  .strict()
  .meta({
    'x-kubernetes-validations': [
      cel(
        "(self.operator == 'In' || self.operator == 'NotIn') ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
        'In and NotIn need values; Exists and DoesNotExist take none',
      ),
    ],
  });

/** metav1.LabelSelector, never empty: an empty one would govern every OAuth2Client of the namespace. */
const selector = z
  .object({
    matchLabels: z.record(z.string().max(317), z.string().max(63)).optional(),
    matchExpressions: z.array(labelSelectorRequirement).max(20).optional(),
  })
  .strict()
  .describe('Which OAuth2Clients of this namespace the policy governs, by their labels')
  .meta({
    'x-kubernetes-validations': [
      cel(
        '(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)',
        'selector must not be empty: an empty selector would govern every OAuth2Client in the namespace',
      ),
    ],
  });

export const keyPolicySpec = z
  .object({
    selector,
    rotationInterval: duration(`How often the secret of each governed client is replaced: ${DURATION_EXAMPLE} (at least ${MIN_INTERVAL})`, {
      min: MIN_INTERVAL,
      max: MAX_INTERVAL,
    }),
    gracePeriod: duration(
      'How long the replaced secret keeps working after a rotation, for applications that have not read the new one yet; shorter than rotationInterval',
      { min: '1s', max: '720h' },
    ),
    secretTemplate: z
      .object({
        clientIdKey: secretKey.optional().describe("Key of the client id in each governed client's Secret, instead of the client's own"),
        clientSecretKey: secretKey.optional().describe("Key of the client secret in each governed client's Secret, instead of the client's own"),
        extraKeys: z
          .record(secretKey, z.enum(EXTRA_VALUES))
          .optional()
          .describe(`Further keys, added to the client's own: ${EXTRA_VALUES.join(', ')}`),
        labels: labelMap.optional(),
        annotations: annotationMap.optional(),
        hashAnnotation: annotationKey
          .optional()
          .describe(
            'An annotation of the Secret that receives a hash of the credentials on every rotation (for a pod template, or a tool that restarts pods when it changes)',
          ),
      })
      .strict()
      .meta({
        'x-kubernetes-validations': [
          cel(
            '!has(self.clientIdKey) || !has(self.clientSecretKey) || self.clientIdKey != self.clientSecretKey',
            'clientIdKey and clientSecretKey must differ',
          ),
        ],
      })
      .optional()
      .describe(
        "Laid over the client's own secretTemplate for each governed client: key names set here win (the credentials move to them, nothing is minted), extra keys, labels and annotations are added",
      ),
    rotationAnnotations: annotationMap
      .optional()
      .describe('Annotations written on the Secret with each rotation, for example one that a reloader watches to restart pods'),
    whenReleased: z
      .enum(['keep', 'rotate'])
      .default('keep')
      .describe(
        'What happens to a client the policy stops selecting: keep (default) leaves its current secret in place; rotate gives it a fresh one, with the grace period (not when the policy itself is deleted)',
      ),
  })
  .strict()
  .meta({
    'x-kubernetes-validations': [
      cel(
        `!${wellFormed('self.gracePeriod')} || !${wellFormed('self.rotationInterval')} || duration(self.gracePeriod) < duration(self.rotationInterval)`,
        'gracePeriod must be shorter than rotationInterval: otherwise a rotation would begin while the secret before the last one still works',
      ),
    ],
  });

const governedClient = z.object({
  name: z.string().describe('The OAuth2Client'),
  clientId: z.string().optional(),
  lastRotation: z.string().optional().describe('When its secret was last replaced (RFC 3339)'),
  nextRotation: z.string().optional().describe('When it is replaced next (RFC 3339)'),
});

export const keyPolicyStatus = z.object({
  observedGeneration: z.number().int().optional(),
  clientsGoverned: z.number().int().optional(),
  nextRotation: z.string().optional().describe('The earliest next rotation among the governed clients (RFC 3339)'),
  clients: z.array(governedClient).optional(),
  conditions: z.array(condition).optional(),
});

export type KeyPolicySpec = z.output<typeof keyPolicySpec>;
export type KeyPolicyStatus = z.output<typeof keyPolicyStatus>;

export const KEY_POLICY_CRD = {
  group: GROUP,
  version: VERSION,
  kind: KEY_POLICY_KIND,
  plural: KEY_POLICY_PLURAL,
  singular: 'keypolicy',
  shortNames: ['kp'],
  description: 'How the client secrets of the OAuth2Clients it selects are rotated: on a schedule or on demand, with a grace period.',
  printerColumns: [
    { name: 'Clients', type: 'integer', jsonPath: '.status.clientsGoverned' },
    { name: 'Next Rotation', type: 'date', jsonPath: '.status.nextRotation' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  spec: keyPolicySpec,
  status: keyPolicyStatus,
};
