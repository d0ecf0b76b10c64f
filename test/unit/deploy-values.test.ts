// The chart's values schema (src/deploy/values.ts): its defaults, what it refuses and why, and the JSON Schema helm
// receives. test/e2e/chart.test.ts gives the same refused values to real helm.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { at, jsonSchemaOf, RULES, satisfies } from '../../src/deploy/rules.js';
import { defaultValues, MANAGED_SETTINGS, valuesSchema } from '../../src/deploy/values.js';
import { configKeys } from '../../src/config/schema.js';
import { leaseRulesFor, LEASE_NAME, leaseRules } from '../../src/operator/rbac.js';
import { valuesJsonSchema, valuesYaml } from '../../scripts/chart-values.js';
import { REFUSED } from '../support/chart-cases.js';

describe('chart values', () => {
  it('default to one server on SQLite with a volume and two operators under leader election', () => {
    const values = defaultValues();
    expect(values.database.type).toBe('sqlite');
    expect(values.server).toMatchObject({ enabled: true, replicas: 1, persistence: { enabled: true } });
    expect(values.operator).toMatchObject({ enabled: true, replicas: 2, leaderElection: true, watchNamespaces: [] });
    expect(values.image).toEqual({ repository: 'docker.io/library/gatehouse', tag: '', pullPolicy: 'IfNotPresent' });
    expect(values.containerSecurityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('values.yaml holds exactly the defaults, each documented key with its description above it', () => {
    const text = valuesYaml();
    expect(parse(text)).toEqual(defaultValues());
    expect(text).toContain('  # More than one needs database.type=postgres.\n  replicas: 1\n');
    expect(text).toContain(
      '  # sqlite: one replica, file on server.persistence. postgres: any number of replicas. One of: sqlite, postgres.\n  type: sqlite\n',
    );
  });

  it('accepts the combinations the chart is meant for', () => {
    const accepted = [
      { database: { type: 'postgres', dsn: 'postgres://gatehouse:secret@db:5432/gatehouse' }, server: { replicas: 3 } },
      { database: { type: 'postgres', existingSecret: 'gatehouse-db' }, server: { autoscaling: { enabled: true } } },
      { server: { existingSecret: 'gatehouse-own', issuer: 'https://auth.example.com', consentUrl: 'https://login.example.com/consent' } },
      { operator: { watchNamespaces: ['team-a', 'team-b'], replicas: 1, leaderElection: false } },
      { server: { enabled: false }, operator: { serverUrl: 'https://auth.example.com', credentials: { existingSecret: 'admin' } } },
      { server: { ingress: { enabled: true, host: 'auth.example.com', tlsSecret: 'auth-tls' } } },
      { server: { settings: { ACCESS_TOKEN_LIFESPAN: '30m', CORS_ENABLED: true, BODY_LIMIT: 65536 } } },
    ] as const;
    for (const values of accepted) expect(valuesSchema.safeParse(values).error?.issues ?? [], JSON.stringify(values)).toEqual([]);
  });

  for (const refused of REFUSED) {
    it(`refuses ${refused.name}, naming the problem`, () => {
      const result = valuesSchema.safeParse(refused.values);
      expect(result.success).toBe(false);
      const issues = result.error!.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
      expect(issues).toContainEqual(refused.zod);
    });
  }

  it('lets server.settings hold every server setting but those the chart sets itself', () => {
    const settings = (valuesJsonSchema().properties!.server!.properties!.settings as { propertyNames: { enum: string[] } }).propertyNames.enum;
    expect([...settings, ...MANAGED_SETTINGS].sort()).toEqual([...configKeys].sort());
    expect(settings).not.toContain('SYSTEM_SECRET');
  });
});

describe('values.schema.json', () => {
  const schema = valuesJsonSchema();

  it('is draft-07 (helm 3 and 4 both validate it), closed to unknown keys, and carries every rule', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties!.server!.additionalProperties).toBe(false);
    expect(schema.allOf).toEqual(RULES.map(jsonSchemaOf));
  });

  it('states each rule with its message as an alternative that never holds, so helm prints the message', () => {
    for (const rule of RULES) {
      const [first, ...rest] = jsonSchemaOf(rule).anyOf;
      expect(first).toEqual({ required: [rule.message] });
      expect(rest).toEqual(rule.anyOf);
    }
  });

  it('has patterns Go regexp compiles the same way: no lookarounds, no escaped slashes', () => {
    const patterns = JSON.stringify(schema).match(/"pattern":"[^"]*"/g) ?? [];
    expect(patterns.length).toBeGreaterThan(5);
    for (const pattern of patterns) expect(pattern).not.toMatch(/\(\?[=!<]|\\\\\//);
  });
});

describe('rule fragments', () => {
  it('apply each keyword only to values of its type, as JSON Schema does', () => {
    expect(satisfies({ a: 3 }, at('a', { maximum: 1 }))).toBe(false);
    expect(satisfies({ a: '3' }, at('a', { maximum: 1 }))).toBe(true);
    expect(satisfies({}, at('a', { const: true }))).toBe(true);
    expect(satisfies({ a: 'é' }, at('a', { maxLength: 1 }))).toBe(true);
    expect(satisfies({ a: '' }, { anyOf: [at('a', { minLength: 1 }), at('b', { const: 1 })] })).toBe(true);
    expect(satisfies({ a: '', b: 2 }, { anyOf: [at('a', { minLength: 1 }), at('b', { const: 1 })] })).toBe(false);
  });
});

describe('operator RBAC source', () => {
  it('names the Lease only in the rules a name can narrow', () => {
    expect(leaseRules.find((rule) => rule.verbs.includes('create'))?.resourceNames).toBeUndefined();
    const named = leaseRulesFor('gatehouse-operator');
    expect(named).toContainEqual({
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      verbs: ['get', 'update'],
      resourceNames: ['gatehouse-operator'],
    });
    expect(JSON.stringify(named)).not.toContain(LEASE_NAME);
  });
});
