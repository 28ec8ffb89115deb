// The transport-independent core: turns daemon lines into sessions, runs endpoint requests through
// the express adapter, streams responses back through the body coalescer and routes
// backwards_response messages to the session that asked.
import { BodyCoalescer, type CoalescerOptions } from './body-coalescer.js';
import { ExpressEndpointAdapter, type AdapterOptions, type DispatchHandle, type EndpointRoute } from './express-adapter.js';
import { HttpCodecError, decodeRawHttpRequest } from './http-codec.js';
import type { LineSink } from './ndjson.js';
import {
  backwardsResponseMessageSchema,
  endLine,
  errorData,
  DEFAULT_MAX_LINE_BYTES,
  MAX_CHUNK_BYTES,
  invokeEndpointDataSchema,
  oversizeBytes,
  requestMessageSchema,
  sessionLine,
  streamChunkLine,
  type BackwardsResponseData,
  type RequestMessage,
} from './protocol.js';
import { ReverseChannel, DEFAULT_REVERSE_TIMEOUT_MS, SessionFinishedError } from './reverse-invocation.js';
import { createDifySession } from './session.js';
import type { LogSink } from './log.js';

export interface RuntimeCoreOptions {
  routes: readonly EndpointRoute[];
  log: LogSink;
  reverseTimeoutMs?: number;
  /** the longest stdout line written (default DEFAULT_MAX_LINE_BYTES, under the daemon's 5 MiB) */
  maxLineBytes?: number;
  coalescer?: CoalescerOptions;
  adapter?: AdapterOptions;
}

interface OpenSession {
  id: string;
  channel: ReverseChannel;
  controller: AbortController;
  coalescer: BodyCoalescer;
  dispatch: DispatchHandle | null;
}

function isBackwardsResponseData(data: unknown): data is BackwardsResponseData {
  if (!data || typeof data !== 'object') return false;
  const d = data as Record<string, unknown>;
  return typeof d['backwards_request_id'] === 'string' && (d['event'] === 'response' || d['event'] === 'error' || d['event'] === 'end');
}

export class SessionClosedError extends Error {
  override readonly name = 'SessionClosedError';
}

/** A sink that forwards to whatever the current connection is (TCP reconnects swap it). */
export class SwitchableSink implements LineSink {
  current: LineSink | null = null;
  write(line: string): void {
    this.current?.write(line);
  }
  get writable(): boolean {
    return this.current?.writable ?? false;
  }
  get closed(): boolean {
    return this.current?.closed ?? true;
  }
  onDrain(listener: () => void): void {
    if (this.current) this.current.onDrain(listener);
  }
}

