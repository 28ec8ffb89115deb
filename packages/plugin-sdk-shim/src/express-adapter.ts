// Runs a decoded request through an express app without a network hop: the request is a real
// http.IncomingMessage fed from memory, the response a real http.ServerResponse whose "socket" is a
// Writable that receives the serialised head and body as the handler writes them and hands them to
// the body coalescer. Everything express and its middleware rely on (prototypes, headers, streaming,
// HEAD without body, 'finish'/'close') behaves as under http.Server, at a fraction of the cost.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { DecodedRequest } from './http-codec.js';
import type { ResponseHead } from './body-coalescer.js';
import { RuleRouter, type RouteValues } from './router.js';
import type { DifySession } from './session.js';

export interface EndpointRoute {
  /** werkzeug rule, e.g. `/v1/chat/completions` or `/files/<path:name>` */
  rule: string;
  /** HEAD GET POST PUT DELETE OPTIONS; a GET route also answers HEAD */
  method: string;
  /** an express handler or Router, called as if registered with `app[method](rule, handler)` */
  handler: RequestHandler;
}

export interface DifyRequestContext {
  settings: Record<string, unknown>;
  session: DifySession;
  endpointId: string | null;
  /** werkzeug path parameters (also in `req.params`) */
  values: Record<string, string | number>;
}

/** Receives the response as it is produced. */
export interface ResponseReceiver {
  head(head: ResponseHead): void;
  body(data: Buffer): void;
  end(): void;
}

export interface DispatchHandle {
  /** The session or transport went away: abort the request ('close' fires on req and res). */
  abort(): void;
}

export interface AdapterOptions {
  /** see RuleRouterOptions.mergeSlashes (default false: werkzeug's strictness) */
  mergeSlashes?: boolean;
  /**
   * Answers requests no rule matches, instead of the SDK's text 404 (`res.locals.dify` is set, with
   * empty values). Without it: 404 `Failed to dispatch endpoint request: <werkzeug message>`.
   */
  notFound?: RequestHandler;
}

export type LogFn = (level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR', message: string) => void;

/** The request context the runtime puts on `res.locals.dify`; throws outside the plugin runtime. */
export function getDifyContext(res: { locals: Record<string, unknown> }): DifyRequestContext {
  const context = res.locals['dify'] as DifyRequestContext | undefined;
  if (!context) throw new Error('res.locals.dify is not set: this request did not come through the plugin runtime');
  return context;
}

const kContext = Symbol('dify.context');
const HOP_BY_HOP = new Set(['connection', 'transfer-encoding', 'keep-alive', 'date']);

interface ContextCarrier {
  [kContext]?: Omit<DifyRequestContext, 'values'>;
}

export class ExpressEndpointAdapter {
  private readonly app: express.Express;
  private readonly router: RuleRouter<EndpointRoute>;

  constructor(
    routes: readonly EndpointRoute[],
    private readonly log: LogFn = () => {},
    private readonly options: AdapterOptions = {},
  ) {
    this.router = new RuleRouter<EndpointRoute>({ mergeSlashes: options.mergeSlashes ?? false });
    for (const route of routes) this.router.add(route.rule, route.method, route);
    const app = express();
    app.disable('x-powered-by');
    app.use(this.dispatch);
    app.use(this.fallThrough);
    app.use(this.onError);
    this.app = app;
  }

  handle(request: DecodedRequest, context: Omit<DifyRequestContext, 'values'>, receiver: ResponseReceiver): DispatchHandle {
    const socket = new ResponseSocket(receiver);
    const req = new IncomingMessage(socket as never);
    req.method = request.method;
    req.url = request.target;
    req.httpVersion = request.httpVersion;
    req.httpVersionMajor = 1;
    req.httpVersionMinor = request.httpVersion === '1.0' ? 0 : 1;
    req.rawHeaders = request.rawHeaders;
    // Node's own header rules (duplicates, set-cookie, joins), as the HTTP parser would apply them
    (req as unknown as { _addHeaderLines(h: string[], n: number): void })._addHeaderLines(request.rawHeaders, request.rawHeaders.length);
    req.push(request.body.length > 0 ? request.body : null);
    if (request.body.length > 0) req.push(null);
    req.complete = true;
    (req as ContextCarrier)[kContext] = context;

    const res = new ServerResponse(req);
    res.useChunkedEncodingByDefault = false;
    res.shouldKeepAlive = false;
    res.sendDate = false;
    res.assignSocket(socket as never);
    res.on('finish', () => {
      socket.finished = true;
      receiver.end();
      if (!req.readableEnded) req.resume();
      // like http.Server: 'close' follows 'finish' (once the write callbacks have run)
      setImmediate(() => socket.destroy());
    });

    this.app(req as express.Request, res as express.Response);
    return {
      abort: () => {
        if (socket.finished) return;
        socket.aborted = true;
        req.destroy();
        socket.destroy();
      },
    };
  }

  private readonly dispatch: RequestHandler = (req, res, next) => {
    const match = this.router.match(req.method, pathOf(req.url));
    const context = (req as ContextCarrier)[kContext]!;
    if (!match.ok) {
      if (this.options.notFound) {
        res.locals['dify'] = { ...context, values: {} } satisfies DifyRequestContext;
        invoke(this.options.notFound, req, res, next);
        return;
      }
      res.status(404).type('text/plain').send(`Failed to dispatch endpoint request: ${match.message}`);
      return;
    }
    req.params = match.values as Record<string, string>;
    res.locals['dify'] = { ...context, values: match.values } satisfies DifyRequestContext;
    invoke(match.route.handler, req, res, next);
  };

  private readonly fallThrough: RequestHandler = (_req, res) => {
    res.status(404).type('text/plain').send('Failed to dispatch endpoint request: 404 Not Found: The handler did not answer the request.');
  };

  private readonly onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const message = err instanceof Error ? err.message : String(err);
    const name = err instanceof Error ? err.name : typeof err;
    const status = clientErrorStatus(err);
    this.log(status ? 'INFO' : 'ERROR', `endpoint handler failed: ${name}: ${message}`);
    if (res.headersSent) {
      // the status line has left; end the body as it is
      res.end();
      return;
    }
    res.removeHeader('Content-Length');
    res.removeHeader('Content-Encoding');
    if (status) res.status(status).type('text/plain').send(message);
    else res.status(500).type('text/plain').send(`Internal Server Error: ${message}`);
  };
}

