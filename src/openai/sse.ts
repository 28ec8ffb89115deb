/**
 * Server-sent events writer for OpenAI-style streams (openai-compat.md §3).
 *
 * - frames are `data: <single-line JSON>\n\n`, never split, sent within the tick they are made;
 * - keepalive during upstream silence: `: keepalive\n\n` comments on chat streams, or a caller
 *   supplied frame (Responses streams send `event: keepalive` events); never `: ping`;
 * - `[DONE]` then end, so openai-node <= 6 does not hang;
 * - a mid-stream error is one `data: {"error":{...}}` frame and then the end (no `[DONE]`).
 *
 * Keepalive timing uses one timer per stream that re-arms itself from the time of the last write,
 * so a write costs a `Date.now()` and not a clearTimeout/setTimeout pair.
 *
 * Frames produced in the same tick (all the events of one upstream read) leave in one `res.write`
 * on the next tick; a frame is never split across writes. Without this, every frame is its own
 * socket write, which is most of the relay's CPU.
 */
import type { Response } from 'express';

export const DEFAULT_KEEPALIVE_MS = 15_000;

export interface SseWriterOptions {
  /** Silence after which a keepalive is sent. Default 15 s; tests shorten it. */
  keepaliveMs?: number;
  /** The keepalive frame; default `: keepalive\n\n`. A function is called each time (sequence numbers). */
  keepaliveFrame?: string | (() => string);
  /** Extra response headers (x-request-id, X-Dify-Conversation-Id, CORS...). */
  headers?: Record<string, string>;
}

export class SseWriter {
  private started = false;
  private closed = false;
  private lastWrite = 0;
  private timer: NodeJS.Timeout | undefined;
  private pending = '';
  private readonly keepaliveMs: number;
  private readonly keepaliveFrame: string | (() => string);

  constructor(
    private readonly res: Response,
    private readonly options: SseWriterOptions = {},
  ) {
    this.keepaliveMs = options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
    this.keepaliveFrame = options.keepaliveFrame ?? ': keepalive\n\n';
    res.once('close', () => this.stopTimer());
  }

  get isStarted(): boolean {
    return this.started;
  }

  get isClosed(): boolean {
    return this.closed || this.res.writableEnded || this.res.destroyed;
  }

  /** Commits status 200 and the SSE headers (sent with the first frames, within this tick), and starts keepalives. */
  start(extraHeaders: Record<string, string> = {}): void {
    if (this.started) return;
    this.started = true;
    const res = this.res;
    res.status(200);
    const headers = { ...this.options.headers, ...extraHeaders };
    for (const name in headers) res.setHeader(name, headers[name]!);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.removeHeader('Content-Length');
    // No flushHeaders(): the headers leave with the first frames on the next tick (callers write the
    // first frame right after start), saving a socket write per stream.
    this.lastWrite = Date.now();
    this.armTimer(this.keepaliveMs);
  }

  /** Writes `data: <json>\n\n` where `json` is already a single-line JSON string. */
  data(json: string): void {
    if (this.closed) return;
    if (!this.started) this.start();
    this.lastWrite = Date.now();
    this.write('data: ' + json + '\n\n');
  }

  private write(frame: string): void {
    if (this.pending === '') process.nextTick(this.flush);
    this.pending += frame;
  }

  /** Sends the frames of this tick in one write. */
  private readonly flush = (): void => {
    if (this.pending === '') return;
    const out = this.pending;
    this.pending = '';
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(out);
  };

  /** Writes a named event (`event: <name>\ndata: <json>\n\n`): Responses API streams only. */
  event(name: string, json: string): void {
    if (this.closed) return;
    if (!this.started) this.start();
    this.lastWrite = Date.now();
    this.write('event: ' + name + '\ndata: ' + json + '\n\n');
  }

  /** Writes a raw pre-framed string (must end with a blank line). */
  raw(frame: string): void {
    if (this.closed) return;
    if (!this.started) this.start();
    this.lastWrite = Date.now();
    this.write(frame);
  }

  /** `data: [DONE]` then close. */
  done(): void {
    if (this.closed) return;
    if (!this.started) this.start();
    this.write('data: [DONE]\n\n');
    this.end();
  }

  /** A mid-stream error object (no choices, no [DONE]) then close. */
  error(body: unknown): void {
    if (this.closed) return;
    if (!this.started) this.start();
    this.write('data: ' + JSON.stringify(body) + '\n\n');
    this.end();
  }

  /** Ends the response (the socket is released by the HTTP layer; clients see EOF). */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimer();
    const out = this.pending;
    this.pending = '';
    // The last frames and the end of the chunked body in one write.
    if (!this.res.writableEnded) {
      // res.end(data) before any write would make it a Content-Length body: SSE stays chunked.
      if (out !== '' && !this.res.destroyed && this.res.headersSent) this.res.end(out);
      else {
        if (out !== '' && !this.res.destroyed) this.res.write(out);
        this.res.end();
      }
    }
  }

  private armTimer(ms: number): void {
    this.timer = setTimeout(() => this.onTimer(), ms);
    this.timer.unref?.();
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.isClosed) return;
    const idle = Date.now() - this.lastWrite;
    if (idle >= this.keepaliveMs - 5) {
      const frame = typeof this.keepaliveFrame === 'function' ? this.keepaliveFrame() : this.keepaliveFrame;
      this.lastWrite = Date.now();
      this.write(frame);
      this.armTimer(this.keepaliveMs);
    } else {
      this.armTimer(this.keepaliveMs - idle);
    }
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
