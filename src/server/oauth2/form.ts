import type { FastifyInstance } from 'fastify';
import { invalidRequest } from '../errors.js';

export type Form = Record<string, string>;

/**
 * Registers an application/x-www-form-urlencoded parser on the given (encapsulated) instance. RFC 6749 §3.2 says a
 * parameter must not appear twice, so a repeated one is refused instead of silently picking one of the values.
 */
export function registerFormParser(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const form: Form = {};
    for (const [key, value] of new URLSearchParams(body as string)) {
      if (Object.hasOwn(form, key)) return done(invalidRequest(`The parameter "${key}" was given more than once`), undefined);
      form[key] = value;
    }
    done(null, form);
  });
}

export function formOf(body: unknown): Form {
  return body && typeof body === 'object' ? (body as Form) : {};
}
