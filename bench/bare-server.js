// The baseline every Gatehouse figure is divided by: the most Node's own `http` can do on this machine, so the
// ratios say what the framework, crypto, database and logging cost on top. Plain JavaScript, run without tsx, so
// no loader hook sits in the baseline process.
// Buffer and process are imported, not global, because the lint config declares no Node globals for .js files.
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import process from 'node:process';

const body = JSON.stringify({ status: 'ok' });
const length = Buffer.byteLength(body);

const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': length });
  response.end(body);
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');

// The harness stops children with SIGTERM; close politely so the exit is not mistaken for a crash.
process.once('SIGTERM', () => server.close(() => process.exit(0)));
