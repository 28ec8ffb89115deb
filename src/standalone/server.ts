/**
 * The standalone HTTP server: the plugin's endpoint groups mounted side by side on express, over the
 * Dify Service API backend and a SQLite or Redis store, plus the operations a server needs (request
 * ids, JSON logs without secrets, /healthz, /metrics, CORS, body limits, rate limit, graceful stop).
 *
 * Routing: each configured endpoint contributes its group's declared routes (settings/<group>.yaml +
 * endpoints/*.yaml, the same files the plugin serves) under its prefix, each `/v1/...` rule also
 * without `/v1`. A handler sees what it sees in the plugin: its route path in req.url, the endpoint's
 * settings and apps in the EndpointContext.
 */
import { createHash, randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import pino, { type Logger } from 'pino';
import type { AppHandle, AppInfo, KeyValueStore } from '../backend/types.js';
// The shim's werkzeug router, by path (the daemon runtime stays out of this bundle).
import { RuleRouter } from '../../packages/plugin-sdk-shim/src/router.js';
import { groups as registeredGroups } from '../groups/registry.js';
import type { GroupModule } from '../groups/types.js';
import { setEndpointContext, type EndpointContext } from '../host/context.js';
import { RedisKeyValueStore } from '../memory/redis-store.js';
import { SqliteKeyValueStore } from '../memory/sqlite-store.js';
import type { EndpointConfig, GroupName, StandaloneConfig } from './config.js';
import { findDeclarationRoot, loadStandaloneGroup } from './group-routes.js';
import { Metrics } from './metrics.js';
import { RateLimiter } from './rate-limit.js';
import { DifyServiceApi } from './service-api.js';

export interface StandaloneServerOptions {
  config: StandaloneConfig;
  log?: Logger;
  /** Overrides the store the config would open (tests). */
  store?: KeyValueStore;
  /** Overrides the registered groups (tests). */
  groups?: Partial<Record<GroupName, GroupModule>>;
  /** Folder with settings/ and endpoints/ (default: found next to the code). */
  declarationRoot?: string;
}

export interface StandaloneServer {
  readonly app: express.Express;
  readonly server: http.Server;
  readonly metrics: Metrics;
  readonly store: KeyValueStore;
  readonly log: Logger;
  /** Set after listen(). */
  url: string;
  listen(): Promise<string>;
  /** Stops accepting, lets open responses finish for up to graceMs, then closes everything. */
  close(graceMs?: number): Promise<void>;
  /** Names of the routes mounted, e.g. `POST /v1/chat/completions (openai)`. */
  readonly routes: string[];
  /** Declared routes whose handler is missing (group not implemented yet). */
  readonly missing: string[];
  /** The configured apps by config ref (env mode: app1, app2...). */
  readonly apps: ReadonlyMap<string, AppHandle>;
}

/**
 * The host's per-request state in res.locals: one fixed shape (no property descriptors, which
 * turn an object into a slow dictionary), the child logger made on first use.
 */
class RequestLocals {
  route = 'unmatched';
  streaming = false;
  private child: Logger | undefined;
  constructor(
    readonly reqId: string,
    private readonly base: Logger,
  ) {}
  get log(): Logger {
    return (this.child ??= this.base.child({ reqId: this.reqId }));
  }
  get loggedBefore(): boolean {
    return this.child !== undefined;
  }
}

const LOCALS = Symbol('request locals');

interface MountedRoute {
  rule: string;
  endpoint: EndpointConfig;
  /** What a request's context inherits: the endpoint's context plus a `log` read from the request's locals. */
  context: EndpointContext;
  handler: RequestHandler;
  /** Body parsed here (JSON, with the size limit) before the handler runs. */
  parseJson: boolean;
}

/** What every request context of an endpoint inherits: the endpoint's context, and `log` from the request's locals. */
function requestContextPrototype(endpoint: Omit<EndpointContext, 'log'>): EndpointContext {
  return Object.create(endpoint, {
    log: {
      get(this: { [LOCALS]: RequestLocals }) {
        return this[LOCALS].log;
      },
      enumerable: true,
    },
  }) as EndpointContext;
}

/** An AppHandle whose info() reports a configured model name instead of the app's own. */
function renamed(handle: AppHandle, name: string): AppHandle {
  return {
    get fileTransfer() {
      return handle.fileTransfer;
    },
    get canStopEarly() {
      return handle.canStopEarly;
    },
    info: async (): Promise<AppInfo> => ({ ...(await handle.info()), name }),
    parameters: () => handle.parameters(),
    run: (request, signal) => handle.run(request, signal),
    ...(handle.runBatches ? { runBatches: handle.runBatches.bind(handle) } : {}),
    ...(handle.uploadFile ? { uploadFile: handle.uploadFile.bind(handle) } : {}),
    ...(handle.suggestedQuestions ? { suggestedQuestions: handle.suggestedQuestions.bind(handle) } : {}),
    ...(handle.rateMessage ? { rateMessage: handle.rateMessage.bind(handle) } : {}),
    ...(handle.speak ? { speak: handle.speak.bind(handle) } : {}),
    ...(handle.transcribe ? { transcribe: handle.transcribe.bind(handle) } : {}),
  };
}

function openAiError(res: Response, status: number, message: string, type: string, code: string | null, param: string | null = null, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(status).json({ error: { message, type, param, code } });
}

/**
 * Event streams: writes made in one turn of the event loop leave in one syscall. Several Dify events
 * usually arrive in one TCP read; without this each becomes its own write(2). The data is flushed
 * once the current ticks and microtasks are done, so no latency is added.
 */
function corkPerTick(res: ServerResponse): void {
  const write = res.write;
  let corkedSocket: import('node:net').Socket | null = null;
  const flush = () => {
    // Uncork the socket that was corked, even if the response has detached from it meanwhile.
    const socket = corkedSocket;
    corkedSocket = null;
    socket?.uncork();
  };
  res.write = function corkedWrite(this: ServerResponse, ...args: unknown[]) {
    const socket = this.socket;
    if (!corkedSocket && socket && !this.writableEnded) {
      corkedSocket = socket;
      socket.cork();
      process.nextTick(flush);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof res.write;
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function createStandaloneServer(options: StandaloneServerOptions): Promise<StandaloneServer> {
  const { config } = options;
  // Buffered stdout: one write per ~4 KB of log lines instead of one per line; flushed every 250 ms
  // and on close, so a quiet server's lines still show at once.
  const destination = options.log ? undefined : pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const flushTimer = destination ? setInterval(() => destination.flush(), 250).unref() : undefined;
  const log =
    options.log ??
    pino({
      level: config.logLevel,
      base: { service: 'dify-bridge' },
      // Belt and braces: nothing here logs headers, but if a handler does, keys never leave.
      redact: { paths: ['req.headers.authorization', 'req.headers["api-key"]', 'req.headers["x-api-key"]', 'headers.authorization'], censor: '[redacted]' },
    },
    destination!,
    );
  const metrics = new Metrics();

  // Store: Redis when configured (shared by instances), else the embedded SQLite file.
  let store: KeyValueStore;
  let closeStore: () => Promise<void> | void = () => {};
  if (options.store) store = options.store;
  else if (config.redisUrl) {
    const redis = new RedisKeyValueStore({ url: config.redisUrl });
    await redis.connect();
    store = redis;
    closeStore = () => redis.close();
  } else {
    const sqlite = new SqliteKeyValueStore({ file: config.sqliteFile });
    store = sqlite;
    closeStore = () => sqlite.close();
  }

  // One Service API client (one connection pool) per Dify base; one handle per app.
  const apis = new Map<string, DifyServiceApi>();
  const handles = new Map<string, AppHandle>();
  for (const app of config.apps) {
    let api = apis.get(app.base);
    if (!api) {
      api = new DifyServiceApi({ baseUrl: app.base, timeoutMs: config.timeoutMs, log, onUpstreamError: (kind) => metrics.upstreamError(kind) });
      apis.set(app.base, api);
    }
    const handle = api.app(app.key);
    handles.set(app.ref, app.model ? renamed(handle, app.model) : handle);
  }
  const handleFor = (ref: string): AppHandle => {
    const handle = handles.get(ref);
    if (!handle) throw new Error(`no app named "${ref}" is configured`);
    return handle;
  };

  const groupModules: Record<string, GroupModule> = { ...registeredGroups, ...(options.groups ?? {}) };
  const root = options.declarationRoot ?? findDeclarationRoot();
  // The plugin's router: werkzeug rules, converters and precedence; `//v1//x` matches as `/v1/x`.
  const router = new RuleRouter<MountedRoute>({ mergeSlashes: true });
  const routeNames: string[] = [];
  const missing: string[] = [];
  for (const endpoint of config.endpoints) {
    const group = groupModules[endpoint.group];
    if (!group) throw new Error(`group ${endpoint.group} is not registered`);
    const { routes, missing: notBound, settingDefaults } = loadStandaloneGroup(root, group);
    for (const m of notBound) missing.push(`${endpoint.name}: ${m}`);
    const apps = endpoint.apps.map(handleFor);
    const endpointContext: Omit<EndpointContext, 'log'> = {
      endpointId: endpoint.name,
      settings: { ...settingDefaults, ...endpoint.settings },
      app(selector: unknown): AppHandle {
        // Standalone app-selector values are app refs from the config: "support" or { app_id: "support" }.
        const ref = typeof selector === 'string' ? selector : selector && typeof selector === 'object' ? String((selector as { app_id?: unknown }).app_id ?? '') : '';
        if (ref && handles.has(ref)) return handleFor(ref);
        if (apps.length > 0 && (ref === '' || ref === undefined)) return apps[0]!;
        throw new Error(`endpoint ${endpoint.name}: app "${ref}" is not configured`);
      },
      apps: () => apps,
      store,
      baseUrl: endpoint.prefix,
      // A standalone process outlives its responses: work may go on after one is finished (webhook async mode).
      backgroundWork: true,
    };
    const contextPrototype = requestContextPrototype(endpointContext);
    for (const route of routes) {
      const rule = endpoint.prefix + (route.rule === '/' && endpoint.prefix ? '/' : route.rule);
      const mountedRoute: MountedRoute = { rule, endpoint, context: contextPrototype, handler: route.handler, parseJson: endpoint.group === 'chat-app' && route.method === 'POST' };
      router.add(rule, route.method, mountedRoute);
      // A `/` page rule at a prefix also answers the bare prefix.
      if (endpoint.prefix && rule === `${endpoint.prefix}/`) router.add(endpoint.prefix, route.method, { ...mountedRoute, rule: endpoint.prefix });
      routeNames.push(`${route.method} ${rule} (${endpoint.name})`);
    }
  }

  const limiter = config.rateLimitRpm > 0 ? new RateLimiter(config.rateLimitRpm) : undefined;
  const jsonParser = express.json({ limit: config.bodyLimitBytes, type: () => true, strict: false });
  /**
   * The common case (a plain UTF-8 body with a length or chunked) read directly: what express.json
   * does, without its per-request content-type, charset and stream plumbing. Compressed bodies,
   * other charsets and bodyless requests go through express.json, which answers them as before.
   */
  const readJson = (req: Request, res: Response, done: (error?: unknown) => void): void => {
    const headers = req.headers;
    const encoding = headers['content-encoding'];
    const type = headers['content-type'];
    const plain =
      (encoding === undefined || encoding === 'identity') &&
      (headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined) &&
      (type === undefined || !type.includes('charset') || /charset="?utf-8"?\s*(?:;|$)/i.test(type));
    if (!plain || (req as { _body?: boolean })._body) return jsonParser(req, res, done);
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: Error & { type?: string; status?: number; expose?: boolean }) => {
      if (failed) return;
      failed = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.resume();
      done(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > config.bodyLimitBytes) {
        fail(Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413, expose: true }));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      if (failed) return;
      failed = true;
      const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString('utf8');
      let body: unknown = {};
      if (text.length > 0) {
        try {
          body = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
        } catch (error) {
          done(Object.assign(new Error((error as Error).message), { type: 'entity.parse.failed', status: 400, expose: true }));
          return;
        }
      }
      (req as { body?: unknown }).body = body;
      done();
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', (error) => fail(Object.assign(error, { status: 400, expose: true })));
  };
  const corsAll = config.corsOrigins === '*';
  const corsAllowed = new Set(corsAll ? [] : (config.corsOrigins as string[]));
  let shuttingDown = false;
  const active = new Set<ServerResponse>();

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', false);

  /**
   * Every response's head goes through here (express's res.send/json/end and SseWriter alike call
   * writeHead): the host's request id wins over any a handler set, and an event stream is counted
   * and corked per tick. On the app's response prototype, so a request pays no closures for it.
   */
  const writeHead = http.ServerResponse.prototype.writeHead;
  app.response.writeHead = function hostWriteHead(this: Response, ...args: unknown[]) {
    const locals = this.locals as Partial<RequestLocals>;
    if (locals.reqId) this.setHeader('x-request-id', locals.reqId);
    const result = (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    let type = this.getHeader('content-type');
    if (type === undefined) {
      const fromArgs = args.find((a) => a && typeof a === 'object' && !Array.isArray(a)) as Record<string, unknown> | undefined;
      type = fromArgs && ((fromArgs['content-type'] ?? fromArgs['Content-Type']) as string | undefined);
    }
    type = String(type ?? '');
    if (!locals.streaming && type.startsWith('text/event-stream')) {
      locals.streaming = true;
      metrics.streamOpened();
      corkPerTick(this);
    }
    return result;
  } as typeof app.response.writeHead;

  /** Request id, per-request logger, metrics, open-stream accounting. */
  const setup = (req: Request, res: Response): void => {
    const started = process.hrtime.bigint();
    const incoming = req.headers['x-request-id'];
    const reqId = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : `req_${randomUUID().replace(/-/g, '')}`;
    res.setHeader('x-request-id', reqId);
    // The per-request child logger is made on first use: an open stream should not hold one.
    const locals = Object.assign(new RequestLocals(reqId, log), res.locals);
    res.locals = locals as unknown as Response['locals'];
    active.add(res);
    // 'close' follows 'finish' on a completed response, and comes alone when the client left.
    res.once('close', () => {
      active.delete(res);
      if (locals.streaming) metrics.streamClosed();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.request(String(locals.route), req.method, status, seconds);
      const line = { method: req.method, path: req.path, route: locals.route, status, ms: Math.round(seconds * 1000), stream: locals.streaming || undefined };
      // The same line either way; a child logger is only made for requests that logged something else.
      if (locals.loggedBefore) locals.log.info(line, 'request');
      else log.info({ reqId, ...line }, 'request');
      if (shuttingDown) maybeDrained();
    });
  };

  /** CORS for configured origins only; preflights are answered here, without auth (true: answered). */
  const cors = (req: Request, res: Response): boolean => {
    const origin = req.headers.origin;
    if (typeof origin === 'string' && origin && !corsAll && !corsAllowed.has(origin)) {
      // Not an allowed origin: no CORS headers at all, whatever a handler would add.
      const setHeader = res.setHeader.bind(res);
      res.setHeader = ((name: string, value: number | string | readonly string[]) =>
        name.toLowerCase().startsWith('access-control-') ? res : setHeader(name, value)) as typeof res.setHeader;
      if (req.method === 'OPTIONS') {
        res.status(403).end();
        return true;
      }
      return false;
    }
    res.setHeader('Access-Control-Allow-Origin', corsAll ? (typeof origin === 'string' && origin ? origin : '*') : String(origin ?? ''));
    if (origin) res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', 'x-request-id, retry-after, retry-after-ms, x-should-retry, x-dify-conversation-id, x-ratelimit-limit-requests, x-ratelimit-remaining-requests');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      const requested = req.headers['access-control-request-headers'];
      res.setHeader('Access-Control-Allow-Headers', typeof requested === 'string' && requested.trim() ? `${requested}, authorization` : 'authorization, content-type, api-key, x-api-key, x-dify-conversation-id');
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Max-Age', '86400');
      if (req.headers['access-control-request-private-network'] === 'true') res.setHeader('Access-Control-Allow-Private-Network', 'true');
      res.locals.route = 'preflight';
      res.status(204).end();
      return true;
    }
    return false;
  };

  const healthz = (res: Response): void => {
    res.locals.route = '/healthz';
    res.status(shuttingDown ? 503 : 200).json({ status: shuttingDown ? 'shutting_down' : 'ok', apps: config.apps.length, store: options.store ? 'custom' : config.redisUrl ? 'redis' : 'sqlite', open_streams: metrics.openStreamCount });
  };
  const metricsPage = (res: Response): void => {
    res.locals.route = '/metrics';
    res.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render());
  };

  const dispatch = (req: Request, res: Response, next: NextFunction): void => {
    if (shuttingDown) {
      res.setHeader('connection', 'close');
      return openAiError(res, 503, 'The server is shutting down; retry in a moment.', 'server_error', 'shutting_down');
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > config.bodyLimitBytes) {
      res.setHeader('connection', 'close');
      return openAiError(res, 413, `Request body too large: the limit is ${Math.round(config.bodyLimitBytes / 1048576)} MiB.`, 'invalid_request_error', 'request_too_large');
    }
    const path = req.path;
    const match = router.match(req.method, path);
    if (match.ok) {
      const route = match.route;
      res.locals.route = route.rule;
      if (limiter && req.method !== 'OPTIONS') {
        const auth = req.headers.authorization ?? req.headers['api-key'] ?? req.headers['x-api-key'];
        const who = typeof auth === 'string' && auth ? `k:${createHash('sha256').update(auth).digest('base64url').slice(0, 22)}` : `ip:${req.socket.remoteAddress ?? '?'}`;
        const wait = limiter.take(who);
        if (wait > 0) {
          return openAiError(res, 429, `Rate limit reached: at most ${config.rateLimitRpm} requests per minute per key. Retry in ${wait} s.`, 'rate_limit_error', 'rate_limit_exceeded', null, { 'retry-after': String(wait) });
        }
      }
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(match.values)) params[name] = String(value);
      const context = Object.create(route.context) as EndpointContext & { [LOCALS]: RequestLocals };
      context[LOCALS] = res.locals as unknown as RequestLocals;
      setEndpointContext(res, context);
      // The handler sees its route path, as under the plugin daemon (which strips /e/<hook>).
      const prefix = route.endpoint.prefix;
      if (prefix && req.url.startsWith(prefix)) {
        req.url = req.url.slice(prefix.length) || '/';
        if (req.url.startsWith('?')) req.url = `/${req.url}`;
        (req as { baseUrl: string }).baseUrl = prefix;
      }
      const run = () => {
        req.params = params;
        try {
          const result: unknown = route.handler(req, res, next);
          if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(undefined, next);
        } catch (error) {
          next(error);
        }
      };
      if (route.parseJson) readJson(req, res, (error?: unknown) => (error ? next(error) : run()));
      else run();
      return;
    }
    if (match.status === 405) return openAiError(res, 405, `Method ${req.method} is not allowed for ${path}.`, 'invalid_request_error', 'method_not_allowed');
    res.locals.route = 'unmatched';
    openAiError(res, 404, `Invalid URL (${req.method} ${path})`, 'invalid_request_error', 'unknown_url');
  };

  /** Every request: setup, CORS, /healthz, /metrics, then the declared routes. */
  const handleRequest = (req: Request, res: Response, next: NextFunction): void => {
    setup(req, res);
    if (cors(req, res)) return;
    if (req.method === 'GET' || req.method === 'HEAD') {
      // What app.get() matched: case-insensitive, one trailing slash allowed.
      const path = req.path.toLowerCase();
      if (path === '/healthz' || path === '/healthz/') return healthz(res);
      if (path === '/metrics' || path === '/metrics/') return metricsPage(res);
    }
    dispatch(req, res, next);
  };

  /** Errors: body parser's (413, 400 bad JSON), group errors that know their status, then 500. */
  const handleError = (error: unknown, req: Request, res: Response, _next?: NextFunction): void => {
    const e = error as { type?: string; status?: number; statusCode?: number; expose?: boolean; message?: string; body?: () => unknown; headers?: Record<string, string> };
    if (e?.type === 'entity.too.large') {
      res.setHeader('connection', 'close');
      return openAiError(res, 413, `Request body too large: the limit is ${Math.round(config.bodyLimitBytes / 1048576)} MiB.`, 'invalid_request_error', 'request_too_large');
    }
    if (e?.type === 'entity.parse.failed') {
      return openAiError(res, 400, 'We could not parse the JSON body of your request. Send valid JSON with Content-Type: application/json.', 'invalid_request_error', 'invalid_json');
    }
    if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
      return openAiError(res, 415, e.message ?? 'Unsupported content encoding.', 'invalid_request_error', 'unsupported_encoding');
    }
    if (typeof e?.body === 'function' && typeof e.status === 'number') {
      if (res.headersSent) return void res.end();
      for (const [k, v] of Object.entries(e.headers ?? {})) res.setHeader(k, v);
      return void res.status(e.status).json(e.body());
    }
    const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
    if (status >= 400 && status < 500 && e?.expose) return openAiError(res, status, e.message ?? 'Bad request', 'invalid_request_error', null);
    (res.locals.log as Logger | undefined ?? log).error({ err: { name: (error as Error)?.name, message: (error as Error)?.message, stack: (error as Error)?.stack }, path: req.path }, 'handler failed');
    openAiError(res, 500, 'The server had an error while processing your request.', 'server_error', 'internal_error');
  };
  // The express app (exposed for tests and embedding) runs the same two functions.
  app.use(handleRequest);
  app.use(handleError);

  /**
   * The server calls them directly: what express's app.handle does before its router (request and
   * response prototypes, locals), without the router walk per request. A handler that calls next()
   * without an error falls through to the 404 envelope.
   */
  const onRequest = (rawReq: IncomingMessage, rawRes: ServerResponse): void => {
    const req = rawReq as Request;
    const res = rawRes as Response;
    (req as { res: Response }).res = res;
    (res as { req: Request }).req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    if (!res.locals) res.locals = Object.create(null) as Response['locals'];
    // What express's router sets on the way in.
    req.originalUrl = req.originalUrl || req.url;
    (req as { baseUrl: string }).baseUrl = '';
    req.params = {};
    const next: NextFunction = (error?: unknown) => {
      if (error !== undefined && error !== null && error !== 'route' && error !== 'router') return handleError(error, req, res);
      if (res.headersSent) return void res.end();
      openAiError(res, 404, `Invalid URL (${req.method} ${req.path})`, 'invalid_request_error', 'unknown_url');
    };
    req.next = next;
    try {
      handleRequest(req, res, next);
    } catch (error) {
      next(error);
    }
  };
  const server = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000, requestTimeout: 0 }, onRequest);
  let drained: (() => void) | undefined;
  const maybeDrained = () => {
    if (active.size === 0) drained?.();
  };

  const result: StandaloneServer = {
    app,
    server,
    metrics,
    store,
    log,
    url: '',
    routes: routeNames,
    missing,
    apps: handles,
    async listen() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      result.url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
      return result.url;
    },
    async close(graceMs = config.shutdownGraceMs) {
      if (!shuttingDown) {
        shuttingDown = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (active.size > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, graceMs);
            drained = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        server.closeAllConnections();
        await closed;
        for (const api of apis.values()) api.close();
        await closeStore();
        if (flushTimer) clearInterval(flushTimer);
        destination?.flushSync();
      }
    },
  };
  return result;
}

export type { IncomingMessage };
