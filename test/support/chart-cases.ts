// Values the chart must refuse, shared by the zod schema's unit test and the e2e test that gives them to real helm:
// both sides of src/deploy/values.ts (zod, and values.schema.json as helm reads it) refuse each one, each in its
// own words.
import { RULES } from '../../src/deploy/rules.js';
import type { ValuesInput } from '../../src/deploy/values.js';

export interface RefusedValues {
  name: string;
  values: ValuesInput;
  /** zod's issue. */
  zod: { path: string; message: string };
  /** What helm's error must say. */
  helm: string[];
}

function ruleMessage(path: string): string {
  const rule = RULES.find((candidate) => candidate.path.join('.') === path);
  if (!rule) throw new Error(`no rule at ${path}`);
  return rule.message;
}

const URL_MESSAGE = 'must be an absolute http(s) URL, or empty';

export const REFUSED: RefusedValues[] = [
  {
    name: 'several server replicas on SQLite',
    values: { server: { replicas: 3 } },
    zod: { path: 'server.replicas', message: ruleMessage('server.replicas') },
    helm: [ruleMessage('server.replicas'), "at '/database/type': value must be 'postgres'", "at '/server/replicas': maximum: got 3, want 1"],
  },
  {
    name: 'autoscaling on SQLite',
    values: { server: { autoscaling: { enabled: true } } },
    zod: { path: 'server.autoscaling.enabled', message: ruleMessage('server.autoscaling.enabled') },
    helm: [ruleMessage('server.autoscaling.enabled'), "at '/server/autoscaling/enabled': value must be false"],
  },
  {
    name: 'PostgreSQL without a DSN',
    values: { database: { type: 'postgres' }, server: { replicas: 3 } },
    zod: { path: 'database.dsn', message: ruleMessage('database.dsn') },
    helm: [ruleMessage('database.dsn'), "at '/database/dsn': minLength: got 0, want 1", "at '/database/existingSecret': minLength: got 0, want 1"],
  },
  {
    name: 'a DSN with SQLite',
    values: { database: { dsn: 'postgres://gatehouse:secret@db:5432/gatehouse' } },
    zod: { path: 'database.type', message: ruleMessage('database.type') },
    helm: [ruleMessage('database.type'), "at '/database/type': value must be 'postgres'"],
  },
  {
    name: 'a DSN that is not PostgreSQL',
    values: { database: { type: 'postgres', dsn: 'mysql://db/gatehouse' } },
    zod: { path: 'database.dsn', message: 'must be a postgres:// URL, or empty' },
    helm: ["at '/database/dsn': 'mysql://db/gatehouse' does not match pattern"],
  },
  {
    name: 'an issuer without a scheme',
    values: { server: { issuer: 'auth.example.com' } },
    zod: { path: 'server.issuer', message: URL_MESSAGE },
    helm: ["at '/server/issuer': 'auth.example.com' does not match pattern '^(https?://"],
  },
  {
    name: 'an external server URL that is not http(s)',
    values: { server: { enabled: false }, operator: { serverUrl: 'ftp://auth.example.com', credentials: { existingSecret: 'gatehouse-admin' } } },
    zod: { path: 'operator.serverUrl', message: URL_MESSAGE },
    helm: ["at '/operator/serverUrl': 'ftp://auth.example.com' does not match pattern '^(https?://"],
  },
  {
    name: 'a consent URL with a space',
    values: { server: { consentUrl: 'https://login.example.com/con sent' } },
    zod: { path: 'server.consentUrl', message: URL_MESSAGE },
    helm: ["at '/server/consentUrl': 'https://login.example.com/con sent' does not match pattern"],
  },
  {
    name: 'an external server without credentials',
    values: { server: { enabled: false }, operator: { serverUrl: 'https://auth.example.com' } },
    zod: { path: 'operator.serverUrl', message: ruleMessage('operator.serverUrl') },
    helm: [ruleMessage('operator.serverUrl'), "at '/operator/credentials/existingSecret': minLength: got 0, want 1"],
  },
  {
    name: 'two operator replicas without leader election',
    values: { operator: { leaderElection: false } },
    zod: { path: 'operator.leaderElection', message: ruleMessage('operator.leaderElection') },
    helm: [ruleMessage('operator.leaderElection'), "at '/operator/replicas': maximum: got 2, want 1"],
  },
  {
    name: 'an Ingress without a host',
    values: { server: { ingress: { enabled: true } } },
    zod: { path: 'server.ingress.host', message: ruleMessage('server.ingress.host') },
    helm: [ruleMessage('server.ingress.host')],
  },
  {
    name: 'no ServiceAccount to run the operator as',
    values: { operator: { serviceAccount: { create: false } } },
    zod: { path: 'operator.serviceAccount.name', message: ruleMessage('operator.serviceAccount.name') },
    helm: [ruleMessage('operator.serviceAccount.name'), "at '/operator/serviceAccount/name': minLength: got 0, want 1"],
  },
  {
    name: 'a setting the chart sets itself',
    values: { server: { settings: { ISSUER: 'https://auth.example.com' } } },
    zod: { path: 'server.settings', message: 'Unrecognized key: "ISSUER"' },
    helm: ["invalid propertyName 'ISSUER'"],
  },
  {
    name: 'a misspelt value',
    values: { server: { replica: 2 } as never },
    zod: { path: 'server', message: 'Unrecognized key: "replica"' },
    helm: ["at '/server': additional properties 'replica' not allowed"],
  },
];
