// Remote debugging: a TCP connection to the daemon's debugging port (plugin-protocol.md §1b).
// Registration (handshake, manifest, endpoint declaration, assets, end) comes first and nothing
// else may be sent before `end`; afterwards the connection carries the stdio protocol. A dropped
// connection is retried with the whole registration, like the SDK (3 attempts, 5 s apart).
import { connect, type Socket } from 'node:net';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LineSplitter, StreamLineSink } from '../ndjson.js';
import { HEARTBEAT_LINE, type LogLevel } from '../protocol.js';
import { RuntimeCore, SessionClosedError, SwitchableSink, type RuntimeCoreOptions } from '../runtime.js';
import type { TransportHandle } from './stdio.js';

export interface TcpTransportOptions extends Omit<RuntimeCoreOptions, 'log'> {
  host: string;
  port: number;
  key: string;
  manifest: Record<string, unknown>;
  group: Record<string, unknown>;
  assetsDir?: string;
  heartbeatIntervalMs: number;
  reconnectDelayMs: number;
  reconnectAttempts: number;
  shutdownGraceMs: number;
  exitOnClose: boolean;
}

const ASSET_PIECE_BYTES = 8192;
/** a connection that stays up this long after `end` counts as registered */
const SETTLE_MS = 1000;

export function registrationLines(options: Pick<TcpTransportOptions, 'key' | 'manifest' | 'group' | 'assetsDir'>): string[] {
  const lines = [
    JSON.stringify({ type: 'handshake', data: { key: options.key } }),
    JSON.stringify({ type: 'manifest_declaration', data: options.manifest }),
    JSON.stringify({ type: 'endpoint_declaration', data: [options.group] }),
  ];
  for (const { name, bytes } of readAssets(options.assetsDir)) {
    if (bytes.length === 0) {
      lines.push(JSON.stringify({ type: 'asset_chunk', data: { filename: name, data: '', end: true } }));
      continue;
    }
    for (let offset = 0; offset < bytes.length; offset += ASSET_PIECE_BYTES) {
      const piece = bytes.subarray(offset, offset + ASSET_PIECE_BYTES);
      const end = offset + ASSET_PIECE_BYTES >= bytes.length;
      lines.push(JSON.stringify({ type: 'asset_chunk', data: { filename: name, data: piece.toString('base64'), end } }));
    }
  }
  lines.push(JSON.stringify({ type: 'end', data: {} }));
  return lines.map((line) => line + '\n');
}

/** Regular files directly inside the assets folder, as the SDK sends them. */
function readAssets(dir: string | undefined): Array<{ name: string; bytes: Buffer }> {
  if (!dir) return [];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const out: Array<{ name: string; bytes: Buffer }> = [];
  for (const name of names) {
    const path = join(dir, name);
    if (statSync(path).isFile()) out.push({ name, bytes: readFileSync(path) });
  }
  return out;
}

export function startTcpTransport(options: TcpTransportOptions): TransportHandle {
  const log = (level: LogLevel, message: string): void => {
    // the daemon drops `log` events of debugging plugins: they stay on this side
    process.stderr.write(`[${level}] ${message}\n`);
  };
  const sink = new SwitchableSink();
  const core = new RuntimeCore(sink, { ...options, log });
  let failures = 0;
  let stopped = false;
  let socket: Socket | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  const finish = (code: number): void => {
    stopped = true;
    if (heartbeat) clearInterval(heartbeat);
    if (retryTimer) clearTimeout(retryTimer);
    resolveClosed();
    if (options.exitOnClose) process.exit(code);
    else if (code !== 0) process.exitCode = code;
  };

  const open = (): void => {
    if (stopped) return;
    const conn = connect({ host: options.host, port: options.port });
    socket = conn;
    let registeredAt = 0;
    let settled = false;
    let settleTimer: NodeJS.Timeout | null = null;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      failures = 0;
    };
    const splitter = new LineSplitter((line) => {
      const first = line[0];
      if (first !== 0x7b /* { */) {
        // a plain-text line is the daemon refusing the registration (or the connection)
        log('ERROR', `remote daemon: ${line.toString('utf8').slice(0, 1000)}`);
        return;
      }
      if (registeredAt) settle();
      core.handleLine(line);
    });
    conn.setNoDelay(true);
    conn.on('connect', () => {
      const lineSink = new StreamLineSink(conn);
      for (const line of registrationLines(options)) conn.write(line);
      registeredAt = Date.now();
      sink.current = lineSink;
      lineSink.write(HEARTBEAT_LINE);
      heartbeat = setInterval(() => lineSink.write(HEARTBEAT_LINE), options.heartbeatIntervalMs);
      settleTimer = setTimeout(settle, SETTLE_MS);
      log('INFO', `registered with the remote daemon at ${options.host}:${options.port}`);
    });
    conn.on('data', (chunk: Buffer) => splitter.push(chunk));
    conn.on('error', (err) => log('WARNING', `remote daemon connection: ${err.message}`));
    conn.on('close', () => {
      if (settleTimer) clearTimeout(settleTimer);
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
      if (socket === conn) socket = null;
      sink.current = null;
      core.abortAll(new SessionClosedError('remote daemon connection closed'), false);
      if (stopped) return;
      if (!settled) failures++;
      if (failures >= options.reconnectAttempts) {
        log('ERROR', `could not stay connected to the remote daemon after ${failures} attempts; giving up`);
        finish(1);
        return;
      }
      log('WARNING', `remote daemon connection lost; reconnecting in ${options.reconnectDelayMs} ms`);
      retryTimer = setTimeout(open, options.reconnectDelayMs);
    });
  };
  open();

  return {
    log,
    closed,
    async close() {
      if (stopped) return closed;
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      await core.shutdown(options.shutdownGraceMs, new SessionClosedError('plugin runtime closed'), true);
      socket?.end();
      finish(0);
      return closed;
    },
  };
}