function invoke(handler: RequestHandler, req: express.Request, res: express.Response, next: express.NextFunction): void {
  try {
    const result: unknown = handler(req, res, next);
    if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(undefined, next);
  } catch (err) {
    next(err);
  }
}

/** http-errors style client errors (body-parser's 400/413/415) keep their status and message. */
function clientErrorStatus(err: unknown): number | null {
  if (!err || typeof err !== 'object') return null;
  const e = err as { status?: unknown; statusCode?: unknown; expose?: unknown };
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : null;
  if (status !== null && status >= 400 && status < 500 && e.expose === true) return status;
  return null;
}

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

/**
 * The response's socket: parses the serialised head once, then forwards body bytes (decoding a
 * chunked framing if a handler set `Transfer-Encoding: chunked` itself).
 */
class ResponseSocket extends Writable {
  finished = false;
  aborted = false;
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly encrypted = false;
  /** on-finished (body-parser) treats a request whose socket is not readable as already read */
  readable = true;
  _paused = false;
  private headBuffer: Buffer | null = null;
  private headDone = false;
  private chunked: ChunkedDecoder | null = null;

  constructor(private readonly receiver: ResponseReceiver) {
    super({ decodeStrings: true });
  }

  resume(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.readable = false;
    callback(error);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.accept(chunk);
    callback();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    for (const { chunk } of chunks) this.accept(chunk);
    callback();
  }

  private accept(chunk: Buffer): void {
    if (this.aborted) return;
    if (!this.headDone) {
      const data = this.headBuffer ? Buffer.concat([this.headBuffer, chunk]) : chunk;
      const end = data.indexOf('\r\n\r\n', 0, 'latin1');
      if (end === -1) {
        this.headBuffer = data;
        return;
      }
      this.headBuffer = null;
      this.headDone = true;
      const { head, chunked } = parseResponseHead(data.toString('latin1', 0, end));
      if (chunked) this.chunked = new ChunkedDecoder();
      this.receiver.head(head);
      chunk = data.subarray(end + 4);
      if (chunk.length === 0) return;
    }
    if (this.chunked) {
      for (const piece of this.chunked.push(chunk)) this.receiver.body(piece);
    } else {
      this.receiver.body(chunk);
    }
  }
}

function parseResponseHead(head: string): { head: ResponseHead; chunked: boolean } {
  const lines = head.split('\r\n');
  const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 200);
  const headers: Record<string, string> = {};
  const seen = new Map<string, string>();
  let chunked = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === 'transfer-encoding' && /chunked/i.test(value)) chunked = true;
    if (HOP_BY_HOP.has(lower)) continue;
    // the daemon keeps one value per name: join repeats
    const existing = seen.get(lower);
    if (existing !== undefined) headers[existing] = `${headers[existing]}, ${value}`;
    else {
      seen.set(lower, name);
      headers[name] = value;
    }
  }
  return { head: { status, headers }, chunked };
}

class ChunkedDecoder {
  private state: 'size' | 'data' | 'crlf' | 'done' = 'size';
  private remaining = 0;
  private line = '';

  push(data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < data.length && this.state !== 'done') {
      if (this.state === 'size') {
        const nl = data.indexOf(0x0a, i);
        if (nl === -1) {
          this.line += data.toString('latin1', i);
          break;
        }
        this.line += data.toString('latin1', i, nl);
        i = nl + 1;
        const size = parseInt(this.line.split(';')[0]!.trim(), 16);
        this.line = '';
        if (!(size > 0)) this.state = 'done';
        else {
          this.remaining = size;
          this.state = 'data';
        }
      } else if (this.state === 'data') {
        const take = Math.min(this.remaining, data.length - i);
        out.push(data.subarray(i, i + take));
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'crlf';
      } else {
        const nl = data.indexOf(0x0a, i);
        if (nl === -1) break;
        i = nl + 1;
        this.state = 'size';
      }
    }
    return out;
  }
}
