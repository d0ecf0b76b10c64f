import { z } from 'zod';
import type { FastifySchema } from 'fastify';
import type { DeclaredInput, Operation, ResponseDoc } from './declare.js';
import type { ManagementRule } from '../auth/management.js';
import { bearer, content, errorComponents, management as managementAnswers, ref } from './responses.js';

/** A route as the server registered it: what the document is generated from. */
export interface RegisteredRoute {
  method: string;
  url: string;
  config?: { operation?: Operation; input?: DeclaredInput; management?: ManagementRule };
  schema?: FastifySchema;
}

type JsonSchema = Record<string, unknown>;

const withoutDialect = ({ $schema: _dialect, ...schema }: JsonSchema) => schema;
const inputJson = (schema: z.ZodType) => withoutDialect(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }));

/**
 * The OpenAPI document of the routes a server registered: each route's declared operation (auth, summary, answers),
 * its declared input schemas (the ones its requests are validated with) and its response schemas (the ones its
 * answers are serialized with). A route that declares no operation is an error, so nothing served goes undocumented.
 * Management routes (config.management) are documented as such: bearer-secured, with their 401 and 403.
 * `npm run generate` writes it to docs/openapi.json from a server it starts in memory; a test fails when that file is
 * stale.
 */
export function openApiDocument(routes: readonly RegisteredRoute[]) {
  const components: Record<string, JsonSchema> = { ...errorComponents };
  /** A schema with a title becomes a component, referred to wherever it is used; the same title must mean the same schema. */
  const named = (schema: JsonSchema, title = schema.title as string | undefined): object => {
    if (!title) return schema.type === 'array' && schema.items ? { ...schema, items: named(schema.items as JsonSchema) } : schema;
    const known = components[title];
    if (known && JSON.stringify(known) !== JSON.stringify(schema)) throw new Error(`two different schemas are both named ${title}`);
    components[title] = schema;
    return ref(title);
  };

  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    if (route.method === 'HEAD') continue;
    const operation = route.config?.operation;
    if (!operation) throw new Error(`${route.method} ${route.url} is served but declares no OpenAPI operation (config.operation)`);
    const { body, query } = route.config?.input ?? {};
    const served = (route.schema?.response ?? {}) as Record<string, JsonSchema>;
    // A management route is called with a bearer token, and can be refused for it.
    const managed = route.config?.management !== undefined;
    const responses = Object.fromEntries(
      Object.entries({ ...operation.responses, ...(managed ? managementAnswers : {}) }).map(([status, answer]): [string, ResponseDoc] => {
        const schema = served[status];
        return [status, schema ? { ...answer, content: content(named(schema)) } : answer];
      }),
    );
    for (const status of Object.keys(served)) {
      if (!(status in operation.responses)) throw new Error(`${route.method} ${route.url} serializes a ${status} its operation does not describe`);
    }
    const parameters = [
      ...(operation.parameters ?? []),
      ...Object.entries((query ? (inputJson(query.schema).properties as Record<string, object>) : undefined) ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        schema,
      })),
    ];
    const requestBody =
      operation.requestBody ??
      (body ? { ...(!('absent' in body) ? { required: true } : {}), content: content(named(inputJson(body.schema), body.component)) } : undefined);
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    (paths[path] ??= {})[route.method.toLowerCase()] = {
      operationId: operation.operationId,
      summary: operation.summary,
      ...(operation.security || managed ? { security: operation.security ?? bearer } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse',
      version: '0.1.0',
      description:
        'OAuth 2.0 / OpenID Connect server with the API of ORY Hydra v0.11. Before any operation is chosen, a request can ' +
        'also be answered 400 (not valid HTTP/1.1, or bytes outside printable ASCII in the target), 404 (no such path ' +
        'and method), 408 (not received within REQUEST_TIMEOUT / HEADERS_TIMEOUT), 414 (a path parameter longer than ' +
        '1,024 characters) or 431 (request line and headers larger than the server reads), each in the ApiError ' +
        "envelope; and 503 while the server shuts down (Fastify's own body) or once its database can no longer make " +
        'changes durable (the envelope of the operation).',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an access token of a client that a policy allows the management call' },
        basic: { type: 'http', scheme: 'basic' },
        userToken: { type: 'http', scheme: 'bearer', description: "an access token issued for a user's consent, granted openid" },
      },
      schemas: components,
    },
    paths,
  };
}
