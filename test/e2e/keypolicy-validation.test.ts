// KeyPolicy manifests against the real API server: what its CRD's schema and CEL rules can say is refused at apply
// time with a sentence a person can act on; valid policies are stored and listed with their printer columns. And every
// manifest in examples/ applies.
import { readdirSync, readFileSync } from 'node:fs';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envtestBinDir, freshNamespace, kubeConfig, kubeconfigPath } from '../support/e2e.js';
import { applyCrds } from '../support/operator-stack.js';
import { kubectl, refusal } from './helpers.js';

const EXAMPLES = new URL('../../examples/', import.meta.url);
const POLICY = { group: 'gatehouse.dev', version: 'v1alpha1', plural: 'keypolicies' } as const;
const valid = { selector: { matchLabels: { 'gatehouse.dev/rotation': 'often' } }, rotationInterval: '720h', gracePeriod: '1h' };

describe('KeyPolicy validation at apply time', () => {
  const kc = kubeConfig();
  const custom = kc.makeApiClient(CustomObjectsApi);
  let namespace: string;

  beforeAll(async () => {
    await applyCrds(kc);
    namespace = await freshNamespace(kc, 'kp-valid');
  });

  const create = (name: string, spec: object) =>
    custom.createNamespacedCustomObject({ ...POLICY, namespace, body: { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'KeyPolicy', metadata: { name }, spec } });

  it.each([
    {
      what: 'a grace period as long as the interval',
      spec: { ...valid, rotationInterval: '24h', gracePeriod: '24h' },
      message: 'gracePeriod must be shorter than rotationInterval',
    },
    {
      what: 'a grace period longer than the interval, in other units',
      spec: { ...valid, rotationInterval: '90m', gracePeriod: '2h' },
      message: 'gracePeriod must be shorter than rotationInterval',
    },
    {
      what: 'a duration in words',
      spec: { ...valid, rotationInterval: '30 days' },
      message: 'spec.rotationInterval: Invalid value: "string": must be a duration such as 30m, 12h or 720h',
    },
    {
      what: 'a duration with days',
      spec: { ...valid, gracePeriod: '1d' },
      message: 'spec.gracePeriod: Invalid value: "string": must be a duration such as 30m, 12h or 720h',
    },
    {
      what: 'an interval below 10s',
      spec: { ...valid, rotationInterval: '5s', gracePeriod: '1s' },
      message: 'spec.rotationInterval: Invalid value: "string": must be at least 10s',
    },
    {
      what: 'an interval above a year',
      spec: { ...valid, rotationInterval: '9000h' },
      message: 'spec.rotationInterval: Invalid value: "string": must be at most 8760h',
    },
    {
      what: 'an empty selector',
      spec: { ...valid, selector: {} },
      message: 'selector must not be empty: an empty selector would govern every OAuth2Client in the namespace',
    },
    {
      what: 'an empty matchLabels',
      spec: { ...valid, selector: { matchLabels: {} } },
      message: 'selector must not be empty',
    },
    {
      what: 'an In expression without values',
      spec: { ...valid, selector: { matchExpressions: [{ key: 'tier', operator: 'In' }] } },
      message: 'In and NotIn need values; Exists and DoesNotExist take none',
    },
    {
      what: 'one key name for the client id and the secret',
      spec: { ...valid, secretTemplate: { clientIdKey: 'CREDENTIAL', clientSecretKey: 'CREDENTIAL' } },
      message: 'clientIdKey and clientSecretKey must differ',
    },
    {
      what: 'a rotation annotation the operator keeps its records in',
      spec: { ...valid, rotationAnnotations: { 'gatehouse.dev/rotated-at': '2099-01-01T00:00:00Z' } },
      message: "must not set the operator's own annotations (gatehouse.dev/rotated-at, gatehouse.dev/rotation-answered",
    },
    {
      what: 'a template annotation the operator keeps its records in',
      spec: { ...valid, secretTemplate: { annotations: { 'gatehouse.dev/credential-keys': 'x' } } },
      message: "must not set the operator's own annotations",
    },
    {
      what: 'the operator’s own annotation as the hashAnnotation',
      spec: { ...valid, secretTemplate: { hashAnnotation: 'gatehouse.dev/rotated-at' } },
      message: 'spec.secretTemplate.hashAnnotation: Invalid value: "string": must not set the operator\'s own annotations',
    },
    {
      what: 'a hashAnnotation that is no annotation key',
      spec: { ...valid, secretTemplate: { hashAnnotation: 'not a key!' } },
      message: 'must be annotation keys',
    },
    { what: 'no gracePeriod', spec: { selector: valid.selector, rotationInterval: '720h' }, message: 'spec.gracePeriod: Required value' },
    {
      what: 'a whenReleased outside the enum',
      spec: { ...valid, whenReleased: 'delete' },
      message: 'spec.whenReleased: Unsupported value: "delete": supported values: "keep", "rotate"',
    },
  ])('refuses $what with 422 and a sentence', async ({ spec, message }) => {
    const refused = await refusal(create('invalid', spec));
    expect(refused.code).toBe(422);
    expect(refused.message).toContain(message);
  });

  it('stores a valid policy with its defaults, lists it by its short name with its columns', async () => {
    const created = (await create('often', valid)) as { spec: { whenReleased: string } };
    expect(created.spec.whenReleased).toBe('keep');
    const listed = await kubectl(envtestBinDir(), kubeconfigPath(), ['get', 'kp', '-n', namespace]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^NAME\s+CLIENTS\s+NEXT ROTATION\s+READY\s+AGE$/);
    expect(listed.stdout).toContain('often');
  });

  it('kubectl apply of an invalid policy prints the rule and creates nothing', async () => {
    const manifest = JSON.stringify({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'KeyPolicy',
      metadata: { name: 'too-long-grace', namespace },
      spec: { ...valid, rotationInterval: '1h', gracePeriod: '2h' },
    });
    const result = await kubectl(envtestBinDir(), kubeconfigPath(), ['apply', '-f', '-'], manifest);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('The KeyPolicy "too-long-grace" is invalid');
    expect(result.stderr).toContain('gracePeriod must be shorter than rotationInterval');
  });
});

describe('examples/', () => {
  const files = readdirSync(EXAMPLES).filter((name) => name.endsWith('.yaml'));
  const applied: string[] = [];

  afterAll(async () => {
    for (const file of applied) await kubectl(envtestBinDir(), kubeconfigPath(), ['delete', '--wait=false', '-f', new URL(file, EXAMPLES).pathname]);
  });

  it('has OAuth2Client and KeyPolicy manifests', () => {
    const kinds = files.map((file) => /^kind: (\w+)$/m.exec(readFileSync(new URL(file, EXAMPLES), 'utf8'))?.[1]);
    expect(new Set(kinds)).toEqual(new Set(['OAuth2Client', 'KeyPolicy']));
  });

  it.each(files)('%s applies', async (file) => {
    await applyCrds(kubeConfig());
    const result = await kubectl(envtestBinDir(), kubeconfigPath(), ['apply', '-f', new URL(file, EXAMPLES).pathname]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/ created$| configured$| unchanged$/m);
    applied.push(file);
  });
});
