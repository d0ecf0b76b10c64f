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
  // A synchronous write to stdout per access-log line cost about 60 µs per request in `npm run bench`; buffered
  // asynchronous writes cost a fraction. Server.close flushes the buffer. The text format is for terminals, where
  // plain process.stdout is fine.
  const stream =
    options.format === 'text'
      ? textStream(options.destination ?? process.stdout)
      : (options.destination ?? (options.buffered === false ? pino.destination({ dest: 1, sync: true }) : pino.destination({ dest: 1, sync: false, minLength: 4096 })));
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
