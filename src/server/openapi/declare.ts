import type { FastifyInstance, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { z } from 'zod';
import type { ManagementRule } from '../auth/management.js';
import { parseOrThrow } from '../validation.js';

/** One answer of an operation as the OpenAPI document describes it. */
export interface ResponseDoc {
  description: string;
  headers?: Record<string, object>;
  content?: Record<string, object>;
}

/** What the OpenAPI document says of a route beyond the schemas the route declares for validation and serialization. */
export interface Operation {
  operationId: string;
  summary: string;
  security?: Record<string, string[]>[];
  /** Path parameters, and query parameters the route reads itself. */
  parameters?: object[];
  /** A body the route reads itself (a form, or one whose rules depend on what is stored); a declared `body` describes itself. */
  requestBody?: object;
  responses: Record<number, ResponseDoc>;
}

/** A request part that zod parses before the handler runs (after authorization): the handler sees the parsed value. */
export interface DeclaredPart {
  schema: z.ZodType;
  /** Names the part in a refusal: "invalid <what>: <field>: <message>". */
  what: string;
  /** The OpenAPI component name of its schema. */
  component?: string;
}

export interface DeclaredBody extends DeclaredPart {
  /** What an absent body stands for; without it a body is required. */
  absent?: unknown;
  /** A JSON null counts as absent too (Hydra's consent rejection took one). */
  nullIsAbsent?: boolean;
}

export interface DeclaredInput {
  body?: DeclaredBody;
  query?: DeclaredPart;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    operation?: Operation;
    input?: DeclaredInput;
  }
}

export interface Declaration extends DeclaredInput {
  operation: Operation;
  management?: ManagementRule;
  /**
   * JSON schemas of the answers by status (contract/json-schema.ts): they serialize the response, so a field they do
   * not name never leaves, and they describe it in the OpenAPI document.
   */
  response?: Record<number, Record<string, unknown>>;
}

/**
 * The options of a route from its declaration: one object feeds its authorization (auth/management.ts), the
 * validation of its input (registerDeclaredInput), the serialization of its answers and the OpenAPI document.
 */
export function declared({ operation, management, body, query, response }: Declaration): RouteShorthandOptions {
  return {
    config: { operation, ...(management ? { management } : {}), ...(body || query ? { input: { body, query } } : {}) },
    ...(response ? { schema: { response } } : {}),
  };
}

/**
 * Gives every route that declares input the preHandler that parses it, after the management check (which puts itself
 * first): an unauthenticated caller learns nothing about what a valid body looks like. Callback style, as this runs on
 * each request of those routes.
 */
export function registerDeclaredInput(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const input = route.config?.input;
    if (!input) return;
    const { body, query } = input;
    const parse = (request: FastifyRequest, _reply: unknown, done: (error?: Error) => void) => {
      try {
        const absent = request.body === undefined || (body?.nullIsAbsent === true && request.body === null);
        if (body) request.body = parseOrThrow(body.schema, absent && 'absent' in body ? body.absent : request.body, body.what);
        if (query) request.query = parseOrThrow(query.schema, request.query, query.what);
      } catch (error) {
        return done(error as Error);
      }
      done();
    };
    const existing = route.preHandler === undefined ? [] : [route.preHandler].flat();
    route.preHandler = [...existing, parse];
  });
}
