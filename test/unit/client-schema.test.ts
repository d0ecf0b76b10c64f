import { describe, expect, it } from 'vitest';
import { clientInputSchema, listQuerySchema } from '../../src/server/client/schema.js';

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

  it('accepts custom-scheme and loopback redirect URIs', () => {
    expect(clientInputSchema.safeParse({ redirect_uris: ['com.example.app:/oauth2redirect', 'http://127.0.0.1:8080/cb'] }).success).toBe(true);
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
