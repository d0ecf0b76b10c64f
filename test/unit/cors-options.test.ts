import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { corsOptions, registerCors } from '../../src/server/http.js';

const config = (input: ConfigInput) => configSchema.parse(input);

describe('corsOptions', () => {
  it('is undefined while CORS is off, whatever else is set', () => {
    expect(corsOptions(config({ CORS_ALLOWED_ORIGINS: ['*'], CORS_ALLOW_CREDENTIALS: true }))).toBeUndefined();
  });

  it('matches a list of origins exactly and carries the configured lists', () => {
    const options = corsOptions(
      config({ CORS_ENABLED: true, CORS_ALLOWED_ORIGINS: ['https://a.example', 'https://b.example'], CORS_ALLOW_CREDENTIALS: true, CORS_MAX_AGE: 300 }),
    );
    expect(options).toMatchObject({
      origin: ['https://a.example', 'https://b.example'],
      credentials: true,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type'],
      exposedHeaders: ['Link', 'X-Total-Count', 'Location', 'X-Request-ID'],
      maxAge: 300,
      hook: 'onRequest',
    });
  });

  it('answers "*" for a wildcard without credentials, and echoes the origin (true) with them', () => {
    expect(corsOptions(config({ CORS_ENABLED: true, CORS_ALLOWED_ORIGINS: ['https://a.example', '*'] }))?.origin).toBe('*');
    expect(corsOptions(config({ CORS_ENABLED: true, CORS_ALLOWED_ORIGINS: ['*'], CORS_ALLOW_CREDENTIALS: true }))?.origin).toBe(true);
  });

  it('leaves out exposed headers and max age when there are none, rather than passing undefined', () => {
    const options = corsOptions(config({ CORS_ENABLED: true, CORS_ALLOWED_ORIGINS: ['*'], CORS_EXPOSED_HEADERS: [], CORS_MAX_AGE: 0 }))!;
    expect(Object.keys(options)).not.toContain('exposedHeaders');
    expect(Object.keys(options)).not.toContain('maxAge');
  });
});

describe('registerCors', () => {
  async function appWith(input: ConfigInput) {
    const app = Fastify();
    await registerCors(app, config(input));
    app.get('/', async () => 'ok');
    return app;
  }

  it('sends neither an expose-headers nor a max-age header when none is configured', async () => {
    const app = await appWith({ CORS_ENABLED: true, CORS_ALLOWED_ORIGINS: ['*'], CORS_EXPOSED_HEADERS: [], CORS_MAX_AGE: 0 });
    const response = await app.inject({ method: 'OPTIONS', url: '/', headers: { origin: 'https://a.example', 'access-control-request-method': 'GET' } });
    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers).not.toHaveProperty('access-control-expose-headers');
    expect(response.headers).not.toHaveProperty('access-control-max-age');
    await app.close();
  });

  it('registers nothing while CORS is off', async () => {
    const app = await appWith({ CORS_ALLOWED_ORIGINS: ['*'] });
    expect(app.hasPlugin('@fastify/cors')).toBe(false);
    expect(app.hasRoute({ method: 'OPTIONS', url: '*' })).toBe(false);
    await app.close();
  });
});
