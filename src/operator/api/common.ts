import { z } from 'zod';

export const cel = (rule: string, message: string, extra: { fieldPath?: string; reason?: string } = {}) => ({ rule, message, ...extra });

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
/** On a client's Secret: when its secret was last replaced by a policy (RFC 3339). */
export const ROTATED_AT = 'gatehouse.dev/rotated-at';
/** On a client's Secret: the value of the client's rotate annotation that the last on-demand rotation answered. */
export const ROTATION_ANSWERED = 'gatehouse.dev/rotation-answered';
/** On a Secret released by `deletionPolicy: orphan`: which resource may take it back. */
export const ORPHANED_FROM = 'gatehouse.dev/orphaned-from';
/** On a Secret the operator writes: the keys of the client id and secret, "idKey,secretKey" (heldKeysOf). */
export const CREDENTIAL_KEYS = 'gatehouse.dev/credential-keys';

/**
 * The annotations the operator keeps its own records in on a Secret: a template that set them could skip or force
 * a rotation (a rotated-at in the future, or in the past), or move where the credentials are read from.
 */
export const OPERATOR_SECRET_ANNOTATIONS = [ROTATED_AT, ROTATION_ANSWERED, ORPHANED_FROM, CREDENTIAL_KEYS] as const;
const RESERVED_RULE = `must not set the operator's own annotations (${OPERATOR_SECRET_ANNOTATIONS.join(', ')})`;
const isReserved = (key: string) => (OPERATOR_SECRET_ANNOTATIONS as readonly string[]).includes(key);
const celList = `[${OPERATOR_SECRET_ANNOTATIONS.map((key) => `'${key}'`).join(', ')}]`;
// A qualified name, as the API server checks annotation keys: refused here, before a rotation writes the Secret.
const ANNOTATION_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const ANNOTATION_KEY_RULE = 'must be annotation keys: an optional DNS prefix and /, then letters, digits, -, _ and .';

/** An annotation key a template may set (hashAnnotation). */
export const annotationKey = patterned(ANNOTATION_KEY, ANNOTATION_KEY_RULE)
  .max(317)
  .refine((key) => !isReserved(key), RESERVED_RULE)
  .meta({ 'x-kubernetes-validations': [cel(`!(self in ${celList})`, RESERVED_RULE)] });

/** Annotations a template adds to a Secret: never the operator's own. */
export const annotationMap = z
  .record(z.string().max(317), z.string())
  .refine((annotations) => Object.keys(annotations).every((key) => ANNOTATION_KEY.test(key)), ANNOTATION_KEY_RULE)
  .refine((annotations) => !Object.keys(annotations).some(isReserved), RESERVED_RULE)
  .meta({ maxProperties: 64, 'x-kubernetes-validations': [cel(`!${celList}.exists(k, k in self)`, RESERVED_RULE)] });

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
