import { STATUS_CODES } from 'node:http';

/** An error of the management API (`/clients`, consent, flush), rendered in Hydra's `{"error": {...}}` envelope. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message?: string,
    readonly details: Record<string, unknown>[] = [],
  ) {
    super(message ?? STATUS_CODES[statusCode] ?? 'Error');
  }

  toBody(requestId: string) {
    return {
      error: {
        code: this.statusCode,
        status: STATUS_CODES[this.statusCode] ?? 'Error',
        request: requestId,
        reason: this.reason,
        details: this.details,
        message: this.message,
      },
    };
  }
}

/** An RFC 6749 error of the OAuth 2.0 endpoints (token, introspect, revoke, auth). */
export class OAuthError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    readonly description: string,
    readonly hint?: string,
  ) {
    super(description);
  }

  toBody() {
    return {
      error: this.error,
      error_description: this.description,
      ...(this.hint ? { error_hint: this.hint } : {}),
      status_code: this.statusCode,
    };
  }
}

/** Failed client authentications were limited (RFC 6585 §4); Retry-After says when to try again. */
export class TooManyFailedAuthentications extends OAuthError {
  constructor(
    readonly retryAfterSeconds: number,
    readonly limitedBy: 'client' | 'address',
    /** The first refusal since the limited bucket last gave a token: logged, where the ones after are only counted. */
    readonly firstRefusal = true,
  ) {
    super(
      429,
      'temporarily_unavailable',
      `Too many failed client authentications for this ${limitedBy === 'client' ? 'client id' : 'source address'}; try again in ${retryAfterSeconds} s`,
    );
  }
}

export const invalidRequest = (description: string, hint?: string) => new OAuthError(400, 'invalid_request', description, hint);
export const invalidClient = (description = 'Client authentication failed') => new OAuthError(401, 'invalid_client', description);
export const invalidGrant = (description: string) => new OAuthError(400, 'invalid_grant', description);

export const badRequest = (reason: string, details: Record<string, unknown>[] = []) => new ApiError(400, reason, 'The request is invalid', details);
export const notFound = (what: string) => new ApiError(404, `${what} was not found`, 'Unable to locate the resource');
export const conflict = (reason: string) => new ApiError(409, reason, 'The resource already exists');
export const unauthorized = (reason: string) => new ApiError(401, reason, 'The request could not be authorized');
export const forbidden = (reason: string) => new ApiError(403, reason, 'The requested action was forbidden');

/** A framework-level error (unparsable body, wrong media type, too large) as status + one-line reason. */
export function describeFrameworkError(error: { statusCode?: number; code?: string; message: string }): { status: number; reason: string } {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, reason: 'the request body is larger than the configured BODY_LIMIT' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, reason: 'unsupported Content-Type; this endpoint takes application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, reason: 'the request body is empty; a JSON document was expected' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, reason: `the request body is not valid JSON: ${error.message}` };
  }
  if (error instanceof SyntaxError) return { status: 400, reason: `the request body is not valid JSON: ${error.message}` };
  // Storage that can no longer make changes durable (NotDurableError) says so, rather than "internal error".
  if (error.statusCode === 503) return { status: 503, reason: error.message };
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  return { status, reason: status === 500 ? 'internal error' : error.message };
}
