import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { FORM, sleep } from './helpers.js';

interface RawConnection {
  socket: Socket;
  /** Settles when the server has closed the connection: when, and every byte it sent. */
  closed: Promise<{ afterMs: number; received: string }>;
}

/** A raw TCP connection that sends `head` at once, then one byte of `drip` a second until the server closes it. */
function dripping(port: number, head: string, drip = 'a'): RawConnection {
  const socket = connect(port, '127.0.0.1');
  const opened = Date.now();
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  const timer = setInterval(() => {
    if (socket.writable) socket.write(drip);
  }, 1000);
  const closed = new Promise<{ afterMs: number; received: string }>((resolve) => {
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ afterMs: Date.now() - opened, received });
    });
  });
  if (head) socket.write(head);
  return { socket, closed };
}

const portOf = (t: TestServer) => Number(new URL(t.url).port);

describe('slow clients', () => {
  let t: TestServer;
  const REQUEST_MS = 3000;
  const HEADERS_MS = 2000;
  const KEEP_ALIVE_MS = 1000;
  // Node checks the request and header timers periodically; the server checks at a tenth of the shorter one.
  const LATE_MS = 1500;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { REQUEST_TIMEOUT: '3s', HEADERS_TIMEOUT: '2s', KEEP_ALIVE_TIMEOUT: '1s' });
  });
  afterAll(async () => t?.close());

  it('closes connections that send a body or headers one byte a second, and serves everybody else meanwhile', async () => {
    const port = portOf(t);
    const body = `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${FORM}\r\nContent-Length: 1000\r\n\r\ngrant_type=`;
    const slowBodies = Array.from({ length: 8 }, () => dripping(port, body));
    const slowHeaders = Array.from({ length: 4 }, () => dripping(port, 'GET /health/alive HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: '));

    const latencies: number[] = [];
    let allClosed = false;
    const everyone = Promise.all([...slowBodies, ...slowHeaders].map((connection) => connection.closed)).then((results) => {
      allClosed = true;
      return results;
    });
    const deadline = Date.now() + REQUEST_MS + LATE_MS + 2000;
    while (!allClosed && Date.now() < deadline) {
      const began = Date.now();
      const response = await fetch(`${t.url}/health/alive`);
      expect(response.status).toBe(200);
      await response.text();
      latencies.push(Date.now() - began);
      await sleep(100);
    }
    for (const connection of [...slowBodies, ...slowHeaders]) connection.socket.destroy();
    const results = await everyone;

    expect(latencies.length).toBeGreaterThan(10);
    expect(Math.max(...latencies)).toBeLessThan(500);
    for (const { afterMs, received } of results.slice(0, slowBodies.length)) {
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(afterMs).toBeGreaterThanOrEqual(REQUEST_MS - 100);
      expect(afterMs).toBeLessThan(REQUEST_MS + LATE_MS);
    }
    for (const { afterMs, received } of results.slice(slowBodies.length)) {
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(afterMs).toBeGreaterThanOrEqual(HEADERS_MS - 100);
      expect(afterMs).toBeLessThan(HEADERS_MS + LATE_MS);
    }
  });

  it('closes an idle keep-alive connection after KEEP_ALIVE_TIMEOUT', async () => {
    const connection = dripping(portOf(t), 'GET /health/alive HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', '');
    const { afterMs, received } = await connection.closed;
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toMatch(/keep-alive: timeout=1\b/i);
    // Node closes a second after the timeout it announces, so that a client never reuses a connection being closed.
    expect(afterMs).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 100);
    expect(afterMs).toBeLessThan(KEEP_ALIVE_MS + 1000 + LATE_MS);
  });
});

describe('MAX_CONNECTIONS', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { MAX_CONNECTIONS: '3' });
  });
  afterAll(async () => t?.close());

  /** Opens a connection and says whether the server answers a request on it. */
  async function answered(socket: Socket): Promise<boolean> {
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => {});
    if (socket.connecting) await new Promise<void>((resolve) => socket.once('connect', () => resolve()).once('close', () => resolve()));
    if (socket.destroyed) return false;
    socket.write('GET /health/alive HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const deadline = Date.now() + 2000;
    while (!received.includes('\r\n\r\n') && !socket.destroyed && Date.now() < deadline) await sleep(20);
    return received.startsWith('HTTP/1.1 200 ');
  }

  it('drops connections above the cap and accepts new ones once others close', async () => {
    const port = portOf(t);
    const open = Array.from({ length: 3 }, () => connect(port, '127.0.0.1'));
    try {
      for (const socket of open) expect(await answered(socket)).toBe(true);
      const extra = connect(port, '127.0.0.1');
      expect(await answered(extra)).toBe(false);
      extra.destroy();
      open.pop()!.destroy();
      await sleep(100);
      const next = connect(port, '127.0.0.1');
      open.push(next);
      expect(await answered(next)).toBe(true);
    } finally {
      for (const socket of open) socket.destroy();
    }
  });
});