export class RuntimeCore {
  private readonly sessions = new Map<string, OpenSession>();
  private readonly adapter: ExpressEndpointAdapter;
  private readonly reverseTimeoutMs: number;
  private readonly maxLineBytes: number;
  private accepting = true;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly sink: LineSink,
    private readonly options: RuntimeCoreOptions,
  ) {
    this.adapter = new ExpressEndpointAdapter(options.routes, (level, message) => options.log(level, message), options.adapter);
    this.reverseTimeoutMs = options.reverseTimeoutMs ?? DEFAULT_REVERSE_TIMEOUT_MS;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  get openSessions(): number {
    return this.sessions.size;
  }

  handleLine(line: Buffer): void {
    let message: unknown;
    try {
      message = JSON.parse(line.toString('utf8'));
    } catch {
      this.options.log('ERROR', `daemon sent a line that is not JSON (${line.length} bytes)`);
      return;
    }
    const event = (message as { event?: unknown } | null)?.event;
    if (event === 'backwards_response') {
      // the hot path of stream relays: check the few fields used instead of a full schema parse
      const { session_id: sessionId, data } = message as { session_id?: unknown; data?: BackwardsResponseData };
      const session = typeof sessionId === 'string' ? this.sessions.get(sessionId) : undefined;
      if (!session) return;
      if (!isBackwardsResponseData(data)) {
        const parsed = backwardsResponseMessageSchema.safeParse(message);
        if (!parsed.success) {
          this.options.log('WARNING', 'malformed backwards_response ignored');
          return;
        }
        session.channel.deliver(parsed.data.data);
        return;
      }
      session.channel.deliver(data);
      return;
    }
    if (event === 'request') {
      const parsed = requestMessageSchema.safeParse(message);
      if (!parsed.success) {
        const sessionId = (message as { session_id?: unknown }).session_id;
        if (typeof sessionId === 'string' && sessionId) this.fail(sessionId, 'InvalidRequest', 'malformed request message');
        else this.options.log('WARNING', 'malformed request message ignored');
        return;
      }
      try {
        this.handleRequest(parsed.data);
      } catch (err) {
        // never leave the daemon waiting on a session we could not start
        const session = this.sessions.get(parsed.data.session_id);
        if (session) {
          session.coalescer.abort();
          session.dispatch?.abort();
          this.closeSession(session, err instanceof Error ? err : new Error(String(err)));
        }
        this.fail(parsed.data.session_id, 'PluginInternalError', err instanceof Error ? err.message : String(err));
      }
      return;
    }
    this.options.log('DEBUG', `ignored daemon message with event ${JSON.stringify(event)}`);
  }

  private handleRequest(message: RequestMessage): void {
    const id = message.session_id;
    if (this.sessions.has(id)) {
      this.options.log('WARNING', `duplicate request for open session ${id} ignored`);
      return;
    }
    if (!this.accepting) return this.fail(id, 'PluginShuttingDown', 'the plugin is shutting down');
    const { type, action } = message.data;
    if (type !== 'endpoint' || action !== 'invoke_endpoint') {
      return this.fail(id, 'NotSupportedError', `unsupported request: type=${type} action=${action}`);
    }
    const data = invokeEndpointDataSchema.safeParse(message.data);
    if (!data.success) return this.fail(id, 'InvalidRequest', 'invoke_endpoint request without raw_http_request');
    let decoded;
    try {
      decoded = decodeRawHttpRequest(data.data.raw_http_request);
    } catch (err) {
      if (err instanceof HttpCodecError) return this.fail(id, 'InvalidHTTPRequest', err.message);
      throw err;
    }

    const controller = new AbortController();
    const channel = new ReverseChannel(id, (line) => this.sink.write(line), this.reverseTimeoutMs, this.maxLineBytes);
    const sink = this.sink;
    const limit = this.maxLineBytes;
    const session: OpenSession = {
      id,
      channel,
      controller,
      dispatch: null,
      coalescer: new BodyCoalescer(
        {
          sendChunk: (chunk, last) => {
            const line = streamChunkLine(id, chunk);
            const size = oversizeBytes(line, limit);
            if (size > 0) {
              // only headers can make it so (bodies leave in slices that fit): fail the session, not the process
              session.coalescer.abort();
              session.dispatch?.abort();
              this.closeSession(session, new SessionClosedError('the endpoint response was too large for one line'));
              this.fail(id, 'PluginInternalError', `response chunk of ${size} bytes exceeds the ${limit}-byte line limit of the plugin daemon`);
              return;
            }
            // chunk and end in one write when they leave together
            sink.write(last ? line + endLine(id) : line);
            if (last) this.closeSession(session, new SessionClosedError('the endpoint response has ended'));
          },
          sendEnd: () => {
            sink.write(endLine(id));
            this.closeSession(session, new SessionClosedError('the endpoint response has ended'));
          },
          get writable() {
            return sink.writable;
          },
          onDrain: (listener) => sink.onDrain(listener),
        },
        {
          ...this.options.coalescer,
          // a hex body slice plus its envelope must fit in one line
          maxChunkBytes: Math.min(this.options.coalescer?.maxChunkBytes ?? MAX_CHUNK_BYTES, Math.floor((limit - 16 * 1024) / 2)),
          noBody: decoded.method === 'HEAD',
        },
      ),
    };
    this.sessions.set(id, session);
    const context = {
      settings: (data.data.settings ?? {}) as Record<string, unknown>,
      session: createDifySession(id, channel, controller.signal),
      endpointId: message.endpoint_id ?? null,
    };
    session.dispatch = this.adapter.handle(decoded, context, {
      head: (head) => session.coalescer.setHead(head),
      body: (bytes) => session.coalescer.write(bytes),
      end: () => {
        // the coalescer may hold `end` back a few ms: an invoke written meanwhile would reach the
        // daemon for a response that has finished, so new calls are refused from here on
        channel.refuseNew(new SessionFinishedError('the endpoint response has ended: no new reverse invocations on its session', 'session'));
        session.coalescer.end();
      },
    });
  }

  /** `error` then `end`, as the SDK does for any failure outside the handler. */
  private fail(sessionId: string, errorType: string, message: string): void {
    this.options.log('WARNING', `session ${sessionId} failed: ${errorType}: ${message}`);
    this.sink.write(sessionLine(sessionId, 'error', errorData(errorType, message)));
    this.sink.write(endLine(sessionId));
  }

  private closeSession(session: OpenSession, reason: Error): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    session.channel.close(reason);
    session.controller.abort(reason);
    if (this.sessions.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Fails every reverse invocation in flight (their answers can no longer arrive). */
  failReverseCalls(reason: Error): void {
    for (const session of this.sessions.values()) session.channel.close(reason);
  }

  /**
   * Aborts every open session: its handler sees req/res 'close' and an aborted signal. If the
   * transport still works the daemon is told (`error` + `end`).
   */
  abortAll(reason: Error, notify: boolean): void {
    for (const session of [...this.sessions.values()]) {
      session.coalescer.abort();
      session.dispatch?.abort();
      this.closeSession(session, reason);
      if (notify && !this.sink.closed) {
        this.sink.write(sessionLine(session.id, 'error', errorData(reason.name, reason.message)));
        this.sink.write(endLine(session.id));
      }
    }
  }

  /** Stops accepting requests, lets open sessions finish for up to `graceMs`, then aborts the rest. */
  async shutdown(graceMs: number, reason: Error, notify: boolean): Promise<void> {
    this.accepting = false;
    if (this.sessions.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.abortAll(reason, notify);
  }
}
