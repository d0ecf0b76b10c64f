import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Keeps the last bytes a child wrote, so a crash can be explained without storing a whole request log. Chunks are
 * kept raw and decoded only when needed: the harness shares two cores with the server it measures.
 */
class Tail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private truncated = false;
  constructor(private readonly limit = 8192) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.length >= this.limit) {
      this.bytes -= this.chunks.shift()!.length;
      this.truncated = true;
    }
  }
  /** The last lines that are not access-log lines: those say nothing about why a process died. */
  explanation(maxLines = 12): string {
    const all = Buffer.concat(this.chunks);
    const text = all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
    return text
      .split('\n')
      .slice(this.truncated || all.length > this.limit ? 1 : 0) // a cut window starts mid-line
      .filter((line) => line.trim() && !line.includes('"msg":"request completed"'))
      .slice(-maxLines)
      .join('\n');
  }
}

export class ChildDiedError extends Error {
  override name = 'ChildDiedError';
}

/**
 * Every process the harness starts, so none outlives it: a crash, an exception or Ctrl-C all end in stopAll(), and
 * the synchronous 'exit' hook is the last resort when the harness itself dies abruptly.
 */
export class Children {
  private readonly live = new Set<ChildProcess>();
  private stopping = false;
  private onDeath: (error: ChildDiedError) => void = (error) => {
    throw error;
  };

  constructor() {
    process.on('exit', () => {
      for (const child of this.live) child.kill('SIGKILL');
    });
  }

  /** Called when a long-running child exits before stopAll(): the run is meaningless from then on. */
  whenOneDies(handler: (error: ChildDiedError) => void): void {
    this.onDeath = handler;
  }

  /**
   * A process expected to live until stopAll(). Its stdout is read and dropped: the server writes one JSON log line
   * per request, and a full pipe would block it, while a reader that does no work keeps the cost on the server side.
   */
  service(name: string, command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = this.start(command, args, options);
    const out = new Tail();
    const err = new Tail();
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', (error) => this.onDeath(new ChildDiedError(`${name} could not be started: ${error.message}`)));
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      const detail = [err.explanation() && `stderr:\n${err.explanation()}`, out.explanation() && `stdout:\n${out.explanation()}`].filter(Boolean).join('\n');
      this.onDeath(new ChildDiedError(`${name} died during the benchmark (${how})${detail ? `\n${detail}` : ''}`));
    });
    return child;
  }

  /** A process expected to finish on its own; resolves with its stdout, rejects with its stderr on failure. */
  run(name: string, command: string, args: string[], options: SpawnOptions = {}): Promise<string> {
    const child = this.start(command, args, options);
    const chunks: Buffer[] = [];
    const err = new Tail();
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        if (code === 0) resolve(Buffer.concat(chunks).toString('utf8'));
        else reject(new Error(`${name} failed (${signal ? `signal ${signal}` : `exit code ${code}`})${err.explanation() ? `:\n${err.explanation()}` : ''}`));
      });
    });
  }

  /** SIGTERM first so the server can flush (and write a --cpu-prof profile); SIGKILL whatever ignores it. */
  async stopAll(graceMs = 5000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.live].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }

  private start(command: string, args: string[], options: SpawnOptions): ChildProcess {
    if (this.stopping) throw new Error('the benchmark is stopping; not starting another process');
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    this.live.add(child);
    child.once('exit', () => this.live.delete(child));
    return child;
  }
}
