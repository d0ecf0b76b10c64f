import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/**
 * Paths a log line could carry a credential in. Request bodies and query strings are never logged at all; these
 * are the belt to those braces.
 */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.client_secret',
  '*.access_token',
  '*.refresh_token',
  '*.password',
  'client_secret',
  'access_token',
];

export function createLogger(options: {
  level: string;
  format: 'json' | 'text';
  destination?: NodeJS.WritableStream;
  /** Buffer writes (the server's hot path); a quiet process such as the operator wants each line out at once. */
  buffered?: boolean;
}): Logger {
  // The text format is for terminals, where plain process.stdout is fine.
  const stream =
    options.format === 'text' ? textStream(options.destination ?? process.stdout) : (options.destination ?? stdoutDestination(options.buffered ?? true));
  return pino(
    {
      level: options.level,
      base: { service: 'gatehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

/** The longest a buffered line waits before it is written, however quiet the server is. */
export const FLUSH_INTERVAL_MS = 1000;

/**
 * A synchronous write to stdout per access-log line cost about 60 µs per request in `npm run bench`; buffered
 * asynchronous writes cost a fraction. A buffer alone, though, holds a quiet server's lines (even "Server listening")
 * until 4 KiB gather, so it is also flushed every FLUSH_INTERVAL_MS by sonic-boom's own unref()ed timer, which never
 * keeps the process alive. Server.close flushes what is left on shutdown; on process exit, including a crash, pino
 * writes the rest synchronously (pino.destination registers flushSync on 'exit' for asynchronous destinations).
 */
function stdoutDestination(buffered: boolean) {
  return buffered ? pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: FLUSH_INTERVAL_MS }) : pino.destination({ dest: 1, sync: true });
}

/** `time level msg key=value …` for people reading a terminal; JSON stays the default for machines. */
function textStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const { time, level, msg, service: _service, ...rest } = JSON.parse(line) as Record<string, unknown>;
          const fields = Object.entries(rest)
            .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
            .join(' ');
          out.write(`${String(time)} ${String(level).toUpperCase()} ${String(msg ?? '')}${fields ? ` ${fields}` : ''}\n`);
        } catch {
          out.write(`${line}\n`);
        }
      }
      callback();
    },
  });
}
