/** A non-2xx answer from the server, with the reason taken from either error format it uses. */
export class GatehouseApiError extends Error {
  override name = 'GatehouseApiError';

  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly requestId: string | undefined,
  ) {
    super(`HTTP ${status}: ${reasonOf(body)}`);
  }

  /** The OAuth 2.0 error code (invalid_client, …) when the server sent one. */
  get oauthError(): string | undefined {
    const error = (this.body as { error?: unknown } | undefined)?.error;
    return typeof error === 'string' ? error : undefined;
  }
}

/** The transport failed before any HTTP answer: refused connection, timeout, DNS. */
export class GatehouseUnavailableError extends Error {
  override name = 'GatehouseUnavailableError';
}

function reasonOf(body: unknown): string {
  if (body && typeof body === 'object' && 'error' in body) {
    const error = (body as { error: unknown; error_description?: string }).error;
    if (typeof error === 'string') return `${error}: ${(body as { error_description?: string }).error_description ?? ''}`.trim();
    if (error && typeof error === 'object') {
      const { reason, message } = error as { reason?: string; message?: string };
      return reason ?? message ?? 'unknown error';
    }
  }
  return typeof body === 'string' && body ? body.slice(0, 200) : 'no error body';
}
