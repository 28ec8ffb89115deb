// Turns an HTTP response, as the handler writes it, into the daemon's `stream` chunks.
// Two daemon traps shape this (daemon-calibration.md 2-3):
//  * its body queue holds 128 pending chunks and silently drops the rest, so writes are coalesced
//    into time windows (and held while the transport is congested) to keep the chunk count low;
//  * if the chunks after the first body chunk and `end` reach it within ~1 ms of that first chunk,
//    only the first chunk reaches the client. So a body complete before anything was sent goes out as
//    ONE chunk, and otherwise nothing after the first chunk is sent until `holdMs` have passed.
import { MAX_CHUNK_BYTES } from './protocol.js';

export interface ResponseHead {
  status: number;
  headers: Record<string, string>;
}

export interface ChunkSink {
  /** `last`: `end` follows at once (the sink may write both lines with one write) */
  sendChunk(chunk: { status?: number; headers?: Record<string, string>; body: Buffer }, last: boolean): void;
  sendEnd(): void;
  /** false while the transport is congested */
  readonly writable: boolean;
  onDrain(listener: () => void): void;
}

export interface CoalescerOptions {
  /** how long the first body bytes may wait for more (a response completing meanwhile leaves as one chunk; default 3 ms) */
  firstWindowMs?: number;
  /** how long flushed headers without body wait for a first body write (default 20 ms) */
  headOnlyDelayMs?: number;
  /** minimum time between the first body chunk and anything after it (default 8 ms) */
  holdMs?: number;
  /** flush window after the first chunk; grows with the number of chunks sent (default 12 ms) */
  windowMs?: number;
  /** window used once many chunks have been sent (default 50 ms) */
  maxWindowMs?: number;
  /** flush early (after the hold) once this much is buffered (default 256 KiB) */
  maxBufferedBytes?: number;
  /** largest raw body slice per chunk (default and ceiling 1 MiB) */
  maxChunkBytes?: number;
  /** do not add Content-Length to a complete body (HEAD, 204, 304) */
  noBody?: boolean;
}

const FIRST_WINDOW_MS = 3;
const HEAD_ONLY_DELAY_MS = 20;
const HOLD_MS = 8;
const WINDOW_MS = 12;
const MAX_WINDOW_MS = 50;
const MAX_BUFFERED = 256 * 1024;

export class BodyCoalescer {
  private head: ResponseHead | null = null;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private started = false;
  private ended = false;
  private finished = false;
  private firstSentAt = 0;
  private lastFlushAt = 0;
  private chunksSent = 0;
  private headAt = 0;
  private firstDataAt = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private timerIsImmediate = false;
  private timerDue = 0;
  private waitingForDrain = false;
  private readonly holdMs: number;
  private readonly windowMs: number;
  private readonly maxWindowMs: number;
  private readonly maxBufferedBytes: number;
  private readonly maxChunkBytes: number;

  constructor(
    private readonly sink: ChunkSink,
    private readonly options: CoalescerOptions = {},
  ) {
    this.holdMs = options.holdMs ?? HOLD_MS;
    this.windowMs = options.windowMs ?? WINDOW_MS;
    this.maxWindowMs = Math.max(this.windowMs, options.maxWindowMs ?? MAX_WINDOW_MS);
    this.maxBufferedBytes = options.maxBufferedBytes ?? MAX_BUFFERED;
    this.maxChunkBytes = Math.min(options.maxChunkBytes ?? MAX_CHUNK_BYTES, MAX_CHUNK_BYTES);
  }

