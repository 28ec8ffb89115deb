// The daemon's side of one plugin connection (stdio pipes or a registered TCP socket), following
// plugin-protocol.md and daemon-calibration.md: endpoint sessions with the daemon's response
// semantics (status 100 default, one value per header, the 128-pending-chunk drop, the first-chunk
// truncation race, error -> 500 JSON), and backwards invocations answered from ReverseHandlers
// plus the built-in storage.
import { randomUUID } from 'node:crypto';
import { buildRawHttpRequest, canonicalHeaderKey, type ClientRequest } from './go-request.js';

export interface ReverseHandlers {
  app?(request: Record<string, any>): AsyncIterable<Record<string, any>> | Iterable<Record<string, any>>;
  llm?(request: Record<string, any>): AsyncIterable<Record<string, any>> | Iterable<Record<string, any>>;
  llm_structured_output?(request: Record<string, any>): AsyncIterable<Record<string, any>> | Iterable<Record<string, any>>;
  text_embedding?(request: Record<string, any>): Promise<Record<string, any>> | Record<string, any>;
  /** stream of `{result: <hex audio>}` */
  tts?(request: Record<string, any>): AsyncIterable<Record<string, any>> | Iterable<Record<string, any>>;
  /** one `{result: <text>}`; the request's `file` is hex */
  speech2text?(request: Record<string, any>): Promise<Record<string, any>> | Record<string, any>;
  fetch_app?(request: Record<string, any>): Promise<Record<string, any>> | Record<string, any>;
  upload_file?(request: Record<string, any>): Promise<Record<string, any>> | Record<string, any>;
  /** replaces the built-in storage */
  storage?(request: Record<string, any>): Promise<Record<string, any>> | Record<string, any>;
}

export interface InvokeRequest {
  method: string;
  path: string;
  query?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  settings?: Record<string, unknown>;
}

export interface InvokeOptions {
  /** how long the emulated HTTP client takes to read each body chunk (default 0: instantly) */
  clientChunkDelayMs?: number;
  endpointId?: string;
  /** send this exact hex instead of building the request (hostile-input tests) */
  rawHex?: string;
  /** send this `data` instead of an invoke_endpoint request */
  rawData?: Record<string, unknown>;
}

export interface InvokeResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** `stream` chunks that carried `result` */
  chunks: number;
  /** chunks the daemon's 128-deep queue dropped */
  dropped: number;
  /** the first-chunk truncation race cut the body */
  truncated: boolean;
  /** the session's `error` payload, if any */
  error: { error_type: string; message: string; args: Record<string, unknown> } | null;
  /** ms from sending the request to the first body chunk */
  firstChunkMs: number | null;
}

/** Where the daemon writes the response of one HTTP request. */
export interface ResponseOutput {
  start(status: number, headers: Record<string, string>): void;
  /** resolves when the client has taken the bytes */
  write(bytes: Buffer): Promise<void> | void;
  end(): void;
  fail(status: number, json: Record<string, unknown>): void;
}

export const BODY_QUEUE_LIMIT = 128;
/** ms after the first body chunk within which an `end` makes the daemon drop the rest */
export const TRUNCATION_RACE_MS = 1;
export const MAX_LINE_BYTES = 5 * 1024 * 1024;

// Arrival times are only as good as this process's event loop: lines written milliseconds apart
// arrive in one read when the loop was blocked. A ticker tells a true race from such a stall, so
// a busy test process does not report a truncation the plugin did not cause.
const STALL_MS = 4;
/** lines that piled up during a stall are read soon after it: their timing stays suspect this long */
const AFTER_STALL_MS = 20;
let lastTick = performance.now();
let lastStallEndedAt = -Infinity;
setInterval(() => {
  const now = performance.now();
  if (now - lastTick > STALL_MS) lastStallEndedAt = now;
  lastTick = now;
}, 1).unref();
function loopWasStalled(now: number): boolean {
  return now - lastTick > STALL_MS || now - lastStallEndedAt < AFTER_STALL_MS;
}

interface EndpointSession {
  id: string;
  startedAt: number;
  status: number;
  headers: Map<string, [string, string]>;
  bodyStarted: boolean;
  broken: boolean;
  firstBodyAt: number;
  /** the first body chunk was read right after an event-loop stall: its timing is unknown */
  firstBodyStalled: boolean;
  chunks: number;
  /** chunks taken by the daemon but not yet written to the client */
  pending: number;
  writer: Promise<void>;
  cut: boolean;
  dropped: number;
  truncated: boolean;
  error: InvokeResult['error'];
  output: ResponseOutput;
  done: (result: { truncated: boolean; dropped: number; chunks: number; error: InvokeResult['error'] }) => void;
  finished: boolean;
}

