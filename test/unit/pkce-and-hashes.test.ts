// The small security primitives of the browser flows, against published examples where there are some: PKCE (RFC
// 7636 Appendix B), at_hash/c_hash (OpenID Connect Core Appendix A.3 and A.4), the escaping of the error page, and
// the claims a consent app may not set in ID tokens.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { consentAcceptanceSchema, RESERVED_ID_TOKEN_CLAIMS } from '../../src/contract/consent.js';
import { escapeHtml } from '../../src/server/html.js';
import { leftHalfHash } from '../../src/server/oauth2/id-token.js';
import { isS256Challenge, verifierMatches } from '../../src/server/oauth2/pkce.js';

// RFC 7636 Appendix B.
const RFC_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const RFC_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

/** The S256 challenge of any string, computed here independently of the code under test. */
const s256 = (verifier: string) => createHash('sha256').update(verifier, 'utf8').digest('base64url');

describe('verifierMatches (PKCE S256)', () => {
  it('matches the RFC 7636 Appendix B example', () => {
    expect(s256(RFC_VERIFIER)).toBe(RFC_CHALLENGE);
    expect(verifierMatches(RFC_VERIFIER, RFC_CHALLENGE)).toBe(true);
  });

  it('refuses a wrong verifier of the right form', () => {
    const changed = `${RFC_VERIFIER.slice(0, -1)}j`;
    expect(verifierMatches(changed, RFC_CHALLENGE)).toBe(false);
    expect(verifierMatches(RFC_VERIFIER.toUpperCase(), RFC_CHALLENGE)).toBe(false);
  });

  it('refuses the verifier against another challenge, and the challenge itself as verifier (plain)', () => {
    expect(verifierMatches(RFC_VERIFIER, s256('another-verifier-of-enough-length-0123456789'))).toBe(false);
    expect(verifierMatches(RFC_VERIFIER, `${RFC_CHALLENGE}=`)).toBe(false);
    expect(verifierMatches(RFC_VERIFIER, '')).toBe(false);
    expect(verifierMatches(RFC_CHALLENGE, RFC_CHALLENGE)).toBe(false);
    expect(verifierMatches(RFC_VERIFIER, RFC_VERIFIER)).toBe(false);
  });

  it('accepts verifiers of 43 and 128 characters, using every unreserved character', () => {
    const unreserved = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';
    for (const verifier of [unreserved.slice(0, 43), unreserved, unreserved.repeat(2).slice(0, 128), 'a'.repeat(43), '~'.repeat(128)]) {
      expect(verifierMatches(verifier, s256(verifier)), verifier).toBe(true);
    }
  });

  // Each of these hashes to the challenge given, so only the form of the verifier can refuse it.
  it.each([
    ['too short (42 characters)', 'a'.repeat(42)],
    ['too short (RFC verifier minus one)', RFC_VERIFIER.slice(0, 42)],
    ['too long (129 characters)', 'a'.repeat(129)],
    ['empty', ''],
    ['with +', `${RFC_VERIFIER}+`],
    ['with /', `${RFC_VERIFIER}/`],
    ['with =', `${RFC_VERIFIER}=`],
    ['with a space', `${RFC_VERIFIER} x`],
    ['with a percent-encoding', `${RFC_VERIFIER}%41`],
    ['with a non-ASCII letter', `${RFC_VERIFIER}é`],
    ['with a newline', `${RFC_VERIFIER}\n`],
  ])('refuses a verifier %s, even when the challenge is its hash', (_name, verifier) => {
    expect(verifierMatches(verifier, s256(verifier))).toBe(false);
  });
});

describe('isS256Challenge', () => {
  it.each([
    [RFC_CHALLENGE, true],
    ['A'.repeat(43), true],
    ['-'.repeat(43), true],
    ['_'.repeat(43), true],
    [RFC_CHALLENGE.slice(0, 42), false],
    [`${RFC_CHALLENGE}A`, false],
    [`${RFC_CHALLENGE.slice(0, 42)}=`, false],
    [`${RFC_CHALLENGE.slice(0, 42)}+`, false],
    [`${RFC_CHALLENGE.slice(0, 42)}/`, false],
    [`${RFC_CHALLENGE.slice(0, 42)}.`, false],
    [`${RFC_CHALLENGE.slice(0, 42)}~`, false],
    ['', false],
  ])('%j → %s', (challenge, expected) => {
    expect(isS256Challenge(challenge)).toBe(expected);
  });
});

