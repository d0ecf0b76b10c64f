import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Http1Connection } from '../../bench/http1-client.js';

// The flow bench's load generator reads what the server answers; a framing mistake would count broken flows as done.
describe('bench Http1Connection against node:http', () => {
  let server: Server;
  let port: number;
  const connectionsSeen = new Set<unknown>();

  beforeAll(async () => {
    server = createServer((request, response) => {
      connectionsSeen.add(request.socket);
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        if (request.url === '/empty') return response.writeHead(204).end();
        if (request.url === '/chunked') return response.writeHead(200).end((response.write('a'), 'b'));
        if (request.url === '/close') return response.writeHead(200, { connection: 'close', 'content-length': '2' }).end('ok');
        const text = JSON.stringify({ method: request.method, url: request.url, body, auth: request.headers.authorization ?? null, note: 'é' });
        response.setHeader('set-cookie', ['first=1; Path=/', 'second=2; Path=/']);
        response.writeHead(302, { location: '/next?x=1', 'content-length': Buffer.byteLength(text), 'content-type': 'application/json' });
        response.end(text);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends method, headers and body, and reads status, lower-cased headers and a UTF-8 body by its length', async () => {
    const connection = new Http1Connection('127.0.0.1', port);
    const answer = await connection.request('POST', '/token?a=b', { Authorization: 'Basic eA==' }, 'grant=é');
    connection.close();
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe('/next?x=1');
    expect(answer.headers['set-cookie']).toBe('first=1; Path=/');
    expect(JSON.parse(answer.text)).toEqual({ method: 'POST', url: '/token?a=b', body: 'grant=é', auth: 'Basic eA==', note: 'é' });
  });

  it('keeps one connection across requests, answers 204 without a length, and opens a new one after Connection: close', async () => {
    const connection = new Http1Connection('127.0.0.1', port);
    const before = connectionsSeen.size;
    expect((await connection.request('GET', '/a')).status).toBe(302);
    expect(await connection.request('PATCH', '/empty', {}, '{}')).toEqual({ status: 204, headers: expect.any(Object), text: '' });
    expect((await connection.request('GET', '/close')).text).toBe('ok');
    expect(connectionsSeen.size).toBe(before + 1);
    expect((await connection.request('GET', '/b')).status).toBe(302);
    expect(connectionsSeen.size).toBe(before + 2);
    connection.close();
  });

  it('refuses an answer it cannot frame, and a second request while one is under way', async () => {
    const connection = new Http1Connection('127.0.0.1', port);
    await expect(connection.request('GET', '/chunked')).rejects.toThrow('without Content-Length');
    const first = connection.request('GET', '/a');
    await expect(connection.request('GET', '/a')).rejects.toThrow('one request at a time');
    expect((await first).status).toBe(302);
    connection.close();
  });

  it('reads an answer that arrives a byte at a time, and refuses a Content-Length that is not a number', async () => {
    const answers = ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', 'HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n'];
    const raw = createNetServer((socket) => {
      socket.once('data', () => {
        const bytes = [...answers.shift()!];
        const trickle = () => {
          const byte = bytes.shift();
          if (byte === undefined) return;
          socket.write(byte);
          setTimeout(trickle, 1);
        };
        trickle();
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const rawPort = (raw.address() as AddressInfo).port;
      const trickled = new Http1Connection('127.0.0.1', rawPort);
      expect(await trickled.request('GET', '/')).toMatchObject({ status: 200, text: 'hello' });
      trickled.close();
      await expect(new Http1Connection('127.0.0.1', rawPort).request('GET', '/')).rejects.toThrow('Content-Length x is not a number');
    } finally {
      raw.close();
    }
  });

  it('rejects the request under way when the server cannot be reached', async () => {
    const connection = new Http1Connection('127.0.0.1', 1);
    await expect(connection.request('GET', '/')).rejects.toThrow();
  });
});
