// A faithful stand-in for the Dify plugin daemon (the one thing that cannot run here), built from
// ../shared/reference/plugin-protocol.md and daemon-calibration.md. It spawns a plugin over real
// pipes (or accepts a remote-debugging TCP registration), sends endpoint requests the way the daemon
// builds them, answers backwards invocations, and reads responses with the daemon's quirks.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { LineSplitter } from '../../packages/plugin-sdk-shim/src/ndjson.js';
import { DaemonCore, MAX_LINE_BYTES, type InvokeOptions, type InvokeRequest, type InvokeResult, type ResponseOutput, type ReverseHandlers } from './daemon-core.js';
import { MAX_REQUEST_BODY } from './go-request.js';

export type { ReverseHandlers, InvokeRequest, InvokeResult, InvokeOptions } from './daemon-core.js';
export { buildRawHttpRequest, goEncodeQuery, goEscapePath, canonicalHeaderKey } from './go-request.js';
export { DaemonCore, BODY_QUEUE_LIMIT, TRUNCATION_RACE_MS } from './daemon-core.js';

export type ListenSettings = Record<string, unknown> | ((path: string) => Record<string, unknown>);

export interface SimulatedDaemon {
  /** One endpoint invocation, as the daemon sends it; resolves with what the daemon's HTTP client would receive. */
  invoke(req: InvokeRequest, options?: InvokeOptions): Promise<InvokeResult>;
  /** A loopback HTTP front like the daemon's /e/<hook>/... route; returns `http://127.0.0.1:<port>/e/<hook>`. */
  listen(opts: { settings: ListenSettings; hookId?: string }): Promise<string>;
  readonly reverseCalls: Array<{ type: string; request: Record<string, any> }>;
  readonly storage: Map<string, Buffer>;
  /** what the plugin wrote to stderr */
  readonly stderr: string;
  /** stdout lines that are not valid protocol (should stay empty) */
  readonly protocolViolations: string[];
  /** `log` events received */
  readonly logs: Array<{ level: string; message: string; timestamp: number }>;
  readonly heartbeats: number;
  /** ms since spawn of the first heartbeat */
  waitForHeartbeat(): Promise<number>;
  /** the plugin process */
  readonly child: ChildProcess;
  /** settles when the plugin process exits */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** close the plugin's stdin (what the daemon's death looks like) */
  closeStdin(): void;
  /** write raw bytes to the plugin's stdin (hostile-input tests) */
  writeRaw(data: string | Buffer): void;
  /** ends stdin, waits for the exit (SIGKILL after 5 s), closes HTTP fronts */
  close(): Promise<void>;
}

export interface StartDaemonOptions {
  command: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  reverse?: ReverseHandlers;
  /** bytes the built-in storage may hold; a `set` beyond it errors after writing, like the daemon */
  storageQuota?: number;
}

