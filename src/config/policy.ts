import { z } from 'zod';

const condition = z.discriminatedUnion('type', [
  z.object({ type: z.literal('EqualsSubjectCondition'), options: z.object({}).strict().optional() }).strict(),
  z.object({ type: z.literal('StringEqualCondition'), options: z.object({ equals: z.string() }).strict() }).strict(),
  z
    .object({
      type: z.literal('CIDRCondition'),
      options: z.object({ cidr: z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'must be a CIDR such as 10.0.0.0/8') }).strict(),
    })
    .strict(),
]);

/** An access policy in Hydra's (ladon's) shape; strings may hold `<regex>` parts. */
export const policySchema = z
  .object({
    id: z.string().min(1),
    description: z.string().default(''),
    subjects: z.array(z.string().min(1)).min(1),
    effect: z.enum(['allow', 'deny']),
    resources: z.array(z.string().min(1)).min(1),
    actions: z.array(z.string().min(1)).min(1),
    conditions: z.record(z.string(), condition).default({}),
  })
  .strict();

export type Policy = z.output<typeof policySchema>;
export type PolicyCondition = z.output<typeof condition>;