const STORAGE_KEY_RULE = (key: unknown): string | null => {
  if (typeof key !== 'string' || key.length === 0) return 'key is required';
  if (key.length > 256) return 'key length must be less than 256 characters';
  if (key.includes('..') || key.includes('//') || key.includes('\\')) return 'invalid key';
  return null;
};

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

export class DaemonCore {
  readonly reverseCalls: Array<{ type: string; request: Record<string, any> }>;
  readonly protocolViolations: string[];
  readonly logs: Array<{ level: string; message: string; timestamp: number }> = [];
  readonly storage: Map<string, Buffer>;
  heartbeats = 0;
  /** bytes the built-in storage may hold (the plugin's storage.size); unlimited when null */
  storageQuota: number | null = null;
  firstHeartbeatAt: number | null = null;
  private readonly sessions = new Map<string, EndpointSession>();
  private heartbeatWaiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly write: (line: string) => void,
    private readonly reverse: ReverseHandlers = {},
    storage?: Map<string, Buffer>,
    /** tell event-loop stalls of this process from real races (off only for hand-timed tests) */
    private readonly detectStalls = true,
    /** lists shared across connections (remote debugging keeps them over reconnects) */
    shared: { reverseCalls?: DaemonCore['reverseCalls']; protocolViolations?: string[] } = {},
  ) {
    this.storage = storage ?? new Map();
    this.reverseCalls = shared.reverseCalls ?? [];
    this.protocolViolations = shared.protocolViolations ?? [];
  }

  get openSessions(): number {
    return this.sessions.size;
  }

  onHeartbeat(): Promise<void> {
    if (this.firstHeartbeatAt !== null) return Promise.resolve();
    return new Promise((resolve) => this.heartbeatWaiters.push(resolve));
  }

  /** One line the plugin wrote (without its newline). */
  handleLine(line: Buffer, at = performance.now()): void {
    if (line.length === 0) return;
    if (line.length > MAX_LINE_BYTES) {
      this.protocolViolations.push(`line longer than 5 MiB (${line.length} bytes): the daemon would kill the plugin`);
      return;
    }
    let message: any;
    try {
      message = JSON.parse(line.toString('utf8'));
    } catch {
      this.protocolViolations.push(`not JSON: ${line.toString('utf8').slice(0, 200)}`);
      return;
    }
    if (!message || typeof message !== 'object' || Array.isArray(message)) {
      this.protocolViolations.push(`not a JSON object: ${line.toString('utf8').slice(0, 200)}`);
      return;
    }
    switch (message.event) {
      case 'heartbeat':
        this.heartbeats++;
        if (this.firstHeartbeatAt === null) {
          this.firstHeartbeatAt = at;
          for (const wake of this.heartbeatWaiters.splice(0)) wake();
        }
        return;
      case 'log': {
        const data = message.data ?? {};
        if (typeof data.level !== 'string' || typeof data.message !== 'string') this.protocolViolations.push(`malformed log event: ${line.toString().slice(0, 200)}`);
        this.logs.push({ level: String(data.level), message: String(data.message), timestamp: Number(data.timestamp) });
        return;
      }
      case 'error':
        return;
      case 'session':
        this.handleSessionMessage(message, at, line);
        return;
      default:
        this.protocolViolations.push(`unknown event: ${line.toString('utf8').slice(0, 200)}`);
    }
  }

  private handleSessionMessage(message: any, at: number, line: Buffer): void {
    const sessionId = message.session_id;
    const payload = message.data;
    if (typeof sessionId !== 'string' || !payload || typeof payload !== 'object' || typeof payload.type !== 'string' || !('data' in payload)) {
      this.protocolViolations.push(`malformed session message: ${line.toString('utf8').slice(0, 200)}`);
      return;
    }
    const session = this.sessions.get(sessionId);
    if (!session) return; // unknown or closed sessions are dropped silently, as by the daemon
    switch (payload.type) {
      case 'stream':
        return this.onStreamChunk(session, payload.data, at);
      case 'invoke':
        return void this.onInvoke(session, payload.data);
      case 'error': {
        const data = payload.data;
        if (!data || typeof data.error_type !== 'string' || typeof data.message !== 'string' || (data.args && Object.keys(data.args).length > 10)) {
          // an ErrorResponse that does not validate is ignored and the stream stays open
          this.protocolViolations.push(`invalid error payload: ${line.toString('utf8').slice(0, 200)}`);
          return;
        }
        session.error = { error_type: data.error_type, message: data.message, args: data.args ?? {} };
        return this.finishSession(session, at, true);
      }
      case 'end':
        return this.finishSession(session, at, false);
      default:
        this.protocolViolations.push(`unknown session message type ${payload.type}`);
        session.error = { error_type: 'unknown_stream_message_type', message: `unknown stream message type: ${payload.type}`, args: {} };
        this.finishSession(session, at, true);
    }
  }

  private onStreamChunk(session: EndpointSession, chunk: any, at: number): void {
    if (session.finished || session.broken) return;
    if (!chunk || typeof chunk !== 'object') {
      this.protocolViolations.push('stream chunk is not an object');
      session.error = { error_type: 'unmarshal_error', message: 'stream chunk is not an object', args: {} };
      return this.finishSession(session, at, true);
    }
    if (!session.bodyStarted) {
      if (chunk.status !== undefined) {
        if (typeof chunk.status !== 'number' || !Number.isInteger(chunk.status) || chunk.status < 0 || chunk.status > 65535) {
          this.protocolViolations.push(`status is not a uint16: ${JSON.stringify(chunk.status)}`);
          session.error = { error_type: 'unmarshal_error', message: 'bad status', args: {} };
          return this.finishSession(session, at, true);
        }
        if (chunk.status) session.status = chunk.status;
      }
      if (chunk.headers !== undefined && chunk.headers !== null) {
        for (const [name, value] of Object.entries(chunk.headers)) {
          if (typeof value !== 'string') {
            this.protocolViolations.push(`header ${name} has a non-string value`);
            session.error = { error_type: 'unmarshal_error', message: 'bad header value', args: {} };
            return this.finishSession(session, at, true);
          }
          // http.Header.Set: canonical key, one value per name
          const lower = name.toLowerCase();
          if (!session.headers.has(lower)) session.headers.set(lower, [canonicalHeaderKey(name), value]);
        }
      }
      if (chunk.result === undefined || chunk.result === null) return;
      const bytes = this.decodeHex(chunk.result);
      if (bytes === null) {
        session.error = { error_type: 'hex_error', message: 'invalid hex in result', args: {} };
        return this.finishSession(session, at, true);
      }
      session.bodyStarted = true;
      session.firstBodyAt = at;
      session.firstBodyStalled = this.detectStalls && loopWasStalled(at);
      session.chunks++;
      const headers: Record<string, string> = {};
      for (const [name, value] of session.headers.values()) headers[name] = value;
      session.output.start(session.status, headers);
      session.writer = Promise.resolve(session.output.write(bytes));
      return;
    }
    if (typeof chunk.result !== 'string') {
      // the daemon dereferences result without a nil check: the body ends early
      this.protocolViolations.push('stream chunk after the first body chunk has no result');
      session.broken = true;
      return;
    }
    const bytes = this.decodeHex(chunk.result);
    if (bytes === null) {
      session.broken = true;
      return;
    }
    session.chunks++;
    if (session.pending >= BODY_QUEUE_LIMIT) {
      // non-blocking enqueue, error ignored: the chunk is lost
      session.dropped++;
      return;
    }
    session.pending++;
    session.writer = session.writer.then(async () => {
      if (!session.cut) await session.output.write(bytes);
      session.pending--;
    });
  }

  private decodeHex(hex: unknown): Buffer | null {
    if (typeof hex !== 'string') return null;
    const bytes = Buffer.from(hex, 'hex');
    return bytes.length * 2 === hex.length ? bytes : null;
  }

  private finishSession(session: EndpointSession, at: number, isError: boolean): void {
    if (session.finished) return;
    session.finished = true;
    this.sessions.delete(session.id);
    const complete = async (): Promise<void> => {
      if (!session.bodyStarted) {
        if (isError) {
          session.output.fail(500, { code: -500, message: session.error?.message ?? 'internal error', data: null });
        } else {
          // a response without body: status and headers only
          const headers: Record<string, string> = {};
          for (const [name, value] of session.headers.values()) headers[name] = value;
          session.output.start(session.status, headers);
          session.output.end();
        }
      } else {
        if (at - session.firstBodyAt < TRUNCATION_RACE_MS && session.chunks > 1 && !session.firstBodyStalled) {
          // the copier goroutine finds the stream already closed: only the first chunk gets out
          session.truncated = true;
          session.cut = true;
        }
        await session.writer;
        if (isError && session.error) await session.output.write(Buffer.from(session.error.message));
        session.output.end();
      }
      session.done({ truncated: session.truncated, dropped: session.dropped, chunks: session.chunks, error: session.error });
    };
    void complete();
  }

  private async onInvoke(session: EndpointSession, data: any): Promise<void> {
    if (!data || typeof data.type !== 'string' || typeof data.backwards_request_id !== 'string' || !data.request || typeof data.request !== 'object') {
      this.protocolViolations.push(`malformed invoke: ${JSON.stringify(data).slice(0, 200)}`);
      session.error = { error_type: 'invoke_dify_error', message: 'invalid backwards invocation', args: {} };
      this.finishSession(session, performance.now(), true);
      return;
    }
    const { type, backwards_request_id: requestId } = data as { type: string; backwards_request_id: string };
    const request: Record<string, any> = { ...data.request, tenant_id: 'tenant-simulated', user_id: '', type };
    this.reverseCalls.push({ type, request });
    const send = (event: 'response' | 'error' | 'end', message: string, payload: unknown): void => {
      // a finished session (the plugin's `end`, or the HTTP client gone) has no listener any more
      if (this.closed || session.finished) return;
      this.write(
        JSON.stringify({
          session_id: session.id,
          conversation_id: null,
          message_id: null,
          app_id: null,
          endpoint_id: 'endpoint-simulated',
          context: null,
          event: 'backwards_response',
          data: { backwards_request_id: requestId, event, message, data: payload },
        }) + '\n',
      );
    };
    try {
      switch (type) {
        case 'app':
        case 'llm':
        case 'llm_structured_output':
        case 'tts': {
          const handler = this.reverse[type];
          if (!handler) throw new Error(`the simulated daemon has no ${type} handler`);
          for await (const item of handler(request) as AsyncIterable<Record<string, any>>) {
            // the call into Dify runs on the session's context: it is cancelled with the session
            if (session.finished) break;
            send('response', 'stream', type === 'app' ? sortKeysDeep(item) : item);
          }
          break;
        }
        case 'text_embedding':
        case 'speech2text':
        case 'fetch_app':
        case 'upload_file': {
          const handler = this.reverse[type];
          if (!handler) throw new Error(`the simulated daemon has no ${type} handler`);
          send('response', 'struct', await handler(request));
          break;
        }
        case 'storage':
          send('response', 'struct', this.reverse.storage ? await this.reverse.storage(request) : this.storageOp(request));
          break;
        default:
          throw new Error(`unknown invoke type: ${type}`);
      }
    } catch (err) {
      send('error', err instanceof Error ? err.message : String(err), null);
    }
    send('end', '', null);
  }

  private storageOp(request: Record<string, any>): Record<string, any> {
    const keyError = STORAGE_KEY_RULE(request['key']);
    if (keyError) throw new Error(keyError);
    const key = request['key'] as string;
    switch (request['opt']) {
      case 'set': {
        const value = request['value'];
        const bytes = typeof value === 'string' ? Buffer.from(value, 'hex') : null;
        if (bytes === null || bytes.length * 2 !== value.length) throw new Error('invalid hex value');
        this.storage.set(key, bytes);
        if (this.storageQuota !== null) {
          let used = 0;
          for (const [k, v] of this.storage) used += k.length + v.length;
          // the daemon reports the quota failure after the value has been written
          if (used > this.storageQuota) throw new Error(`storage quota exceeded: ${used} > ${this.storageQuota} bytes`);
        }
        return { data: 'ok' };
      }
      case 'get': {
        const value = this.storage.get(key);
        if (!value) throw new Error(`load data failed, key ${key} not found`);
        return { data: value.toString('hex') };
      }
      case 'del': {
        if (!this.storage.has(key)) throw new Error(`delete data failed, key ${key} not found`);
        this.storage.delete(key);
        return { data: 'ok', deleted_num: 1 };
      }
      case 'exist': {
        const exists = this.storage.has(key);
        return { data: exists, exist_num: exists ? 1 : 0 };
      }
      default:
        throw new Error(`unknown storage operation: ${request['opt']}`);
    }
  }

  /**
   * The HTTP client went away before the plugin's `end`: the daemon cancels the session's context
   * (internal/service/endpoint.go CloseNotify), its listener goes, so nothing more is written to the
   * plugin for it (backwards responses included) and later plugin messages for it are dropped.
   */
  cancelSession(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (!session || session.finished) return;
    session.finished = true;
    session.cut = true;
    this.sessions.delete(sessionId);
    this.cancelledSessions++;
    session.done({ truncated: session.truncated, dropped: session.dropped, chunks: session.chunks, error: session.error });
  }

  /** sessions cancelled because their HTTP client went away */
  cancelledSessions = 0;

  /** Starts one endpoint session; the response goes to `output`. */
  startSession(
    req: InvokeRequest,
    output: ResponseOutput,
    options: InvokeOptions & { client?: Partial<ClientRequest> } = {},
  ): { sessionId: string; finished: Promise<{ truncated: boolean; dropped: number; chunks: number; error: InvokeResult['error'] }> } {
    const sessionId = randomUUID();
    let done!: EndpointSession['done'];
    const finished = new Promise<Parameters<EndpointSession['done']>[0]>((resolve) => (done = resolve));
    const session: EndpointSession = {
      id: sessionId,
      startedAt: performance.now(),
      status: 100,
      headers: new Map(),
      bodyStarted: false,
      broken: false,
      firstBodyAt: 0,
      firstBodyStalled: false,
      chunks: 0,
      pending: 0,
      writer: Promise.resolve(),
      cut: false,
      dropped: 0,
      truncated: false,
      error: null,
      output,
      done,
      finished: false,
    };
    this.sessions.set(sessionId, session);
    if (this.closed) {
      // the plugin is gone: fail at once instead of waiting forever
      session.error = { error_type: 'ConnectionClosedError', message: 'Connection closed unexpectedly', args: {} };
      this.finishSession(session, performance.now(), true);
      return { sessionId, finished };
    }
    const raw =
      options.rawHex ??
      buildRawHttpRequest({
        method: req.method,
        path: req.path,
        ...(req.query !== undefined ? { query: req.query } : {}),
        ...(req.headers ? { headers: req.headers } : {}),
        ...(req.body !== undefined ? { body: req.body } : {}),
        ...options.client,
      }).toString('hex');
    const data = options.rawData ?? {
      action: 'invoke_endpoint',
      raw_http_request: raw,
      settings: req.settings ?? {},
      type: 'endpoint',
      user_id: '',
    };
    this.write(
      JSON.stringify({
        session_id: sessionId,
        conversation_id: null,
        message_id: null,
        app_id: null,
        endpoint_id: options.endpointId ?? 'endpoint-simulated',
        context: null,
        event: 'request',
        data,
      }) + '\n',
    );
    return { sessionId, finished };
  }

  /** One endpoint invocation with an emulated HTTP client reading the daemon's response. */
  async invoke(req: InvokeRequest, options: InvokeOptions = {}): Promise<InvokeResult> {
    const sentAt = performance.now();
    let status = 0;
    let headers: Record<string, string> = {};
    const body: Buffer[] = [];
    let firstChunkMs: number | null = null;
    const delay = options.clientChunkDelayMs ?? 0;
    const output: ResponseOutput = {
      start(s, h) {
        status = s;
        headers = h;
      },
      write(bytes) {
        if (firstChunkMs === null) firstChunkMs = performance.now() - sentAt;
        body.push(bytes);
        if (delay > 0) return new Promise((resolve) => setTimeout(resolve, delay));
      },
      end() {},
      fail(s, json) {
        status = s;
        headers = { 'Content-Type': 'application/json; charset=utf-8' };
        body.push(Buffer.from(JSON.stringify(json)));
      },
    };
    const { finished } = this.startSession(req, output, options);
    const result = await finished;
    return { status, headers, body: Buffer.concat(body), firstChunkMs, ...result };
  }

  /** The connection is gone: open sessions fail like the daemon's synthetic ConnectionClosedError. */
  close(): void {
    this.closed = true;
    for (const session of [...this.sessions.values()]) {
      session.error = { error_type: 'ConnectionClosedError', message: 'Connection closed unexpectedly', args: {} };
      this.finishSession(session, performance.now(), true);
    }
  }
}
