// Wire-level helpers shared by the integration tests: raw HTTP calls, the two error formats, metrics, and direct
// (independent-connection) access to the server's database.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, request as httpRequest } from 'node:http';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { expect } from 'vitest';
import { basic } from '../../src/sdk/client.js';
import type { OAuth2Client, OAuth2ClientInput } from '../../src/sdk/types.js';
import { freePort } from '../support/free-port.js';
import type { ServerOptions } from '../../src/server/app.js';
import { ROOT, startTestServer, type DatabaseKind, type TestServer } from '../support/server.js';

export { basic, ROOT };

export const FORM = 'application/x-www-form-urlencoded';
export const JSON_TYPE = 'application/json';

export interface Credentials {
  id: string;
  secret: string;
}

export const ROOT_CREDENTIALS: Credentials = { id: ROOT.id, secret: ROOT.secret };

/** An id nobody else in the run uses. */
export const uniqueId = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// --- OAuth 2.0 endpoints -----------------------------------------------------------------------------------------

export interface TokenRequest {
  credentials?: Credentials;
  /** client_secret_basic (default) or client_secret_post */
  method?: 'basic' | 'post';
  scope?: string;
  /** Extra form fields; grant_type defaults to client_credentials unless given here (null drops it). */
  form?: Record<string, string | null>;
  headers?: Record<string, string>;
}

