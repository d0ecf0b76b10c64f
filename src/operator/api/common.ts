import { z } from 'zod';

const sentences = new Map<string, string>();

/**
 * A string that must match `regex`. In the CRD its rule is a CEL check with `sentence` as the message (crd.ts), so
 * `kubectl apply` says what is wrong in words, not with the raw expression as OpenAPI's pattern would.
 */
export function patterned(regex: RegExp, sentence: string) {
  sentences.set(regex.source, sentence);
  return z.string().regex(regex, sentence);
}

/** The sentence of a pattern made by patterned; undefined for a pattern written otherwise. */
export const sentenceOf = (source: string) => sentences.get(source);

/** A Kubernetes object name (RFC 1123 subdomain), e.g. a Secret's. */
export const objectName = patterned(
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  'must be a Kubernetes object name: lowercase letters, digits, - and ., starting and ending with a letter or digit',
)
  .min(1)
  .max(253);

/** A redirect-style URI: a scheme, no spaces, no fragment. */
export const absoluteUri = patterned(/^[A-Za-z][A-Za-z0-9+.-]*:[^\s#]+$/, 'must be an absolute URI (scheme:…) without spaces or a fragment (#)').max(2048);
/** A page on the web. */
export const webUrl = patterned(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL without spaces').max(2048);

/** A key of a Secret's data. */
export const secretKey = patterned(/^[-._a-zA-Z0-9]+$/, 'must be a Secret key: letters, digits, -, _ and . only')
  .min(1)
  .max(253);

export const labelMap = z.record(z.string().max(317), z.string().max(63));
export const annotationMap = z.record(z.string().max(317), z.string());

/** metav1.Condition, as every Kubernetes tool renders it. */
export const condition = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.string(),
  reason: z.string(),
  message: z.string(),
});
export type Condition = z.output<typeof condition>;

/** A time as Kubernetes writes it (RFC 3339, to the second): conditions, status times, annotations. */
export const rfc3339 = (at: Date | number) => new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');

export const cel = (rule: string, message: string, extra: { fieldPath?: string; reason?: string } = {}) => ({ rule, message, ...extra });
