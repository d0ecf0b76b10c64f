import { describe, expect, it } from 'vitest';
import { basic } from '../../src/sdk/client.js';
import { OAuthError } from '../../src/server/errors.js';
import { presentedCredentials } from '../../src/server/oauth2/client-auth.js';

function thrown(run: () => unknown): OAuthError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    return error as OAuthError;
  }
  throw new Error('did not throw');
}

describe('presentedCredentials', () => {
  it('form-decodes id and secret of HTTP Basic (RFC 6749 §2.3.1)', () => {
    const id = 'svc:orders@team+1';
    const secret = 'p@ss: with %25, spaces & plus+';
    expect(presentedCredentials(basic(id, secret), {})).toEqual({ clientId: id, secret, method: 'client_secret_basic' });
    const spaces = `Basic ${Buffer.from('a+b:c%20d+e').toString('base64')}`;
    expect(presentedCredentials(spaces, {})).toMatchObject({ clientId: 'a b', secret: 'c d e' });
  });

  it('splits at the first colon, so a secret may hold colons', () => {
    expect(presentedCredentials(`Basic ${Buffer.from('id:se:cret').toString('base64')}`, {})).toMatchObject({ clientId: 'id', secret: 'se:cret' });
  });

  it('takes credentials from the form when there is no Basic header', () => {
    expect(presentedCredentials(undefined, { client_id: 'a', client_secret: 'b' })).toEqual({ clientId: 'a', secret: 'b', method: 'client_secret_post' });
    expect(presentedCredentials('Bearer x', { client_id: 'a', client_secret: 'b' })).toMatchObject({ method: 'client_secret_post' });
  });

  it('answers undefined when nothing usable is presented', () => {
    expect(presentedCredentials(undefined, {})).toBeUndefined();
    expect(presentedCredentials(undefined, { client_id: 'a' })).toBeUndefined();
  });

  it('refuses both methods at once, and a form id that differs from the Basic one, with invalid_request', () => {
    const header = basic('a', 'b');
    expect(thrown(() => presentedCredentials(header, { client_secret: 'b' }))).toMatchObject({ statusCode: 400, error: 'invalid_request' });
    expect(thrown(() => presentedCredentials(header, { client_id: 'other' }))).toMatchObject({ statusCode: 400, error: 'invalid_request' });
    expect(presentedCredentials(header, { client_id: 'a' })).toMatchObject({ clientId: 'a', method: 'client_secret_basic' });
  });

  it('refuses a Basic value without a colon or with broken percent-encoding with invalid_client', () => {
    expect(thrown(() => presentedCredentials(`Basic ${Buffer.from('nocolon').toString('base64')}`, {}))).toMatchObject({
      statusCode: 401,
      error: 'invalid_client',
    });
    expect(thrown(() => presentedCredentials(`Basic ${Buffer.from('a:%E0%A4%A').toString('base64')}`, {}))).toMatchObject({
      statusCode: 401,
      error: 'invalid_client',
    });
  });
});
