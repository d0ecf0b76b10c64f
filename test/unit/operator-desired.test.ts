import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withCondition } from '../../src/operator/api/conditions.js';
import { CREDENTIAL_KEYS, type Condition } from '../../src/operator/api/common.js';
import { desiredClient, driftedFields, isPublic, ownerOf } from '../../src/operator/controller/desired.js';
import { LIFESPAN_FIELDS } from '../../src/contract/client-settings.js';
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  controllerReference,
  controls,
  credentialsIn,
  decode,
  desiredSecret,
  keysOf,
  secretUpToDate,
} from '../../src/operator/controller/secret.js';
import type { OAuth2Client } from '../../src/sdk/types.js';
import { clientInputSchema } from '../../src/contract/client.js';
import { ENDPOINTS, b64, oauth2Client, unb64 } from './support/operator-fakes.js';

/** What the real server stores and returns for a body: its own schema normalises (dedupes, defaults). */
function asServerStores(body: ReturnType<typeof desiredClient>): OAuth2Client {
  const parsed = clientInputSchema.parse(body);
  return { ...parsed, id: body.id };
}

describe('ownerOf', () => {
  it('names the resource by namespace and name (not uid, so a re-applied resource owns its client again)', () => {
    expect(ownerOf(oauth2Client({}, { namespace: 'team-a', name: 'shop', uid: 'one' }))).toBe('gatehouse.dev/team-a/shop');
    expect(ownerOf(oauth2Client({}, { namespace: 'team-a', name: 'shop', uid: 'two' }))).toBe('gatehouse.dev/team-a/shop');
  });

  it('stays within the server owner limit of 255 characters, deterministic and distinct for long names', () => {
    const long = (name: string) => ownerOf(oauth2Client({}, { namespace: 'n'.repeat(63), name }));
    const a = long('a'.repeat(253));
    const b = long(`${'a'.repeat(252)}b`);
    expect(a.length).toBeLessThanOrEqual(255);
    expect(a).toMatch(/^gatehouse\.dev\/n+\/a+#[0-9a-f]{32}$/);
    expect(long('a'.repeat(253))).toBe(a);
    expect(b).not.toBe(a);
    // Short names are never hashed.
    expect(ownerOf(oauth2Client({}, { name: 'x'.repeat(100) }))).not.toContain('#');
  });
});

describe('isPublic', () => {
  it('is true only for tokenEndpointAuthMethod none', () => {
    expect(isPublic(oauth2Client({ tokenEndpointAuthMethod: 'none' }).spec)).toBe(true);
    expect(isPublic(oauth2Client({ tokenEndpointAuthMethod: 'client_secret_post' }).spec)).toBe(false);
    expect(isPublic(oauth2Client().spec)).toBe(false);
  });
});

describe('desiredClient', () => {
  it('fills every field the server has, with the server defaults for what the spec leaves out', () => {
    const resource = oauth2Client({ clientName: undefined, scope: undefined, grantTypes: ['client_credentials'] });
    expect(desiredClient(resource, 'id-1')).toEqual({
      id: 'id-1',
      client_name: '',
      redirect_uris: [],
      grant_types: ['client_credentials'],
      response_types: ['code'],
      scope: '',
      owner: 'gatehouse.dev/team-a/shop',
      policy_uri: '',
      tos_uri: '',
      client_uri: '',
      logo_uri: '',
      contacts: [],
      public: false,
      audience: [],
      allowed_cors_origins: [],
      post_logout_redirect_uris: [],
      skip_consent: false,
      ...Object.fromEntries(LIFESPAN_FIELDS.map((field) => [field, null])),
    });
  });

  it('maps every spec field to the server field of the same meaning (hydra-maester names)', () => {
    const resource = oauth2Client({
      clientName: 'Web',
      grantTypes: ['authorization_code', 'refresh_token'],
      responseTypes: ['code', 'code id_token'],
      redirectUris: ['https://app.example/cb'],
      scope: 'openid offline',
      policyUri: 'https://app.example/policy',
      tosUri: 'https://app.example/tos',
      clientUri: 'https://app.example',
      logoUri: 'https://app.example/logo.png',
      contacts: ['ops@app.example'],
      tokenEndpointAuthMethod: 'none',
      metadata: { team: 'a' },
    });
    const desired = desiredClient(resource, 'web');
    expect(desired).toMatchObject({
      client_name: 'Web',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code', 'code id_token'],
      redirect_uris: ['https://app.example/cb'],
      scope: 'openid offline',
      policy_uri: 'https://app.example/policy',
      tos_uri: 'https://app.example/tos',
      client_uri: 'https://app.example',
      logo_uri: 'https://app.example/logo.png',
      contacts: ['ops@app.example'],
      public: true,
    });
    // The server has no metadata field and the secret travels separately.
    expect(desired).not.toHaveProperty('metadata');
    expect(desired).not.toHaveProperty('client_secret');
  });

  it('an empty responseTypes list means the server default, code', () => {
    expect(desiredClient(oauth2Client({ responseTypes: [] }), 'x').response_types).toEqual(['code']);
  });
});

describe('driftedFields', () => {
  const resource = oauth2Client({
    grantTypes: ['authorization_code', 'refresh_token'],
    redirectUris: ['https://a.example/cb', 'https://b.example/cb'],
    contacts: ['x@example.test'],
  });
  const desired = desiredClient(resource, 'id-1');

  it('is empty when the server holds exactly the desired client', () => {
    expect(driftedFields(desired, { ...desired })).toEqual([]);
  });

  it('ignores list order, which the server may change', () => {
    const actual = { ...desired, grant_types: ['refresh_token', 'authorization_code'], redirect_uris: ['https://b.example/cb', 'https://a.example/cb'] };
    expect(driftedFields(desired, actual)).toEqual([]);
  });

  it('names each field that differs', () => {
    const actual: OAuth2Client = {
      ...desired,
      scope: 'admin',
      client_name: 'Renamed',
      public: true,
      redirect_uris: ['https://a.example/cb'],
      owner: 'someone',
    };
    expect(driftedFields(desired, actual)).toEqual(['client_name', 'redirect_uris', 'scope', 'owner', 'public']);
  });

  it('treats a missing list on the server as drift', () => {
    const actual = { ...desired } as Partial<OAuth2Client>;
    delete actual.contacts;
    expect(driftedFields(desired, actual as OAuth2Client)).toEqual(['contacts']);
  });

  it('a list with the same length but another member is drift', () => {
    expect(driftedFields(desired, { ...desired, grant_types: ['authorization_code', 'implicit'] })).toEqual(['grant_types']);
  });

  // What the real server stores must compare equal to what was sent, or every reconcile (and every resync) would
  // write again. The server dedupes redirect_uris, grant_types and response_types; the CRD does not forbid
  // duplicates (no listType: set), so a manifest with a repeated entry must still reach a steady state.
  it.each([
    ['plain', {}],
    ['duplicate redirect URIs', { grantTypes: ['authorization_code'], redirectUris: ['https://a.example/cb', 'https://a.example/cb'] }],
    ['duplicate grant types', { grantTypes: ['client_credentials', 'client_credentials'] }],
    ['duplicate response types', { grantTypes: ['authorization_code'], redirectUris: ['https://a.example/cb'], responseTypes: ['code', 'code'] }],
    ['duplicate contacts (kept by the server)', { contacts: ['a@example.test', 'a@example.test'] }],
    [
      'every response type',
      {
        grantTypes: ['implicit', 'authorization_code'],
        redirectUris: ['https://a.example/cb'],
        responseTypes: ['code', 'token', 'id_token', 'code token', 'code id_token', 'id_token token', 'code id_token token'],
      },
    ],
  ] as const)('no drift against what the server stores for it: %s', (_name, spec) => {
    const wanted = desiredClient(oauth2Client(spec as never), 'id-1');
    expect(driftedFields(wanted, asServerStores(wanted))).toEqual([]);
  });
});

describe('Secret helpers', () => {
  it('keysOf: CLIENT_ID / CLIENT_SECRET unless the template renames them', () => {
    expect(keysOf(oauth2Client())).toEqual({ idKey: 'CLIENT_ID', secretKey: 'CLIENT_SECRET' });
    expect(keysOf(oauth2Client({ secretTemplate: { clientIdKey: 'id', clientSecretKey: 'secret' } }))).toEqual({ idKey: 'id', secretKey: 'secret' });
  });

  it('decode: base64 data to text; undefined for a missing key or Secret', () => {
    const secret: V1Secret = { data: { A: b64('hällo') } };
    expect(decode(secret, 'A')).toBe('hällo');
    expect(decode(secret, 'B')).toBeUndefined();
    expect(decode(undefined, 'A')).toBeUndefined();
  });

  it('credentialsIn: reads the template keys; empty values count as absent', () => {
    const resource = oauth2Client({ secretTemplate: { clientIdKey: 'id', clientSecretKey: 'secret' } });
    expect(credentialsIn(resource, { data: { id: b64('abc'), secret: b64('s3cret') } })).toEqual({ clientId: 'abc', clientSecret: 's3cret' });
    expect(credentialsIn(resource, { data: { id: b64(''), secret: '' } })).toEqual({ clientId: undefined, clientSecret: undefined });
    expect(credentialsIn(resource, { data: { CLIENT_ID: b64('abc') } })).toEqual({ clientId: undefined, clientSecret: undefined });
    expect(credentialsIn(resource, undefined)).toEqual({ clientId: undefined, clientSecret: undefined });
  });

  it('controllerReference: a controller reference that blocks owner deletion', () => {
    expect(controllerReference(oauth2Client({}, { uid: 'u-1', name: 'shop' }))).toEqual({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'OAuth2Client',
      name: 'shop',
      uid: 'u-1',
      controller: true,
      blockOwnerDeletion: true,
    });
  });

  it('controls: only a controller reference with this uid counts', () => {
    const resource = oauth2Client({}, { uid: 'u-1' });
    const withRefs = (ownerReferences: V1OwnerReference[]): V1Secret => ({ metadata: { ownerReferences } });
    expect(controls(resource, withRefs([controllerReference(resource)]))).toBe(true);
    expect(controls(resource, withRefs([{ ...controllerReference(resource), controller: false }]))).toBe(false);
    expect(controls(resource, withRefs([{ ...controllerReference(resource), uid: 'u-2' }]))).toBe(false);
    expect(controls(resource, { metadata: {} })).toBe(false);
  });

  describe('desiredSecret', () => {
    it('holds the credentials base64-encoded, is owned by the resource and labelled as managed', () => {
      const resource = oauth2Client({}, { uid: 'u-1' });
      const secret = desiredSecret(resource, { clientId: 'id-1', clientSecret: 'sec-1' }, ENDPOINTS);
      expect(secret).toEqual({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: {
          name: 'shop-credentials',
          namespace: 'team-a',
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
          annotations: { [CREDENTIAL_KEYS]: 'CLIENT_ID,CLIENT_SECRET' },
          ownerReferences: [controllerReference(resource)],
        },
        data: { CLIENT_ID: b64('id-1'), CLIENT_SECRET: b64('sec-1') },
      });
    });

    it('never lets an extra key take the place of a credential', () => {
      const resource = oauth2Client({ secretTemplate: { clientSecretKey: 'TOKEN_URL', extraKeys: { TOKEN_URL: 'tokenEndpoint', ISSUER: 'issuerUrl' } } });
      const secret = desiredSecret(resource, { clientId: 'id-1', clientSecret: 'sec-1' }, ENDPOINTS);
      expect(unb64(secret.data!.TOKEN_URL)).toBe('sec-1');
      expect(unb64(secret.data!.ISSUER)).toBe(ENDPOINTS.issuerUrl);
    });

    it('a public client gets no secret key', () => {
      const secret = desiredSecret(oauth2Client({ tokenEndpointAuthMethod: 'none' }), { clientId: 'id-1' }, ENDPOINTS);
      expect(Object.keys(secret.data ?? {})).toEqual(['CLIENT_ID']);
    });

    it('applies the template: key names, labels, annotations and extra keys from the server endpoints and the spec', () => {
      const resource = oauth2Client({
        clientName: 'Shop',
        scope: 'a b',
        secretTemplate: {
          clientIdKey: 'client-id',
          clientSecretKey: 'client-secret',
          labels: { team: 'a', [MANAGED_BY_LABEL]: 'someone-else' },
          annotations: { 'reloader.example/match': 'true' },
          extraKeys: {
            ISSUER: 'issuerUrl',
            TOKEN_URL: 'tokenEndpoint',
            AUTH_URL: 'authorizationEndpoint',
            INTROSPECT: 'introspectionEndpoint',
            JWKS: 'jwksUri',
            NAME: 'clientName',
            SCOPE: 'scope',
          },
        },
      });
      const secret = desiredSecret(resource, { clientId: 'id-1', clientSecret: 'sec-1' }, ENDPOINTS);
      const text = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, unb64(v)]));
      expect(text).toEqual({
        'client-id': 'id-1',
        'client-secret': 'sec-1',
        ISSUER: ENDPOINTS.issuerUrl,
        TOKEN_URL: ENDPOINTS.tokenEndpoint,
        AUTH_URL: ENDPOINTS.authorizationEndpoint,
        INTROSPECT: ENDPOINTS.introspectionEndpoint,
        JWKS: ENDPOINTS.jwksUri,
        NAME: 'Shop',
        SCOPE: 'a b',
      });
      // The managed-by label is what the operator's Secret informer selects on: a template cannot take it away.
      expect(secret.metadata?.labels).toEqual({ team: 'a', [MANAGED_BY_LABEL]: MANAGED_BY });
      expect(secret.metadata?.annotations).toEqual({ 'reloader.example/match': 'true', [CREDENTIAL_KEYS]: 'client-id,client-secret' });
    });
  });

  describe('secretUpToDate', () => {
    const resource = oauth2Client({ secretTemplate: { labels: { team: 'a' }, annotations: { note: 'x' } } });
    const desired = desiredSecret(resource, { clientId: 'id-1', clientSecret: 'sec-1' }, ENDPOINTS);
    const copy = (): V1Secret => structuredClone(desired);

    it('is true for an identical Secret', () => {
      expect(secretUpToDate(copy(), desired)).toBe(true);
    });

    it('keeps labels and annotations others added (no write for them)', () => {
      const existing = copy();
      existing.metadata!.labels!['argocd.argoproj.io/instance'] = 'shop';
      existing.metadata!.annotations!['kubectl.kubernetes.io/last-applied-configuration'] = '{}';
      expect(secretUpToDate(existing, desired)).toBe(true);
    });

    it('is false for a Secret written before the operator recorded its key names, so the record gets written', () => {
      const bare = desiredSecret(oauth2Client(), { clientId: 'id-1', clientSecret: 'sec-1' }, ENDPOINTS);
      const existing = structuredClone(bare);
      delete existing.metadata!.annotations;
      expect(secretUpToDate(existing, bare)).toBe(false);
    });

    it.each([
      ['a credential differs', (s: V1Secret) => (s.data!.CLIENT_SECRET = b64('other'))],
      ['a credential is missing', (s: V1Secret) => delete s.data!.CLIENT_SECRET],
      ['a data key nobody asked for was added', (s: V1Secret) => (s.data!.EXTRA = b64('x'))],
      ['a template label differs', (s: V1Secret) => (s.metadata!.labels!.team = 'b')],
      ['the managed-by label is gone', (s: V1Secret) => delete s.metadata!.labels![MANAGED_BY_LABEL]],
      ['a template annotation differs', (s: V1Secret) => (s.metadata!.annotations!.note = 'y')],
    ])('is false when %s', (_name, change) => {
      const existing = copy();
      change(existing);
      expect(secretUpToDate(existing, desired)).toBe(false);
    });
  });
});

