// NDJSON framing. The reader has no line limit (an endpoint request with a 10 MiB body is a >20 MiB
// line) and never concatenates quadratically; the writer issues exactly one write() per line.
import type { Readable, Writable } from 'node:stream';

const NEWLINE = 0x0a;

/** Splits a byte stream into lines; empty lines (the Python SDK's `\n\n`) are skipped. */
export class LineSplitter {
  private pending: Buffer[] = [];

  constructor(private readonly onLine: (line: Buffer) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    let index = chunk.indexOf(NEWLINE, start);
    while (index !== -1) {
      let line = chunk.subarray(start, index);
      if (this.pending.length > 0) {
        this.pending.push(line);
        line = Buffer.concat(this.pending);
        this.pending = [];
      }
      if (line.length > 0 && !(line.length === 1 && line[0] === 0x0d)) this.onLine(line);
      start = index + 1;
      index = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) this.pending.push(start === 0 ? chunk : chunk.subarray(start));
  }
}

export function readLines(stream: Readable, onLine: (line: Buffer) => void): void {
  const splitter = new LineSplitter(onLine);
  stream.on('data', (chunk: Buffer | string) => splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
}

/** Where protocol lines go. `write` takes one complete line (newline included). */
export interface LineSink {
  /** one or more complete lines, written with a single write() */
  write(lines: string): void;
  /** false while the underlying stream is congested; the coalescer waits for `onDrain` then. */
  readonly writable: boolean;
  onDrain(listener: () => void): void;
  readonly closed: boolean;
}

export class StreamLineSink implements LineSink {
  private congested = false;
  private isClosed = false;
  private drainListeners: Array<() => void> = [];

  /** `write` defaults to the stream's own; stdio passes the saved original of a patched stdout. */
  constructor(
    private readonly stream: Writable,
    private readonly rawWrite: (chunk: string) => boolean = (chunk) => stream.write(chunk),
    private readonly onClose: () => void = () => {},
  ) {
    stream.on('drain', () => this.drained());
    stream.on('error', () => this.markClosed());
    stream.on('close', () => this.markClosed());
  }

  get writable(): boolean {
    return !this.congested && !this.isClosed;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  write(line: string): void {
    if (this.isClosed) return;
    try {
      if (!this.rawWrite(line)) this.congested = true;
    } catch {
      this.markClosed();
    }
  }

  onDrain(listener: () => void): void {
    if (!this.congested) {
      queueMicrotask(listener);
      return;
    }
    this.drainListeners.push(listener);
  }

  private drained(): void {
    this.congested = false;
    const listeners = this.drainListeners;
    this.drainListeners = [];
    for (const listener of listeners) listener();
  }

  private markClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.drained();
    this.onClose();
  }
}