/** Spawns the plugin over real pipes with INSTALL_METHOD=local, as the daemon does. */
export async function startDaemon(opts: StartDaemonOptions): Promise<SimulatedDaemon> {
  const spawnedAt = performance.now();
  const child = spawn(opts.command, opts.args ?? [], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env, INSTALL_METHOD: 'local' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdinOpen = true;
  child.stdin!.on('error', () => {
    stdinOpen = false;
  });
  const core = new DaemonCore((line) => {
    if (stdinOpen && !child.stdin!.destroyed) child.stdin!.write(line);
  }, opts.reverse);
  if (opts.storageQuota !== undefined) core.storageQuota = opts.storageQuota;
  const splitter = new LineSplitter((line) => {
    core.handleLine(line);
    // the daemon's bufio.Scanner fails on a line over its limit: the stdout loop ends, the plugin is killed
    if (line.length > MAX_LINE_BYTES) child.kill('SIGKILL');
  });
  child.stdout!.on('data', (chunk: Buffer) => splitter.push(chunk));
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      core.close();
      resolve({ code, signal });
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const servers: Array<{ close(): void }> = [];

  return {
    invoke: (req, options) => core.invoke(req, options),
    async listen({ settings, hookId }) {
      const { url, close } = await listenHttp(core, settings, hookId);
      servers.push({ close });
      return url;
    },
    get reverseCalls() {
      return core.reverseCalls;
    },
    get storage() {
      return core.storage;
    },
    get stderr() {
      return stderr;
    },
    get protocolViolations() {
      return core.protocolViolations;
    },
    get logs() {
      return core.logs;
    },
    get heartbeats() {
      return core.heartbeats;
    },
    async waitForHeartbeat() {
      await Promise.race([
        core.onHeartbeat(),
        exited.then(() => {
          throw new Error(`plugin exited before its first heartbeat; stderr:\n${stderr}`);
        }),
      ]);
      return core.firstHeartbeatAt! - spawnedAt;
    },
    child,
    exited,
    closeStdin() {
      stdinOpen = false;
      child.stdin!.end();
    },
    writeRaw(data) {
      child.stdin!.write(data);
    },
    async close() {
      for (const server of servers) server.close();
      if (child.exitCode === null && child.signalCode === null) {
        stdinOpen = false;
        child.stdin!.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** The daemon's HTTP front for one plugin: `/e/<hook_id>/<path>` -> an endpoint session. */
async function listenHttp(core: DaemonCore, settings: ListenSettings, hookId = 'abcd1234efgh5678'): Promise<{ url: string; close(): void }> {
  const server = createHttpServer((req, res) => void serveHttp(core, settings, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/e/${hookId}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const ROUTED_METHODS = new Set(['HEAD', 'POST', 'GET', 'PUT', 'DELETE', 'OPTIONS']);

async function serveHttp(core: DaemonCore, settings: ListenSettings, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://placeholder');
  const match = /^\/e\/([^/]+)(\/.*)?$/.exec(url.pathname);
  if (!match || !ROUTED_METHODS.has(req.method ?? '')) {
    res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify({ code: -404, message: 'endpoint not found', data: null }));
    return;
  }
  const hookId = match[1]!;
  const path = match[2] ?? '/';
  const pieces: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    // read fully, keep the first 10 MiB
    if (size < MAX_REQUEST_BODY) pieces.push(chunk.subarray(0, MAX_REQUEST_BODY - size));
    size += chunk.length;
  }
  const body = Buffer.concat(pieces);
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (lower === 'host' || lower === 'content-length' || lower === 'transfer-encoding' || lower === 'connection') continue;
    headers[name] = headers[name] === undefined ? req.rawHeaders[i + 1]! : `${headers[name]}, ${req.rawHeaders[i + 1]}`;
  }
  const host = req.headers['x-original-host']?.toString() ?? req.headers.host ?? '127.0.0.1';
  const output: ResponseOutput = {
    start(status, h) {
      if (status === 100) {
        // gin writes 100 Continue, then net/http answers 200 when the body is written
        res.writeContinue();
        status = 200;
      }
      res.writeHead(status, h);
      res.flushHeaders();
    },
    write(bytes) {
      if (res.destroyed) return;
      if (!res.write(bytes)) return new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    },
    end() {
      res.end();
    },
    fail(status, json) {
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(json));
    },
  };
  const resolved = typeof settings === 'function' ? settings(path) : settings;
  const { sessionId } = core.startSession({ method: req.method!, path, query: url.search.slice(1), headers, body, settings: resolved }, output, {
    client: { host, hookId, path, method: req.method! },
  });
  // a client that closes before the plugin's `end` cancels the session (the daemon's CloseNotify)
  res.once('close', () => {
    if (!res.writableFinished) core.cancelSession(sessionId);
  });
}

// ---------------------------------------------------------------------------------------------
// Remote debugging (plugin-protocol.md §1b)

export interface Registration {
  manifest: Record<string, any>;
  /** element [0] of the endpoint_declaration array */
  endpoint: Record<string, any>;
  assets: Map<string, Buffer>;
  /** every registration line type in order */
  sequence: string[];
}

export interface RemoteDebugServer {
  /** `127.0.0.1:<port>` for REMOTE_INSTALL_URL */
  readonly address: string;
  readonly registrations: Registration[];
  /** the first successful registration */
  readonly connected: Promise<Registration>;
  /** resolves with the next successful registration (reconnect tests) */
  nextRegistration(): Promise<Registration>;
  /** plain-text failure lines written to plugins */
  readonly failures: string[];
  /** like SimulatedDaemon.invoke, on the current registered connection */
  invoke(req: InvokeRequest, options?: InvokeOptions): Promise<InvokeResult>;
  readonly reverseCalls: Array<{ type: string; request: Record<string, any> }>;
  readonly storage: Map<string, Buffer>;
  readonly protocolViolations: string[];
  /** heartbeats on the current connection */
  readonly heartbeats: number;
  /** drop the current connection (the plugin should reconnect and re-register) */
  dropConnection(): void;
  /** refuse every later connection attempt with this plain-text line (null: accept again) */
  refuseWith(message: string | null): void;
  close(): Promise<void>;
}

const HANDSHAKE_TIMEOUT_MS = 10_000;
const MAX_ASSETS_BYTES = 50 * 1024 * 1024;

export async function startRemoteDebugServer(opts: { key: string; reverse?: ReverseHandlers; handshakeTimeoutMs?: number }): Promise<RemoteDebugServer> {
  const registrations: Registration[] = [];
  const failures: string[] = [];
  const storage = new Map<string, Buffer>();
  const reverseCalls: Array<{ type: string; request: Record<string, any> }> = [];
  const protocolViolations: string[] = [];
  let current: { socket: Socket; core: DaemonCore } | null = null;
  let refusal: string | null = null;
  let waiters: Array<(r: Registration) => void> = [];
  let resolveConnected!: (r: Registration) => void;
  const connected = new Promise<Registration>((resolve) => (resolveConnected = resolve));
  const sockets = new Set<Socket>();

  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let failed = false;
    const fail = (message: string): void => {
      if (failed) return;
      failed = true;
      failures.push(message);
      socket.end(message + '\n');
    };
    if (refusal) return fail(refusal);
    let handshaken = false;
    let initialised = false;
    let manifest: Record<string, any> | null = null;
    let endpoint: Record<string, any> | null = null;
    const assets = new Map<string, Buffer>();
    let assetBytes = 0;
    const sequence: string[] = [];
    let core: DaemonCore | null = null;
    const timer = setTimeout(() => {
      if (!handshaken) socket.destroy();
    }, opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);

    const splitter = new LineSplitter((line) => {
      if (failed) return;
      if (initialised) {
        core!.handleLine(line);
        return;
      }
      let payload: any;
      try {
        payload = JSON.parse(line.toString('utf8'));
      } catch {
        return fail('handshake failed, invalid handshake message');
      }
      if (!payload || typeof payload.type !== 'string' || !payload.type || payload.data === undefined || payload.data === null) {
        return fail('handshake failed, invalid handshake message');
      }
      sequence.push(payload.type);
      const data = payload.data;
      if (!handshaken) {
        if (payload.type !== 'handshake') return fail('handshake failed, invalid handshake message');
        if (data.key !== opts.key) return fail('handshake failed, invalid key');
        handshaken = true;
        clearTimeout(timer);
        return;
      }
      switch (payload.type) {
        case 'handshake':
          return fail('handshake already completed');
        case 'manifest_declaration': {
          const problem = manifestProblem(data);
          if (problem) return fail(`register failed, invalid manifest detected: ${problem}`);
          manifest = data;
          return;
        }
        case 'endpoint_declaration': {
          if (!Array.isArray(data) || data.length === 0) return fail('register failed, invalid endpoint declaration');
          if (endpoint) return fail('register failed, endpoint declaration already transferred');
          const problem = endpointProblem(data[0]);
          if (problem) return fail(`register failed, invalid endpoint declaration: ${problem}`);
          endpoint = data[0];
          return;
        }
        case 'tool_declaration':
        case 'model_declaration':
        case 'agent_strategy_declaration':
        case 'datasource_declaration':
        case 'trigger_declaration':
          return;
        case 'asset_chunk': {
          if (typeof data.filename !== 'string' || typeof data.data !== 'string') return fail('register failed, invalid asset chunk');
          const bytes = Buffer.from(data.data, 'base64');
          assetBytes += bytes.length;
          if (assetBytes > MAX_ASSETS_BYTES) return fail('register failed, assets too large');
          assets.set(data.filename, Buffer.concat([assets.get(data.filename) ?? Buffer.alloc(0), bytes]));
          return;
        }
        case 'end': {
          if (!manifest || !endpoint) return fail('no registration transferred, cannot initialize');
          const icon = manifest['icon'];
          if (typeof icon === 'string' && !assets.has(icon)) return fail(`assets remap failed, icon ${icon} not found`);
          initialised = true;
          const registration: Registration = { manifest, endpoint, assets, sequence };
          registrations.push(registration);
          core = new DaemonCore(
            (out) => {
              if (!socket.destroyed) socket.write(out);
            },
            opts.reverse,
            storage,
            true,
            { reverseCalls, protocolViolations },
          );
          current = { socket, core };
          resolveConnected(registration);
          const wake = waiters;
          waiters = [];
          for (const w of wake) w(registration);
          return;
        }
        default:
          return fail(`register failed, unknown registration type ${payload.type}`);
      }
    });
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      core?.close();
      if (current?.socket === socket) current = null;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    address: `127.0.0.1:${port}`,
    registrations,
    connected,
    nextRegistration: () => new Promise((resolve) => waiters.push(resolve)),
    failures,
    async invoke(req, options) {
      if (!current) throw new Error('no registered plugin connection');
      return current.core.invoke(req, options);
    },
    reverseCalls,
    storage,
    protocolViolations,
    get heartbeats() {
      return current?.core.heartbeats ?? 0;
    },
    dropConnection() {
      current?.socket.destroy();
      current = null;
    },
    refuseWith(message) {
      refusal = message;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function manifestProblem(m: any): string | null {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return 'manifest is not an object';
  if (typeof m.version !== 'string' || !/^\d{1,4}(\.\d{1,4}){2}(-\w{1,16})?$/.test(m.version)) return 'version';
  if (m.type !== 'plugin') return 'type';
  if (typeof m.author !== 'string' || !/^[a-z0-9_-]{1,64}$/.test(m.author)) return 'author';
  if (typeof m.name !== 'string' || !/^[a-z0-9_-]{1,128}$/.test(m.name)) return 'name';
  if (!m.label?.en_US || !m.description?.en_US) return 'label/description';
  if (typeof m.icon !== 'string' || !m.icon) return 'icon';
  if (!m.created_at || Number.isNaN(Date.parse(m.created_at))) return 'created_at';
  if (!m.resource?.memory) return 'resource.memory';
  if (m.meta?.runner?.language !== 'python') return 'meta.runner.language must be python';
  if (!Array.isArray(m.meta?.arch)) return 'meta.arch';
  return null;
}

function endpointProblem(group: any): string | null {
  if (!group || typeof group !== 'object') return 'group is not an object';
  if (!Array.isArray(group.endpoints)) return 'endpoints';
  for (const e of group.endpoints) {
    if (!e || typeof e.path !== 'string' || !e.path) return 'endpoint path';
    if (!['HEAD', 'GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'].includes(e.method)) return `endpoint method ${e.method}`;
  }
  if (group.settings !== undefined && !Array.isArray(group.settings)) return 'settings';
  return null;
}
