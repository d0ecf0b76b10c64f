import { z } from 'zod';
import { cel, sentenceOf } from './common.js';
import { KEY_POLICY_CRD } from './keypolicy.js';
import { GROUP, KIND, OAUTH2_CLIENT_RULES, PLURAL, VERSION, oauth2ClientSpec, oauth2ClientStatus } from './oauth2client.js';

/**
 * Turns a zod schema into a Kubernetes structural schema: JSON Schema draft 2020-12 from zod, minus what the API
 * server refuses ($schema, propertyNames, additionalProperties beside properties).
 */
export function structural(schema: z.ZodType): Record<string, unknown> {
  return clean(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw', target: 'draft-2020-12' })) as Record<string, unknown>;
}

function clean(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(clean);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || key === 'propertyNames') continue;
    if (key === 'additionalProperties' && (value === false || (value && typeof value === 'object' && Object.keys(value).length === 0))) continue;
    if (key === 'pattern' && typeof value === 'string') {
      out['x-kubernetes-validations'] = [...((out['x-kubernetes-validations'] as unknown[]) ?? []), patternRule(value)];
      continue;
    }
    out[key] = key === 'x-kubernetes-validations' ? [...((out[key] as unknown[]) ?? []), ...(value as unknown[])] : clean(value);
  }
  return out;
}

/** A pattern as a CEL rule with its sentence (patterned); a raw string literal, since CEL refuses escapes such as \s. */
function patternRule(pattern: string) {
  const sentence = sentenceOf(pattern);
  if (!sentence) throw new Error(`pattern ${pattern} has no sentence: write it with patterned() so kubectl can say what is wrong`);
  if (pattern.includes("'")) throw new Error(`pattern ${pattern} cannot be a CEL raw string literal`);
  return cel(`self.matches(r'${pattern}')`, sentence);
}

/** What a custom resource definition of ours is made of; crdOf turns it into the manifest. */
export interface ResourceDefinition {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  printerColumns: { name: string; type: string; jsonPath: string; priority?: number }[];
  spec: z.ZodType;
  status: z.ZodType;
  /** Rules over the whole object, where a rule must see the spec and the status together (transition rules). */
  rules?: ReturnType<typeof cel>[];
}

/** A namespaced CRD with a status subresource, its schema from the zod spec and status. */
export function crdOf(definition: ResourceDefinition) {
  const { group, version, kind, plural, singular, shortNames } = definition;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, listKind: `${kind}List`, plural, singular, shortNames, categories: ['gatehouse'] },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: definition.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: definition.description,
              required: ['spec'],
              ...(definition.rules ? { 'x-kubernetes-validations': definition.rules } : {}),
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: structural(definition.spec),
                status: structural(definition.status),
              },
            },
          },
        },
      ],
    },
  };
}

export const oauth2ClientCrd = () =>
  crdOf({
    group: GROUP,
    version: VERSION,
    kind: KIND,
    plural: PLURAL,
    singular: 'oauth2client',
    shortNames: ['o2c'],
    description: 'An OAuth 2.0 client on a Gatehouse server, with its credentials in a Secret.',
    printerColumns: [
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
      { name: 'Client ID', type: 'string', jsonPath: '.status.clientId' },
      { name: 'Secret', type: 'string', jsonPath: '.spec.secretName' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    spec: oauth2ClientSpec,
    status: oauth2ClientStatus,
    rules: OAUTH2_CLIENT_RULES,
  });

export const keyPolicyCrd = () => crdOf(KEY_POLICY_CRD);