describe('withCondition', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const at = (iso: string) => () => new Date(iso);
  const ready = (status: Condition['status'], reason: string, message = reason, observedGeneration?: number) => ({
    type: 'Ready',
    status,
    reason,
    message,
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
  });

  it('adds the condition with a transition time in whole seconds (metav1.Time)', () => {
    const conditions = withCondition(undefined, ready('True', 'Reconciled', 'ok', 3), at('2025-03-04T05:06:07.891Z'));
    expect(conditions).toEqual([
      { type: 'Ready', status: 'True', observedGeneration: 3, lastTransitionTime: '2025-03-04T05:06:07Z', reason: 'Reconciled', message: 'ok' },
    ]);
  });

  it('uses the clock when none is given', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-06-01T12:00:00.500Z'));
    expect(withCondition([], ready('False', 'InvalidSpec'))[0]?.lastTransitionTime).toBe('2025-06-01T12:00:00Z');
  });

  it('keeps lastTransitionTime when the status stays the same, even if reason and message change', () => {
    const first = withCondition(undefined, ready('False', 'InvalidSpec'), at('2025-01-01T00:00:00Z'));
    const second = withCondition(first, ready('False', 'ServerUnavailable', 'down'), at('2025-01-02T00:00:00Z'));
    expect(second).toEqual([{ type: 'Ready', status: 'False', lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'ServerUnavailable', message: 'down' }]);
  });

  it('sets a new lastTransitionTime when the status changes', () => {
    const first = withCondition(undefined, ready('False', 'ServerUnavailable'), at('2025-01-01T00:00:00Z'));
    const second = withCondition(first, ready('True', 'Reconciled'), at('2025-01-02T00:00:00Z'));
    expect(second[0]?.lastTransitionTime).toBe('2025-01-02T00:00:00Z');
  });

  it('is idempotent: the same input gives an identical list (so the status is not written again)', () => {
    const first = withCondition(undefined, ready('True', 'Reconciled', 'ok', 2), at('2025-01-01T00:00:00Z'));
    expect(withCondition(first, ready('True', 'Reconciled', 'ok', 2), at('2025-02-01T00:00:00Z'))).toEqual(first);
  });

  it('leaves other condition types alone and does not mutate its input', () => {
    const other: Condition = { type: 'PolicyResolved', status: 'True', lastTransitionTime: '2024-01-01T00:00:00Z', reason: 'One', message: 'one policy' };
    const before = [other, { type: 'Ready', status: 'False', lastTransitionTime: '2024-01-01T00:00:00Z', reason: 'X', message: 'x' } as Condition];
    const snapshot = structuredClone(before);
    const after = withCondition(before, ready('True', 'Reconciled'), at('2025-01-01T00:00:00Z'));
    expect(before).toEqual(snapshot);
    expect(after.map((c) => c.type)).toEqual(['PolicyResolved', 'Ready']);
    expect(after[0]).toBe(other);
  });

  it('omits observedGeneration when unknown instead of writing undefined', () => {
    const [condition] = withCondition(undefined, ready('True', 'Reconciled'), at('2025-01-01T00:00:00Z'));
    expect(condition).not.toHaveProperty('observedGeneration');
  });
});
