import type { z } from 'zod';
import { badRequest } from './errors.js';

/** Parses with a zod schema or throws a 400 whose reason names every offending field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => {
    const field = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') return { field: issue.keys.join(', '), message: 'unknown field(s)' };
    return { field: field || '(body)', message: issue.message };
  });
  const reason = `invalid ${what}: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`;
  throw badRequest(reason, details);
}