describe('leftHalfHash (at_hash and c_hash for RS256)', () => {
  it('gives the at_hash of OpenID Connect Core Appendix A.3', () => {
    expect(leftHalfHash('jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y')).toBe('77QmUPtjPfzWtF2AnpK9RQ');
  });

  it('gives the c_hash of OpenID Connect Core Appendix A.4', () => {
    expect(leftHalfHash('Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk')).toBe('LDktKdoQak3Pk0cnXxCltA');
  });

  it('is the base64url of the first 16 bytes of the SHA-256, unpadded', () => {
    // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223 b00361a396177a9cb410ff61f20015ad (FIPS 180-2 Appendix B.1);
    // its first half, ba7816bf…2223, in base64url without padding:
    expect(leftHalfHash('abc')).toBe('ungWv48Bz-pBQUDeXa4iIw');
    expect(Buffer.from('ungWv48Bz-pBQUDeXa4iIw', 'base64url').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223');
  });
});

describe('escapeHtml', () => {
  it.each([
    ['&', '&amp;'],
    ['<', '&lt;'],
    ['>', '&gt;'],
    ['"', '&quot;'],
    ["'", '&#39;'],
  ])('escapes %s', (character, entity) => {
    expect(escapeHtml(character)).toBe(entity);
    expect(escapeHtml(`a${character}b${character}`)).toBe(`a${entity}b${entity}`);
  });

  it('escapes every special character of a string, each once', () => {
    expect(escapeHtml(`<img src="x" onerror='alert(1)'>&amp;`)).toBe('&lt;img src=&quot;x&quot; onerror=&#39;alert(1)&#39;&gt;&amp;amp;');
  });

  it('leaves everything else as it is', () => {
    const plain = 'The client is unknown: ünïcödé / ` = ; # % 日本語 \\ \n\t';
    expect(escapeHtml(plain)).toBe(plain);
    expect(escapeHtml('')).toBe('');
  });
});

describe('consentAcceptanceSchema: reserved ID-token claims', () => {
  // What the server sets in every ID token or may set later; written out here so that dropping one from the list
  // fails this test.
  const RESERVED = ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'auth_time', 'rat', 'nonce', 'at_hash', 'c_hash', 'azp', 'jti', 'acr', 'amr'];

  it('reserves every claim the server sets', () => {
    expect([...RESERVED_ID_TOKEN_CLAIMS].sort()).toEqual([...RESERVED].sort());
  });

  it.each(RESERVED.map((claim) => [claim]))('refuses idTokenExtra.%s', (claim) => {
    const result = consentAcceptanceSchema.safeParse({ subject: 'alice', idTokenExtra: { email: 'alice@example.com', [claim]: 'forged' } });
    expect(result.success).toBe(false);
    const issues = result.error!.issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toEqual(['idTokenExtra']);
    expect(issues[0]!.message).toBe(`must not set the claims the server sets: ${claim}`);
  });

  it('names every reserved claim it refuses', () => {
    const result = consentAcceptanceSchema.safeParse({ subject: 'alice', idTokenExtra: { sub: 'mallory', name: 'Alice', aud: 'x', nonce: 'n' } });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.message).toBe('must not set the claims the server sets: sub, aud, nonce');
  });

  it('refuses a reserved claim whatever its value', () => {
    for (const value of [null, 0, false, '', {}, [], 'mallory']) {
      expect(consentAcceptanceSchema.safeParse({ subject: 'alice', idTokenExtra: { sub: value } }).success, JSON.stringify(value)).toBe(false);
    }
  });

  it('accepts other claims, kept as given', () => {
    const idTokenExtra = {
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice',
      preferred_username: 'alice',
      groups: ['admin'],
      address: { country: 'NZ' },
      // Claim names are case-sensitive: these are not the reserved ones.
      SUB: 'x',
      Iss: 'y',
      // Near misses.
      sub_id: 'z',
      issuer: 'w',
      session_nonce: 'v',
    };
    const result = consentAcceptanceSchema.safeParse({ subject: 'alice', grantScopes: ['openid'], idTokenExtra });
    expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
    expect(result.data!.idTokenExtra).toEqual(idTokenExtra);
  });

  it('defaults idTokenExtra to none, and leaves accessTokenExtra unrestricted', () => {
    const result = consentAcceptanceSchema.parse({ subject: 'alice', accessTokenExtra: { tenant: 'acme' } });
    expect(result).toEqual({ subject: 'alice', grantScopes: [], accessTokenExtra: { tenant: 'acme' }, idTokenExtra: {} });
  });
});