  /** number of `stream` chunks that carried `result` */
  get chunkCount(): number {
    return this.chunksSent;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  setHead(head: ResponseHead): void {
    if (this.head || this.finished) return;
    this.head = head;
    this.headAt = performance.now();
    this.schedule();
  }

  write(data: Buffer): void {
    if (this.ended || this.finished || data.length === 0) return;
    if (this.firstDataAt === 0) this.firstDataAt = performance.now();
    this.buffered.push(data);
    this.bufferedBytes += data.length;
    this.schedule();
  }

  end(): void {
    if (this.ended || this.finished) return;
    this.ended = true;
    this.schedule();
  }

  /** Stop without sending anything more (the session was failed or the transport is gone). */
  abort(): void {
    this.finished = true;
    this.clearTimer();
    this.buffered = [];
    this.bufferedBytes = 0;
  }

  private currentWindow(): number {
    if (this.chunksSent < 16) return this.windowMs;
    if (this.chunksSent < 48) return Math.min(this.maxWindowMs, this.windowMs * 2);
    return this.maxWindowMs;
  }

  private schedule(): void {
    if (this.finished || this.waitingForDrain) return;
    const now = performance.now();
    let due: number;
    if (!this.started) {
      if (this.ended || this.bufferedBytes >= this.maxBufferedBytes) due = now;
      else if (this.bufferedBytes > 0) due = this.firstDataAt + (this.options.firstWindowMs ?? FIRST_WINDOW_MS);
      else due = this.headAt + (this.options.headOnlyDelayMs ?? HEAD_ONLY_DELAY_MS);
    } else {
      const holdUntil = this.firstSentAt + this.holdMs;
      if (this.ended || this.bufferedBytes >= this.maxBufferedBytes) due = Math.max(now, holdUntil);
      else if (this.bufferedBytes === 0) return;
      else due = Math.max(holdUntil, this.lastFlushAt + this.currentWindow());
    }
    const delay = due - now;
    if (this.timer) {
      // an armed immediate is as early as it gets; a timer is kept unless this is due sooner
      if (this.timerIsImmediate || due >= this.timerDue) return;
      this.clearTimer();
    }
    this.timerDue = due;
    if (delay <= 0) {
      this.timerIsImmediate = true;
      this.timer = setImmediate(() => this.flush());
    } else {
      this.timerIsImmediate = false;
      this.timer = setTimeout(() => this.flush(), Math.ceil(delay));
    }
  }

  private clearTimer(): void {
    if (!this.timer) return;
    if (this.timerIsImmediate) clearImmediate(this.timer as NodeJS.Immediate);
    else clearTimeout(this.timer as NodeJS.Timeout);
    this.timer = null;
  }

  private takeSlice(): Buffer {
    if (this.bufferedBytes <= this.maxChunkBytes) {
      const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.bufferedBytes);
      this.buffered = [];
      this.bufferedBytes = 0;
      return all;
    }
    const all = Buffer.concat(this.buffered, this.bufferedBytes);
    const slice = all.subarray(0, this.maxChunkBytes);
    const rest = all.subarray(this.maxChunkBytes);
    this.buffered = [rest];
    this.bufferedBytes = rest.length;
    return slice;
  }

  private flush(): void {
    this.timer = null;
    if (this.finished) return;
    if (!this.sink.writable) {
      // congested transport: keep coalescing until it drains
      this.waitingForDrain = true;
      this.sink.onDrain(() => {
        this.waitingForDrain = false;
        this.schedule();
      });
      return;
    }
    const now = performance.now();
    if (!this.started) {
      const head = this.head ?? { status: 200, headers: {} };
      const headers = { ...head.headers };
      const complete = this.ended && this.bufferedBytes <= this.maxChunkBytes;
      // a streamed answer that happened to finish early stays a stream for its client (no length on SSE)
      if (complete && !this.options.noBody && !hasHeader(headers, 'content-length') && !isEventStream(headers) && head.status >= 200 && head.status !== 204 && head.status !== 304) {
        headers['Content-Length'] = String(this.bufferedBytes);
      }
      this.started = true;
      this.chunksSent++;
      if (complete) this.finished = true;
      this.sink.sendChunk({ status: head.status, headers, body: this.takeSlice() }, complete);
      // the hold counts from when the write returned: a pipe write can block while the daemon reads
      this.firstSentAt = performance.now();
      this.lastFlushAt = this.firstSentAt;
      if (!complete) this.schedule();
      return;
    }
    if (now < this.firstSentAt + this.holdMs) {
      this.schedule();
      return;
    }
    if (this.ended && this.bufferedBytes === 0) {
      this.finished = true;
      this.sink.sendEnd();
      return;
    }
    while (this.bufferedBytes > 0) {
      this.chunksSent++;
      const body = this.takeSlice();
      const last = this.ended && this.bufferedBytes === 0;
      if (last) this.finished = true;
      this.sink.sendChunk({ body }, last);
    }
    this.lastFlushAt = now;
  }
}

function isEventStream(headers: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === 'content-type') return value.toLowerCase().startsWith('text/event-stream');
  return false;
}

function hasHeader(headers: Record<string, string>, lowerName: string): boolean {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === lowerName) return true;
  return false;
}
