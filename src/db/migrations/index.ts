import type { Migration, MigrationProvider } from 'kysely/migration';
import * as initial from './001_initial.js';
import * as browserFlows from './002_browser_flows.js';
import * as previousSecrets from './003_previous_secrets.js';
import * as clientFields from './004_client_fields.js';

// Migrations are imported statically so the compiled package needs no file-system discovery.
const migrations: Record<string, Migration> = {
  '001_initial': initial,
  '002_browser_flows': browserFlows,
  '003_previous_secrets': previousSecrets,
  '004_client_fields': clientFields,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
