import { describe, expect, it } from 'vitest';
import { CLIENT_ID, clientInputSchema, clientInputSchemaFor, listQuerySchema } from '../../src/contract/client.js';

describe('client input schema', () => {
  it('writes response types in canonical order and drops duplicates', () => {
    const parsed = clientInputSchema.parse({ response_types: ['token code', 'id_token   code', 'code', 'code token', 'token id_token code'] });
    expect(parsed.response_types).toEqual(['code token', 'code id_token', 'code', 'code id_token token']);
  });

  it('drops duplicate grant types and redirect URIs', () => {
    const parsed = clientInputSchema.parse({ grant_types: ['client_credentials', 'client_credentials'], redirect_uris: ['https://a/cb', 'https://a/cb'] });
    expect(parsed.grant_types).toEqual(['client_credentials']);
    expect(parsed.redirect_uris).toEqual(['https://a/cb']);
  });

  it('accepts custom-scheme and loopback redirect URIs of a public client', () => {
    expect(clientInputSchema.safeParse({ public: true, redirect_uris: ['com.example.app:/oauth2redirect', 'http://127.0.0.1:8080/cb'] }).success).toBe(true);
  });

  /** The issues of parsing these redirect URIs, as "path: message". */
  const redirectIssues = (redirect_uris: string[], fields: { public?: boolean } = {}, schema = clientInputSchema) => {
    const result = schema.safeParse({ redirect_uris, ...fields });
    return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it.each([
    'https://app.example/cb',
    'https://app.example:8443/cb?x=1',
    'HTTPS://APP.EXAMPLE/cb',
    'http://localhost/cb',
    'http://localhost:3000/cb',
    'http://127.0.0.1:8080/cb',
    'http://127.3.2.1/cb',
    'http://[::1]:8080/cb',
  ])('accepts %s for any client', (uri) => {
    expect(redirectIssues([uri])).toEqual([]);
    expect(redirectIssues([uri], { public: true })).toEqual([]);
  });

  it.each([
    ['javascript:alert(1)', 'javascript:'],
    ['JavaScript:alert(1)', 'javascript:'],
    ['javascript://app.example/%0Aalert(1)', 'javascript:'],
    ['data:text/html,<script>alert(1)</script>', 'data:'],
    ['data:text/html;base64,PHNjcmlwdD4=', 'data:'],
    ['vbscript:msgbox(1)', 'vbscript:'],
    ['file:///etc/passwd', 'file:'],
    ['java\tscript:alert(1)', 'spaces or control characters'],
    ['https://app.example/cb\n', 'spaces or control characters'],
    ['https://app.example/cb#fragment', 'fragment'],
    ['https://app.example/cb#', 'fragment'],
    ['http://app.example/cb', 'loopback'],
    ['http://localhost.app.example/cb', 'loopback'],
    ['http://localhost@evil.example/cb', 'loopback'],
    ['http://127.0.0.1.nip.io/cb', 'loopback'],
    ['http://[::2]/cb', 'loopback'],
    ['https:///cb', 'https://host'],
    ['https:app.example/cb', 'https://host'],
    ['myapp:/callback', 'reverse-domain'],
    ['urn:ietf:wg:oauth:2.0:oob', 'reverse-domain'],
  ])('refuses %s for any client, naming redirect_uris.1 (%s)', (uri, reason) => {
    for (const fields of [{}, { public: true }]) {
      const issues = redirectIssues(['https://app.example/ok', uri], fields);
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatch(/^redirect_uris\.1: /);
      expect(issues[0]).toContain(reason);
    }
  });

  it('accepts private-use schemes (RFC 8252) for public clients only', () => {
    const uris = ['com.example.app:/oauth2redirect', 'com.example.app://callback', 'io.example.tool:/cb'];
    expect(redirectIssues(uris, { public: true })).toEqual([]);
    expect(redirectIssues(uris)).toEqual(
      uris.map((_, i) => `redirect_uris.${i}: a private-use scheme (RFC 8252 §7.1) is only for a public client (public: true)`),
    );
  });

  it('accepts http to any host only with ALLOW_HTTP_REDIRECT_URIS, and still no dangerous scheme or fragment', () => {
    const lenient = clientInputSchemaFor({ allowHttpRedirectUris: true });
    expect(redirectIssues(['http://app.example/cb', 'http://10.0.0.7:8080/cb'], {}, lenient)).toEqual([]);
    expect(redirectIssues(['javascript:alert(1)', 'http://app.example/cb#x', 'myapp:/cb'], {}, lenient)).toHaveLength(3);
  });

  it.each(['a', '...', '.a', 'a.', '..a', 'a..', '.~', '~', ':', '@', '+', '-', '_', 'x'.repeat(255), `..${'x'.repeat(253)}`])(
    'accepts the client id %s',
    (id) => {
      expect(CLIENT_ID.test(id)).toBe(true);
      expect(clientInputSchema.safeParse({ id }).success).toBe(true);
    },
  );

  it.each(['', '.', '..', '%', 'a/b', 'a b', 'caf\u00e9', 'x'.repeat(256), `..${'x'.repeat(254)}`])('refuses the client id %j', (id) => {
    expect(CLIENT_ID.test(id)).toBe(false);
    const result = clientInputSchema.safeParse({ id });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((issue) => issue.path.join('.'))).toEqual(['id']);
  });

  it('accepts every scope-token character of RFC 6749 §3.3', () => {
    expect(clientInputSchema.safeParse({ scope: "openid a.b:c/d!#$%&'()*+,-;<=>?@[]^_`{|}~" }).success).toBe(true);
  });
});

describe('list query schema', () => {
  it('defaults to limit 100, offset 0, and clamps the limit to 500', () => {
    expect(listQuerySchema.parse({})).toEqual({ limit: 100, offset: 0 });
    expect(listQuerySchema.parse({ limit: '501', offset: '7' })).toEqual({ limit: 500, offset: 7 });
  });
});
