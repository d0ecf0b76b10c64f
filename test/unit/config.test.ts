import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function yamlFile(text: string): string {
  const file = join(dir, `config-${files++}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** The ConfigError loadConfig throws for these inputs. */
function failure(env: NodeJS.ProcessEnv, file?: string): ConfigError {
  try {
    loadConfig(env, file);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('JANITOR_INTERVAL', () => {
  it('is a duration, 10m by default, or off', () => {
    expect(loadConfig({}).JANITOR_INTERVAL).toBe(600_000);
    expect(loadConfig({ JANITOR_INTERVAL: '30s' }).JANITOR_INTERVAL).toBe(30_000);
    expect(loadConfig({ JANITOR_INTERVAL: 'off' }).JANITOR_INTERVAL).toBe(0);
    expect(() => loadConfig({ JANITOR_INTERVAL: 'sometimes' })).toThrow(
      'environment variable JANITOR_INTERVAL: "sometimes" is not a positive duration such as 10m, or off',
    );
  });
});

describe('IDLE_GC_AFTER', () => {
  it('is a duration between 100ms and 1h, 1s by default, or off', () => {
    expect(loadConfig({}).IDLE_GC_AFTER).toBe(1000);
    expect(loadConfig({ IDLE_GC_AFTER: 'off' }).IDLE_GC_AFTER).toBe(0);
    expect(loadConfig({ IDLE_GC_AFTER: '5s' }).IDLE_GC_AFTER).toBe(5000);
    // A timer longer than 2^31-1 ms would fire every millisecond; a period too short makes any gap look idle.
    expect(() => loadConfig({ IDLE_GC_AFTER: '1000h' })).toThrow('environment variable IDLE_GC_AFTER: "1000h" is outside 100ms to 1h, or off');
    expect(() => loadConfig({ IDLE_GC_AFTER: '1ms' })).toThrow('is outside 100ms to 1h, or off');
    expect(() => loadConfig({ JANITOR_INTERVAL: '1000h' })).toThrow('environment variable JANITOR_INTERVAL: "1000h" is outside 100ms to 24h, or off');
  });
});

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 4444,
      DATABASE_URL: 'sqlite://.data/gatehouse.sqlite',
      ACCESS_TOKEN_LIFESPAN: 3_600_000,
      ID_TOKEN_LIFESPAN: 3_600_000,
      AUTH_CODE_LIFESPAN: 600_000,
      CHALLENGE_TOKEN_LIFESPAN: 600_000,
      RESOURCE_NAME_PREFIX: 'rn:hydra',
      BODY_LIMIT: 64 * 1024,
      REQUEST_TIMEOUT: 30_000,
      HEADERS_TIMEOUT: 10_000,
      KEEP_ALIVE_TIMEOUT: 72_000,
      MAX_CONNECTIONS: 10_000,
      POLICIES: [],
      CORS_ENABLED: false,
    });
  });

  it('takes the connection timeouts as durations, and refuses a header timeout longer than the request timeout', () => {
    expect(loadConfig({ REQUEST_TIMEOUT: '1m', HEADERS_TIMEOUT: '1m', KEEP_ALIVE_TIMEOUT: '5s', MAX_CONNECTIONS: '50' })).toMatchObject({
      REQUEST_TIMEOUT: 60_000,
      HEADERS_TIMEOUT: 60_000,
      KEEP_ALIVE_TIMEOUT: 5_000,
      MAX_CONNECTIONS: 50,
    });
    expect(failure({ REQUEST_TIMEOUT: '5s' }).message).toBe('invalid configuration: setting HEADERS_TIMEOUT: must not be longer than REQUEST_TIMEOUT');
  });

  it('parses typed values from the environment', () => {
    const config = loadConfig({
      PORT: '8080',
      ACCESS_TOKEN_LIFESPAN: '30m',
      CORS_ENABLED: 'true',
      CORS_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
      DATABASE_URL: 'postgres://u:p@db/gatehouse',
      POLICIES: JSON.stringify([{ id: 'p', subjects: ['a'], effect: 'allow', resources: ['r'], actions: ['get'] }]),
    });
    expect(config).toMatchObject({
      PORT: 8080,
      ACCESS_TOKEN_LIFESPAN: 1_800_000,
      CORS_ENABLED: true,
      CORS_ALLOWED_ORIGINS: ['https://a.example', 'https://b.example'],
    });
    expect(config.POLICIES).toEqual([{ id: 'p', description: '', subjects: ['a'], effect: 'allow', resources: ['r'], actions: ['get'], conditions: {} }]);
  });

  it('ignores empty environment variables', () => {
    expect(loadConfig({ PORT: '', LOG_LEVEL: '' })).toMatchObject({ PORT: 4444, LOG_LEVEL: 'info' });
  });

  it.each<[string, NodeJS.ProcessEnv]>([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '-1' }],
    ['ACCESS_TOKEN_LIFESPAN', { ACCESS_TOKEN_LIFESPAN: '1 hour' }],
    ['ACCESS_TOKEN_LIFESPAN', { ACCESS_TOKEN_LIFESPAN: '0s' }],
    ['ID_TOKEN_LIFESPAN', { ID_TOKEN_LIFESPAN: '3d' }],
    ['SYSTEM_SECRET', { SYSTEM_SECRET: 'too-short' }],
    ['COOKIE_SECRET', { COOKIE_SECRET: 'short' }],
    ['ISSUER', { ISSUER: 'not a url' }],
    ['ISSUER', { ISSUER: 'ftp://example.com' }],
    ['CONSENT_URL', { CONSENT_URL: '/consent' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db/gatehouse' }],
    ['FORCE_ROOT_CLIENT_CREDENTIALS', { FORCE_ROOT_CLIENT_CREDENTIALS: 'root:short' }],
    ['FORCE_ROOT_CLIENT_CREDENTIALS', { FORCE_ROOT_CLIENT_CREDENTIALS: 'no-colon-here-but-quite-long-enough-to-pass' }],
    ['FORCE_ROOT_CLIENT_CREDENTIALS', { FORCE_ROOT_CLIENT_CREDENTIALS: 'root client:a-secret-of-at-least-32-characters-0123' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.0/8,foo' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.0/33' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['LOG_FORMAT', { LOG_FORMAT: 'xml' }],
    ['CORS_ENABLED', { CORS_ENABLED: 'yes' }],
    ['BODY_LIMIT', { BODY_LIMIT: '10' }],
    ['REQUEST_TIMEOUT', { REQUEST_TIMEOUT: '0s' }],
    ['HEADERS_TIMEOUT', { HEADERS_TIMEOUT: '10' }],
    ['KEEP_ALIVE_TIMEOUT', { KEEP_ALIVE_TIMEOUT: 'forever' }],
    ['MAX_CONNECTIONS', { MAX_CONNECTIONS: '0' }],
    ['POLICIES', { POLICIES: '[{"id": "p"' }],
    ['POLICIES', { POLICIES: JSON.stringify([{ id: 'p', subjects: ['a'], effect: 'perhaps', resources: ['r'], actions: ['get'] }]) }],
  ])('stops on a bad %s with a message that names it', (variable, env) => {
    const error = failure(env);
    expect(error.message).toContain(variable);
    expect(error.message).toMatch(/^invalid configuration: /);
  });

  it('takes TRUST_PROXY as proxy-addr does: addresses, CIDR ranges and netmasks of either family, and its names', () => {
    const { TRUST_PROXY } = loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8, ::1, fd00::/8, 192.168.0.0/255.255.0.0, uniquelocal' });
    expect(TRUST_PROXY).toEqual(['loopback', '10.0.0.0/8', '::1', 'fd00::/8', '192.168.0.0/255.255.0.0', 'uniquelocal']);
    expect(failure({ TRUST_PROXY: '10.0.0.0/8,foo' }).message).toContain('foo: each entry must be an IP address');
  });

  it('says that an environment variable was the culprit and why', () => {
    expect(failure({ SYSTEM_SECRET: 'too-short' }).message).toBe('invalid configuration: environment variable SYSTEM_SECRET: must be at least 16 characters');
    expect(failure({ ACCESS_TOKEN_LIFESPAN: '1 hour' }).message).toContain('"1 hour" is not a positive duration');
  });

  it('reports every bad variable at once', () => {
    const { message } = failure({ PORT: 'abc', LOG_LEVEL: 'loud', SYSTEM_SECRET: 'x' });
    for (const variable of ['PORT', 'LOG_LEVEL', 'SYSTEM_SECRET']) expect(message).toContain(variable);
  });

  describe('SYSTEM_SECRET with several comma-separated secrets (rotation)', () => {
    const first = 'the-new-system-secret-value';
    const second = 'the-old-system-secret-value';
    const prefix = 'invalid configuration: environment variable SYSTEM_SECRET: ';

    it('accepts a list of long secrets, and keeps the value as given', () => {
      expect(loadConfig({ SYSTEM_SECRET: `${first},${second}` }).SYSTEM_SECRET).toBe(`${first},${second}`);
      expect(loadConfig({ SYSTEM_SECRET: `${first}, ${second}` }).SYSTEM_SECRET).toBe(`${first}, ${second}`);
      expect(loadConfig({ SYSTEM_SECRET: `${first},${second},${'x'.repeat(16)}` }).SYSTEM_SECRET).toBe(`${first},${second},${'x'.repeat(16)}`);
    });

    it('accepts a single secret of exactly 16 characters, and refuses 15', () => {
      expect(loadConfig({ SYSTEM_SECRET: 'x'.repeat(16) }).SYSTEM_SECRET).toBe('x'.repeat(16));
      expect(failure({ SYSTEM_SECRET: 'x'.repeat(15) }).message).toBe(`${prefix}must be at least 16 characters`);
    });

    it.each([
      ['the second', `${'x'.repeat(16)},short-one`, 'number 2 of 2'],
      ['the first', `short-one,${'x'.repeat(16)}`, 'number 1 of 2'],
      ['several', `short-one,${'x'.repeat(16)},other-short`, 'number 1, 3 of 3'],
      ['one of 15 characters', `${'x'.repeat(16)},${'y'.repeat(15)}`, 'number 2 of 2'],
    ])('names %s short secret by its position', (_what, value, position) => {
      expect(failure({ SYSTEM_SECRET: value }).message).toBe(`${prefix}each of its comma-separated secrets must be at least 16 characters; ${position} is not`);
    });

    it('never repeats a secret in its message', () => {
      const { message } = failure({ SYSTEM_SECRET: `${first},short-one` });
      expect(message).not.toContain(first);
      expect(message).not.toContain('short-one');
    });

    it('measures each secret without the spaces around it', () => {
      expect(failure({ SYSTEM_SECRET: `${first},      short-one       ` }).message).toContain('number 2 of 2');
      expect(failure({ SYSTEM_SECRET: `   short-one    ` }).message).toBe(`${prefix}must be at least 16 characters`);
    });

    it('counts an empty entry (a stray comma) as a short secret', () => {
      expect(failure({ SYSTEM_SECRET: `${first},` }).message).toContain('number 2 of 2');
      expect(failure({ SYSTEM_SECRET: `${first},,${second}` }).message).toContain('number 2 of 3');
    });
  });

  describe('with a YAML file (--config)', () => {
    it('reads settings from the file, under the same names', () => {
      const file = yamlFile(
        [
          'PORT: 5000',
          'ACCESS_TOKEN_LIFESPAN: 15m',
          'POLICIES:',
          '  - id: p',
          '    subjects: [a]',
          '    effect: deny',
          '    resources: [r]',
          '    actions: [get]',
        ].join('\n'),
      );
      const config = loadConfig({}, file);
      expect(config).toMatchObject({ PORT: 5000, ACCESS_TOKEN_LIFESPAN: 900_000 });
      expect(config.POLICIES[0]).toMatchObject({ id: 'p', effect: 'deny' });
    });

    it('lets the environment override the file', () => {
      const file = yamlFile('PORT: 5000\nLOG_LEVEL: debug\n');
      expect(loadConfig({ PORT: '6000' }, file)).toMatchObject({ PORT: 6000, LOG_LEVEL: 'debug' });
    });

    it('refuses an unknown key, naming it and the file', () => {
      const file = yamlFile('PORT: 5000\nPORTT: 5001\n');
      const { message } = failure({}, file);
      expect(message).toContain('PORTT');
      expect(message).toContain(file);
    });

    it('names a bad value from the file as a setting', () => {
      const { message } = failure({}, yamlFile('PORT: nope\n'));
      expect(message).toContain('setting PORT');
    });

    it('accepts an empty file', () => {
      expect(loadConfig({}, yamlFile('')).PORT).toBe(4444);
    });

    it.each([
      ['a missing file', () => join(dir, 'missing.yaml'), /cannot read config file/],
      ['invalid YAML', () => yamlFile('PORT: [unclosed\n'), /not valid YAML/],
      ['a list instead of a mapping', () => yamlFile('- PORT\n'), /mapping/],
    ])('refuses %s, naming the file', (_what, file, pattern) => {
      const path = file();
      const { message } = failure({}, path);
      expect(message).toMatch(pattern);
      expect(message).toContain(path);
    });
  });
});
