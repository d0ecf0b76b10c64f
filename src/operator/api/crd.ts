import { z } from 'zod';
import { GROUP, KIND, PLURAL, VERSION, oauth2ClientSpec, oauth2ClientStatus } from './oauth2client.js';

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
    out[key] = key === 'x-kubernetes-validations' ? value : clean(value);
  }
  return out;
}

export function oauth2ClientCrd() {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: 'oauth2client', shortNames: ['o2c'], categories: ['gatehouse'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
            { name: 'Client ID', type: 'string', jsonPath: '.status.clientId' },
            { name: 'Secret', type: 'string', jsonPath: '.spec.secretName' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'An OAuth 2.0 client on a Gatehouse server, with its credentials in a Secret.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: structural(oauth2ClientSpec),
                status: structural(oauth2ClientStatus),
              },
            },
          },
        },
      ],
    },
  };
}
