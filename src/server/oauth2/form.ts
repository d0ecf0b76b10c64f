import type { FastifyInstance } from 'fastify';
import { invalidRequest } from '../errors.js';

export type Form = Record<string, string>;

/**
 * Registers an application/x-www-form-urlencoded parser on the given (encapsulated) instance. RFC 6749 §3.2 says a
 * parameter must not appear twice, so a repeated one is refused instead of silently picking one of the values.
 */
export function registerFormParser(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, formFrom(new URLSearchParams(body as string)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

/** Each parameter once (RFC 6749 §3.1, §3.2), or a 400 invalid_request naming the repeated one. */
export function formFrom(parameters: URLSearchParams): Form {
  const form: Form = {};
  for (const [key, value] of parameters) {
    if (Object.hasOwn(form, key)) throw invalidRequest(`The parameter "${key}" was given more than once`);
    form[key] = value;
  }
  return form;
}

export function formOf(body: unknown): Form {
  return body && typeof body === 'object' ? (body as Form) : {};
}
