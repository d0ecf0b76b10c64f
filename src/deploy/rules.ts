// Rules between values (several replicas need PostgreSQL, …), written once as JSON Schema so that helm checks them
// from values.schema.json and the zod schema checks the same fragments with `satisfies`. Helm prints no description
// or custom message, only the keywords that failed. So each rule is an anyOf of the ways to satisfy it, which helm
// lists ("/database/type: value must be 'postgres'", "/server/replicas: maximum: got 3, want 1"), led by an
// alternative that can never hold, a required property named by the rule's message: helm prints it first as
// "missing property '<message>'", the sentence a reader needs.

/** The JSON Schema keywords rules may use: the ones `satisfies` evaluates, with JSON Schema's meaning. */
export interface Constraint {
  properties?: Record<string, Constraint>;
  const?: string | number | boolean;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  anyOf?: Constraint[];
}

export interface Rule {
  /** Where zod reports it. */
  path: string[];
  message: string;
  /** The ways to satisfy it. */
  anyOf: Constraint[];
}

/** The rule as values.schema.json states it. */
export function jsonSchemaOf(rule: Rule): { anyOf: object[] } {
  return { anyOf: [{ required: [rule.message] }, ...rule.anyOf] };
}

/** The constraint on the value at a dotted path, nested the way JSON Schema needs it. */
export function at(path: string, constraint: Constraint): Constraint {
  return path
    .split('.')
    .reverse()
    .reduce<Constraint>((inner, key) => ({ properties: { [key]: inner } }), constraint);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON Schema's verdict on the subset in Constraint: each keyword applies only to values of its type. */
export function satisfies(value: unknown, constraint: Constraint): boolean {
  const { properties, anyOf } = constraint;
  if ('const' in constraint && value !== constraint.const) return false;
  if (typeof value === 'number' && constraint.maximum !== undefined && value > constraint.maximum) return false;
  if (typeof value === 'string') {
    // JSON Schema counts code points, as helm does.
    const length = [...value].length;
    if (constraint.minLength !== undefined && length < constraint.minLength) return false;
    if (constraint.maxLength !== undefined && length > constraint.maxLength) return false;
  }
  if (properties && isObject(value)) {
    for (const [key, inner] of Object.entries(properties)) if (key in value && !satisfies(value[key], inner)) return false;
  }
  if (anyOf && !anyOf.some((alternative) => satisfies(value, alternative))) return false;
  return true;
}

export const RULES: Rule[] = [
  {
    path: ['server', 'replicas'],
    message: 'more than one server replica needs database.type=postgres (SQLite is one file on one volume)',
    anyOf: [at('database.type', { const: 'postgres' }), at('server.replicas', { maximum: 1 })],
  },
  {
    path: ['server', 'autoscaling', 'enabled'],
    message: 'server.autoscaling needs database.type=postgres (SQLite is one file on one volume)',
    anyOf: [at('database.type', { const: 'postgres' }), at('server.autoscaling.enabled', { const: false })],
  },
  {
    path: ['database', 'dsn'],
    message: 'database.type=postgres needs database.dsn or database.existingSecret',
    anyOf: [at('database.type', { const: 'sqlite' }), at('database.dsn', { minLength: 1 }), at('database.existingSecret', { minLength: 1 })],
  },
  {
    path: ['database', 'type'],
    message: 'database.dsn and database.existingSecret are for database.type=postgres',
    anyOf: [at('database.type', { const: 'postgres' }), at('database', { properties: { dsn: { maxLength: 0 }, existingSecret: { maxLength: 0 } } })],
  },
  {
    path: ['operator', 'serverUrl'],
    message: 'with server.enabled=false the operator needs operator.serverUrl and operator.credentials.existingSecret',
    anyOf: [
      at('server.enabled', { const: true }),
      at('operator.enabled', { const: false }),
      at('operator', { properties: { serverUrl: { minLength: 1 }, credentials: { properties: { existingSecret: { minLength: 1 } } } } }),
    ],
  },
  {
    path: ['operator', 'leaderElection'],
    message: 'more than one operator replica needs operator.leaderElection=true',
    anyOf: [at('operator.leaderElection', { const: true }), at('operator.replicas', { maximum: 1 })],
  },
  {
    path: ['operator', 'serviceAccount', 'name'],
    message: 'operator.serviceAccount.create=false needs operator.serviceAccount.name',
    anyOf: [at('operator.serviceAccount.create', { const: true }), at('operator.serviceAccount.name', { minLength: 1 })],
  },
  {
    path: ['server', 'ingress', 'host'],
    message: 'server.ingress.enabled needs server.ingress.host',
    anyOf: [at('server.ingress.enabled', { const: false }), at('server.ingress.host', { minLength: 1 })],
  },
];