/** POST /oauth2/token as a form, returning the raw response. */
export function tokenRequest(t: TestServer, request: TokenRequest = {}): Promise<Response> {
  const { credentials, method = 'basic', scope, form = {}, headers = {} } = request;
  const fields: Record<string, string> = { grant_type: 'client_credentials' };
  if (scope !== undefined) fields.scope = scope;
  for (const [key, value] of Object.entries(form)) {
    if (value === null) delete fields[key];
    else fields[key] = value;
  }
  const auth: Record<string, string> = {};
  if (credentials && method === 'basic') auth.authorization = basic(credentials.id, credentials.secret);
  if (credentials && method === 'post') Object.assign(fields, { client_id: credentials.id, client_secret: credentials.secret });
  return fetch(`${t.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': FORM, ...auth, ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

/** A client-credentials access token, asserting the request succeeded. */
export async function issueToken(t: TestServer, credentials: Credentials, scope?: string): Promise<string> {
  const response = await tokenRequest(t, { credentials, ...(scope === undefined ? {} : { scope }) });
  const body = (await response.json()) as { access_token?: string };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.access_token!;
}

/** A fresh management bearer token of the root client. */
export const rootBearer = (t: TestServer, scope = 'hydra.*') => issueToken(t, ROOT_CREDENTIALS, scope);

/** POST /oauth2/introspect; `auth` is a bearer token (string) or client credentials (HTTP Basic). */
export function introspectRequest(t: TestServer, fields: Record<string, string>, auth?: Credentials | string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': FORM };
  if (typeof auth === 'string') headers.authorization = `Bearer ${auth}`;
  else if (auth) headers.authorization = basic(auth.id, auth.secret);
  return fetch(`${t.url}/oauth2/introspect`, { method: 'POST', headers, body: new URLSearchParams(fields).toString() });
}

/** The introspection of a token (authenticated as root by Basic), asserting a 200. */
export async function introspect(t: TestServer, token: string, scope?: string): Promise<Record<string, unknown>> {
  const response = await introspectRequest(t, { token, ...(scope === undefined ? {} : { scope }) }, ROOT_CREDENTIALS);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

// --- Management endpoints ----------------------------------------------------------------------------------------

export interface ManagementRequest {
  token?: string;
  /** Serialized as JSON with Content-Type application/json. */
  json?: unknown;
  body?: string;
  headers?: Record<string, string>;
}

export function managementRequest(t: TestServer, method: string, path: string, request: ManagementRequest = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (request.token) headers.authorization = `Bearer ${request.token}`;
  let body = request.body;
  if (request.json !== undefined) {
    headers['content-type'] = JSON_TYPE;
    body = JSON.stringify(request.json);
  }
  return fetch(`${t.url}${path}`, { method, headers: { ...headers, ...request.headers }, ...(body === undefined ? {} : { body }) });
}

/** Creates a client through the SDK as root; the result carries the one-time secret when it has one. */
export function createClient(t: TestServer, input: OAuth2ClientInput): Promise<OAuth2Client> {
  return t.root.createClient(input);
}

/** A confidential client allowed the client-credentials grant for `scope`. */
export async function machineClient(t: TestServer, scope: string, input: OAuth2ClientInput = {}): Promise<Credentials & { client: OAuth2Client }> {
  const client = await createClient(t, { grant_types: ['client_credentials'], scope, ...input });
  expect(client.client_secret).toBeTypeOf('string');
  return { id: client.id, secret: client.client_secret!, client };
}

/**
 * A request with the path sent byte for byte (latin1), as fetch never would: no dot-segment resolution, no
 * percent-encoding of raw bytes. Answers as a fetch Response.
 */
export function rawRequest(t: TestServer, method: string, path: string, request: { headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
  const { headers = {}, body } = request;
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(`${t.url}/`, { method, path, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') responseHeaders.set(name, value);
        resolve(new Response(Buffer.concat(chunks), { status: response.statusCode!, headers: responseHeaders }));
      });
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

export interface ManagementErrorBody {
  code: number;
  status: string;
  request: string;
  reason: string;
  details: unknown[];
  message: string;
}

/**
 * Asserts a management-format error: the status, JSON, exactly the six envelope fields, and `request` equal to the
 * X-Request-ID response header. Returns the inner error for further checks.
 */
export async function expectManagementError(response: Response, status: number): Promise<ManagementErrorBody> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error: ManagementErrorBody };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message', 'reason', 'request', 'status']);
  const requestId = response.headers.get('x-request-id');
  expect(requestId).toBeTruthy();
  expect(body.error).toMatchObject({ code: status, status: STATUS_CODES[status], request: requestId });
  expect(body.error.reason).toBeTypeOf('string');
  expect(body.error.reason.length).toBeGreaterThan(0);
  expect(body.error.message).toBeTypeOf('string');
  expect(Array.isArray(body.error.details)).toBe(true);
  return body.error;
}

export interface OAuthErrorBody {
  error: string;
  error_description: string;
  error_hint?: string;
  status_code?: number;
}

/** Asserts an RFC 6749 error: status, code, description, status_code and the no-store headers. */
export async function expectOAuthError(response: Response, status: number, error: string): Promise<OAuthErrorBody> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('pragma')).toBe('no-cache');
  const body = JSON.parse(text) as OAuthErrorBody;
  expect(body.error).toBe(error);
  expect(body.error_description).toBeTypeOf('string');
  expect(body.error_description.length).toBeGreaterThan(0);
  expect(body.status_code).toBe(status);
  return body;
}

// --- Metrics -----------------------------------------------------------------------------------------------------

/** The value of one sample of /metrics (0 when the series does not exist yet). */
export async function metricValue(t: TestServer, name: string, labels: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${t.url}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? '').split(',');
    if (wanted.every((label) => present.includes(label))) return Number(match[3]);
  }
  return 0;
}

// --- The database, through a connection of its own ---------------------------------------------------------------

type Row = Record<string, unknown>;

/** Runs statements on the test server's database through a new connection (better-sqlite3 or pg), not the server's. */
export async function withDatabase<T>(t: TestServer, use: (query: (sql: string) => Promise<Row[]>) => Promise<T>): Promise<T> {
  if (t.databaseUrl.startsWith('sqlite://')) {
    const connection = new SQLite(t.databaseUrl.slice('sqlite://'.length));
    connection.pragma('busy_timeout = 5000');
    try {
      return await use(async (sql) => {
        const statement = connection.prepare(sql);
        return statement.reader ? (statement.all() as Row[]) : (statement.run(), []);
      });
    } finally {
      connection.close();
    }
  }
  const client = new pg.Client({ connectionString: t.databaseUrl });
  await client.connect();
  try {
    return await use(async (sql) => (await client.query(sql)).rows as Row[]);
  } finally {
    await client.end();
  }
}

/** Every row of a table (name is a constant of the test, never input). */
export const allRows = (t: TestServer, table: string) => withDatabase(t, (query) => query(`SELECT * FROM ${table}`));

// --- A server started our own way ---------------------------------------------------------------------------------

/**
 * Like startTestServer (same settings and root client), but listening on a fixed free port with ISSUER set to the
 * server's own URL, which relying-party libraries check (startTestServer listens on port 0 with a fixed ISSUER).
 */
export async function startServerWithOwnIssuer(kind: DatabaseKind, env: Record<string, string> = {}, options: ServerOptions = {}): Promise<TestServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await startTestServer(kind, { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, ...env }, undefined, options);
    } catch (error) {
      // The port was free a moment ago; another process may have taken it since.
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw error;
    }
  }
}

/** The stored secret hash of a client, read from the database (id is a constant of the test, never input). */
export async function secretHashOf(t: TestServer, id: string): Promise<string | null> {
  const [row] = await withDatabase(t, (query) => query(`SELECT secret_hash FROM clients WHERE id = '${id}'`));
  expect(row, `client ${id} in the database`).toBeDefined();
  return row!.secret_hash as string | null;
}
