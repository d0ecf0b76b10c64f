import { z } from 'zod';

/** A Kubernetes object name (RFC 1123 subdomain), e.g. a Secret's. */
export const objectName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a lowercase RFC 1123 subdomain');

/** A key of a Secret's data. */
export const secretKey = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/, 'must consist of alphanumerics, -, _ or .');

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
