import { z } from 'zod';

/**
 * A response body as JSON Schema, from the contract's zod schema (its output side): the OpenAPI document describes
 * responses with it, and the routes declare it as their response schema, so Fastify serializes exactly the fields it
 * names and no others (a stored secret hash cannot ride along on a client, whatever the service returns). No
 * `$schema`: the OpenAPI document declares its dialect once, and Fastify's serializer wants none.
 */
export function responseJsonSchema(schema: z.ZodType, title?: string): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'output', target: 'draft-2020-12' });
  // The title names it as a component of the OpenAPI document.
  return title ? { title, ...rest } : rest;
}
