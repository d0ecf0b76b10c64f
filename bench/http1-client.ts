import { connect, type Socket } from 'node:net';

/**
 * A keep-alive HTTP/1.1 connection that sends one request at a time and reads answers framed by Content-Length, for
 * the browser-flow driver. It shares two CPUs with the server it measures: undici's request() cost the driver about
 * as much CPU per flow as the server spent answering it, which left the server short of a core. Like autocannon, it
 * does only what a load generator needs: it refuses (throws) any answer it cannot frame rather than guess.
 */
export interface Answer {
  status: number;
  /** Header names in lower case; a repeated header keeps its first value (all a flow reads, e.g. one Set-Cookie). */
  headers: Record<string, string>;
  text: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export class Http1Connection {
  private socket: Socket | undefined;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (answer: Answer) => void; reject: (error: Error) => void } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  request(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
    if (this.waiting) return Promise.reject(new Error('Http1Connection sends one request at a time'));
    const socket = (this.socket ??= this.open());
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    if (body !== undefined) head += `content-length: ${Buffer.byteLength(body)}\r\n`;
    return new Promise<Answer>((resolve, reject) => {
      this.waiting = { resolve, reject };
      socket.write(`${head}\r\n${body ?? ''}`);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.buffered = Buffer.alloc(0);
  }

  private open(): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    // A socket closed on purpose (after Connection: close, or an answer refused) may still report data or its close
    // while the next request already runs on a new one: only the current socket's events count.
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.answerIfComplete();
    });
    const lost = (error?: Error) => {
      if (this.socket !== socket) return;
      this.close();
      this.fail(error ?? new Error('the server closed the connection'));
    };
    socket.on('error', lost);
    socket.on('close', () => lost());
    return socket;
  }

  private answerIfComplete(): void {
    const end = this.buffered.indexOf(HEADER_END);
    if (end === -1) return;
    const lines = this.buffered.toString('latin1', 0, end).split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      headers[name] ??= line.slice(colon + 1).trim();
    }
    // 204 and 304 answers carry no body and need no length (RFC 9110, 6.4.1).
    const bodiless = status === 204 || status === 304;
    if (headers['transfer-encoding'] !== undefined || (headers['content-length'] === undefined && !bodiless)) {
      this.fail(new Error(`HTTP ${status}: an answer without Content-Length, which this driver does not read`));
      this.close();
      return;
    }
    const bodyStart = end + HEADER_END.length;
    const length = bodiless ? '0' : headers['content-length']!;
    if (!/^\d+$/.test(length)) {
      this.fail(new Error(`HTTP ${status}: Content-Length ${length} is not a number`));
      this.close();
      return;
    }
    const bodyEnd = bodyStart + Number(length);
    if (this.buffered.length < bodyEnd) return;
    const text = this.buffered.toString('utf8', bodyStart, bodyEnd);
    this.buffered = this.buffered.subarray(bodyEnd);
    const waiting = this.waiting;
    this.waiting = undefined;
    if (/\bclose\b/i.test(headers.connection ?? '')) this.close();
    // An answer nobody asked for means the framing went wrong: nothing read on this connection can be trusted.
    if (!waiting) return void this.close();
    waiting.resolve({ status, headers, text });
  }

  private fail(error: Error): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }
}
