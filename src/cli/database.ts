import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { openDatabase, migrateToLatest } from '../db/database.js';
import { Keyring } from '../crypto/keys.js';
import { systemSecretsFor, resolveSystemSecret } from '../server/bootstrap.js';
import { KeyService } from '../server/jwk/service.js';
import { SqlKeyStore } from '../server/jwk/store.js';
import { chooseFormat, outputOption, serialize } from './output.js';
import { HELP, UsageError } from './usage.js';
import { rotationView } from './views.js';

export async function migrateCommand(args: string[], print: (text: string) => void): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    print(HELP.migrate!);
    return 0;
  }
  const config = loadConfig(process.env, values.config);
  const database = openDatabase(config.DATABASE_URL);
  try {
    const applied = await migrateToLatest(database.db);
    print(applied.length ? `applied migrations: ${applied.join(', ')}` : 'the database is up to date');
    return 0;
  } finally {
    await database.close();
  }
}

export async function keysCommand(args: string[], print: (text: string) => void, stdoutIsTTY = false): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: 'string' }, ...outputOption, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    print(HELP.keys!);
    return 0;
  }
  if (positionals[0] !== 'rotate' || positionals.length > 1) throw new UsageError('use `gatehouse keys rotate`');
  // Piped, the sentence it printed before -o existed, which scripts may already parse.
  const format = chooseFormat(values.output, stdoutIsTTY, 'sentence');
  const config = loadConfig(process.env, values.config);
  const database = openDatabase(config.DATABASE_URL);
  try {
    await migrateToLatest(database.db);
    const { secret } = resolveSystemSecret(config.SYSTEM_SECRET, database.sqlitePath, config.DATABASE_URL === 'memory');
    // Checked, not recorded: which secrets the database knows is the server's to say, at its start.
    const keyring = new Keyring(await systemSecretsFor(database.db, secret));
    const keys = new KeyService(new SqlKeyStore(database.db), keyring.all('jwk-encryption'), Math.max(config.ID_TOKEN_LIFESPAN, config.ACCESS_TOKEN_LIFESPAN));
    const rotation = await keys.rotate();
    await database.makeDurable();
    const { kid, retired } = rotation;
    if (format === 'sentence')
      print(`new signing key ${kid}${retired.length ? `; retired ${retired.join(', ')} (still published until its tokens expire)` : ''}`);
    else print(format === 'table' ? rotationView(rotation) : serialize(format, rotation));
    return 0;
  } finally {
    await database.close();
  }
}
