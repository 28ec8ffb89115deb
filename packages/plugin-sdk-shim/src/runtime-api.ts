// Public runtime API of @dify/plugin-sdk-shim.
//
//   const runtime = startPluginRuntime({ manifest, group, assetsDir, routes: [{ rule: '/v1/models', method: 'GET', handler }] });
//
// Each route is a werkzeug rule + method + express handler (or Router, called as by app[method](rule, h)).
// Handlers read `getDifyContext(res)` (= res.locals.dify): { settings, session, endpointId, values }.
// `session` does reverse invocation (invokeApp, invokeLlm, invokeLlmStructuredOutput,
// invokeTextEmbedding, fetchApp, uploadFile, storage.get/set/del/exist, invoke for anything else);
// every call takes { signal } and fails after MAX_REQUEST_TIMEOUT (default 250 s) without news.
// A call whose `invoke` line would exceed the daemon's line limit (PLUGIN_RUNTIME_MAX_LINE_BYTES,
// default 5 MiB minus 64 KiB) is not sent: ReverseInvocationTooLargeError. A call started after the
// handler ended its response fails with SessionFinishedError.
// Responses stream back as written (res.write, SSE included); complete bodies leave as one chunk.
// A handler that throws answers 500 `Internal Server Error: <message>`; no route answers 404
// `Failed to dispatch endpoint request: ...`. console.* becomes `log` events; stdout is the protocol's.
import type { Readable, Writable } from 'node:stream';
import type { RequestHandler } from 'express';
import type { CoalescerOptions } from './body-coalescer.js';
import { readConfig } from './config.js';
import type { EndpointRoute } from './express-adapter.js';
import type { LogLevel } from './protocol.js';
import { startStdioTransport, type TransportHandle } from './transports/stdio.js';
import { startTcpTransport } from './transports/tcp.js';

export type { EndpointRoute, DifyRequestContext } from './express-adapter.js';
export { getDifyContext } from './express-adapter.js';
export type {
  DifySession,
  DifyStorage,
  AppEvent,
  AppInvokeRequest,
  LLMInvokeRequest,
  LLMStructuredOutputRequest,
  LLMResultChunk,
  LLMUsage,
  LLMToolCall,
  PromptMessage,
  TextEmbeddingRequest,
  TextEmbeddingResult,
} from './session.js';
export { StorageKeyError, validateStorageKey } from './session.js';
export {
  ReverseInvocationError,
  ReverseInvocationTimeoutError,
  ReverseInvocationTooLargeError,
  SessionFinishedError,
  type InvokeOptions,
} from './reverse-invocation.js';
export { DAEMON_MAX_LINE_BYTES, DEFAULT_MAX_LINE_BYTES } from './protocol.js';
export type { CoalescerOptions } from './body-coalescer.js';
export type { LogLevel } from './protocol.js';
export { decodeRawHttpRequest, parseHttpRequest, HttpCodecError, type DecodedRequest } from './http-codec.js';
export { RuleRouter, compileRule, RuleSyntaxError, type RouteValues } from './router.js';

export interface PluginRuntimeOptions {
  /** manifest.yaml as JSON (sent on remote registration) */
  manifest: Record<string, unknown>;
  /** the endpoint group as the daemon wants it: `{ settings, endpoints: [{ path, method, hidden }] }` */
  group: Record<string, unknown>;
  /** folder whose regular files are uploaded as assets on remote registration */
  assetsDir?: string;
  routes: EndpointRoute[];
  /** defaults to process.env */
  env?: NodeJS.ProcessEnv;
  /** stdio transport streams; default process.stdin/stdout (then the process exits when the runtime closes) */
  stdin?: Readable;
  stdout?: Writable;
  coalescer?: CoalescerOptions;
  /** match `//v1//x` as `/v1/x` (default false, werkzeug's strictness) */
  mergeSlashes?: boolean;
  /** answers requests no rule matches (default: the SDK's text 404 `Failed to dispatch endpoint request: ...`) */
  notFound?: RequestHandler;
}

export interface PluginRuntimeHandle {
  readonly transport: 'stdio' | 'tcp';
  /** a `log` event (stdio) or a stderr line (remote debugging, where the daemon drops logs) */
  log(level: LogLevel, message: string): void;
  /** finishes open sessions (bounded), then stops the transport */
  close(): Promise<void>;
  /** settles when the transport has stopped (stdin EOF, SIGTERM, close(), remote give-up) */
  readonly closed: Promise<void>;
}

/**
 * Starts the plugin runtime on the transport the environment selects, like the Python SDK:
 * INSTALL_METHOD=remote + REMOTE_INSTALL_URL (or _HOST/_PORT) + REMOTE_INSTALL_KEY for remote
 * debugging over TCP, otherwise stdio. HEARTBEAT_INTERVAL and MAX_REQUEST_TIMEOUT are seconds.
 */
export function startPluginRuntime(options: PluginRuntimeOptions): PluginRuntimeHandle {
  const config = readConfig(options.env ?? process.env);
  const common = {
    routes: options.routes,
    reverseTimeoutMs: config.reverseTimeoutMs,
    maxLineBytes: config.maxLineBytes,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    shutdownGraceMs: config.shutdownGraceMs,
    ...(options.coalescer ? { coalescer: options.coalescer } : {}),
    adapter: { mergeSlashes: options.mergeSlashes ?? false, ...(options.notFound ? { notFound: options.notFound } : {}) },
  };
  let handle: TransportHandle;
  let transport: 'stdio' | 'tcp';
  if (config.installMethod === 'serverless') throw new Error('INSTALL_METHOD=serverless is not supported by this runtime');
  if (config.installMethod === 'remote' && config.remote) {
    transport = 'tcp';
    handle = startTcpTransport({
      ...common,
      ...config.remote,
      manifest: options.manifest,
      group: options.group,
      ...(options.assetsDir ? { assetsDir: options.assetsDir } : {}),
      reconnectDelayMs: config.reconnectDelayMs,
      reconnectAttempts: config.reconnectAttempts,
      exitOnClose: !options.stdin,
    });
    if (!options.stdin) {
      const stop = (): void => void handle.close();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    }
  } else {
    transport = 'stdio';
    const stdin = options.stdin ?? process.stdin;
    handle = startStdioTransport({
      ...common,
      stdin,
      stdout: options.stdout ?? process.stdout,
      exitOnClose: stdin === process.stdin,
    });
  }
  if (!options.stdin) {
    // the runtime owns the process: one handler's stray rejection must not take every session down
    process.on('unhandledRejection', (reason) => handle.log('ERROR', `unhandled rejection: ${describe(reason)}`));
    process.on('uncaughtException', (err) => handle.log('ERROR', `uncaught exception: ${describe(err)}`));
  }
  return { transport, log: handle.log, close: handle.close, closed: handle.closed };
}

function describe(value: unknown): string {
  return value instanceof Error ? `${value.name}: ${value.message}` : String(value);
}
