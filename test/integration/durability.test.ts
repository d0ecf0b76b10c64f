import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECKPOINT_INTERVAL_MS } from '../../src/db/checkpointer.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseClient } from '../../src/sdk/client.js';
import { freePort } from '../support/free-port.js';
import { sqliteServeEnv, startServeProcess, type RunningProcess } from '../support/process.js';
import { ROOT } from '../support/server.js';

/**
 * Power loss cannot be staged here, so the test watches what makes a write survive it: the WAL reaching the disk.
 * strace records every fsync/fdatasync of the real server process, with the file each one names; a write the API
 * acknowledged must be preceded by a sync of the WAL, and token issuance (group-committed) must not pay for one.
 */
function straceAvailable(): boolean {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('acknowledged writes on SQLite survive power loss', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-durability-'));
  const trace = join(dir, 'syncs.log');
  const wal = `${join(dir, 'gatehouse.sqlite')}-wal`;
  let running: RunningProcess | undefined;
  let root: GatehouseClient;
  let url: string;

  /** WAL syncs recorded so far, in order. */
  const walSyncs = () =>
    readFileSync(trace, 'utf8')
      .split('\n')
      // A call interrupted by another thread's is split over an "<unfinished ...>" line, which names the file, and a
      // "resumed" line, which does not: each sync is counted once either way.
      .filter((line) => /\b(fsync|fdatasync)\(/.test(line) && line.includes(`<${wal}>`));

  /** strace writes a line when the call returns; the response can overtake the write of that line by a moment. */
  async function syncsAfter(before: number, atLeast: number): Promise<number> {
    for (let waited = 0; waited < 2_000 && walSyncs().length < before + atLeast; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    return walSyncs().length - before;
  }

  beforeAll(async () => {
    if (!straceAvailable()) throw new Error('strace is not installed (apt-get install strace); this test watches the server sync its WAL with it');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    running = await startServeProcess(sqliteServeEnv(dir, port), url, 60_000, [
      'strace',
      '-f',
      '-qq',
      '-y',
      '-e',
      'trace=fsync,fdatasync',
      '-e',
      'signal=none',
      '-o',
      trace,
    ]);
    root = new GatehouseClient({ endpoint: url, clientId: ROOT.id, clientSecret: ROOT.secret });
  }, 90_000);

  afterAll(async () => {
    await root?.close();
    // The child is strace; killed, it detaches from the server, which would live on: end the server first.
    const server = running?.child.pid && execFileSync('pgrep', ['-P', String(running.child.pid)], { encoding: 'utf8' }).trim();
    if (server) for (const pid of server.split('\n')) process.kill(Number(pid), 'SIGKILL');
    await running?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('syncs the WAL before acknowledging a client create, update and delete', async () => {
    let before = walSyncs().length;
    const created = await root.createClient({ id: 'durable', grant_types: ['client_credentials'], scope: 'jobs' });
    expect(await syncsAfter(before, 1)).toBeGreaterThanOrEqual(1);

    before = walSyncs().length;
    await root.updateClient('durable', { ...created, client_secret: undefined, scope: 'jobs reports' });
    expect(await syncsAfter(before, 1)).toBeGreaterThanOrEqual(1);

    before = walSyncs().length;
    await root.deleteClient('durable');
    expect(await syncsAfter(before, 1)).toBeGreaterThanOrEqual(1);
  });

  it('issues tokens without syncing the WAL for each', async () => {
    const machine = await root.createClient({ id: 'machine', grant_types: ['client_credentials'], scope: 'jobs' });
    await syncsAfter(walSyncs().length, 1);
    const before = walSyncs().length;
    const started = performance.now();
    for (let i = 0; i < 20; i++) await root.clientCredentialsToken('jobs', { clientId: 'machine', clientSecret: machine.client_secret! });
    // A later acknowledged write is the marker: every sync recorded up to its own belongs to the tokens, or to the
    // background checkpoints (checkpointer.ts), which sync the WAL before copying it, at most once per interval.
    await root.deleteClient('machine');
    const checkpoints = Math.ceil((performance.now() - started) / CHECKPOINT_INTERVAL_MS) + 1;
    const syncs = await syncsAfter(before, 1);
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThanOrEqual(1 + checkpoints);
    expect(syncs).toBeLessThan(20);
  });
});
