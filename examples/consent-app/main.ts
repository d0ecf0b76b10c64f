// Runs the consent app: node --import tsx examples/consent-app/main.ts (settings in README.md beside this file).
import { GatehouseClient } from '../../src/sdk/index.js';
import { consentApp } from './app.js';

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name} (see examples/consent-app/README.md)`);
  return value;
};

const gatehouse = new GatehouseClient({
  endpoint: process.env.GATEHOUSE_URL ?? 'http://localhost:4444',
  clientId: required('CONSENT_CLIENT_ID'),
  clientSecret: required('CONSENT_CLIENT_SECRET'),
  // Only what a consent app needs: the consent API, and reading the client that asks.
  scope: 'hydra.consent hydra.clients',
});
// "alice:wonderland,bob:builder": demo users; a real deployment checks its own user directory.
const users = Object.fromEntries((process.env.CONSENT_USERS ?? 'alice:wonderland').split(',').map((pair) => pair.split(':') as [string, string]));
const port = Number(process.env.PORT ?? 3000);
consentApp({ gatehouse, users, sessionSecret: process.env.SESSION_SECRET, secureCookies: process.env.SECURE_COOKIES === 'true' }).listen(port, () =>
  console.log(`consent app listening on http://localhost:${port}/consent`),
);
