// The daemon <-> plugin wire protocol (plugin-protocol.md §2): message shapes and line builders.
// Parsing is lenient where the daemon is lenient: unknown keys pass, nullable ids may be absent.
import { z } from 'zod';

/** Largest raw body slice per `stream` chunk: hex doubles it, the daemon's line limit is 5 MiB. */
export const MAX_CHUNK_BYTES = 1024 * 1024;

/** The daemon's stdout line limit (PLUGIN_RUNTIME_MAX_BUFFER_SIZE default, plugin-protocol.md §1a.5): a longer line kills the plugin. */
export const DAEMON_MAX_LINE_BYTES = 5 * 1024 * 1024;
/** The largest line we write by default: the daemon's limit minus a margin. */
export const DEFAULT_MAX_LINE_BYTES = DAEMON_MAX_LINE_BYTES - 64 * 1024;
/** The smallest limit PLUGIN_RUNTIME_MAX_LINE_BYTES may set (a head chunk must still fit). */
export const MIN_MAX_LINE_BYTES = 64 * 1024;
/** Free-text fields (log and error messages) are cut to this many UTF-16 units: even fully escaped they stay far below the limit. */
export const MAX_MESSAGE_CHARS = 64 * 1024;

/** 0 when `line` fits in `limit` bytes, else its UTF-8 size (counted only when it could matter: a UTF-16 unit is at most 3 bytes). */
export function oversizeBytes(line: string, limit: number): number {
  if (line.length * 3 <= limit) return 0;
  const bytes = Buffer.byteLength(line, 'utf8');
  return bytes > limit ? bytes : 0;
}

function clipMessage(message: string): string {
  return message.length <= MAX_MESSAGE_CHARS ? message : `${message.slice(0, MAX_MESSAGE_CHARS)}... [${message.length - MAX_MESSAGE_CHARS} characters cut]`;
}

const nullableString = z.string().nullish();

/** daemon -> plugin: a `request` (the first message of a session). */
export const requestMessageSchema = z.looseObject({
  session_id: z.string().min(1),
  conversation_id: nullableString,
  message_id: nullableString,
  app_id: nullableString,
  endpoint_id: nullableString,
  context: z.unknown().optional(),
  event: z.literal('request'),
  data: z.looseObject({
    type: z.string(),
    action: z.string(),
    user_id: z.string().nullish(),
  }),
});
export type RequestMessage = z.infer<typeof requestMessageSchema>;

export const invokeEndpointDataSchema = z.looseObject({
  raw_http_request: z.string(),
  settings: z.record(z.string(), z.unknown()).nullish(),
});

/** daemon -> plugin: the answer to one backwards invocation (plugin-protocol.md §4.2). */
export const backwardsResponseMessageSchema = z.looseObject({
  session_id: z.string().min(1),
  event: z.literal('backwards_response'),
  data: z.looseObject({
    backwards_request_id: z.string(),
    event: z.enum(['response', 'error', 'end']),
    message: z.string().nullish(),
    data: z.unknown().optional(),
  }),
});
export type BackwardsResponseMessage = z.infer<typeof backwardsResponseMessageSchema>;
export type BackwardsResponseData = BackwardsResponseMessage['data'];

export const daemonMessageSchema = z.discriminatedUnion('event', [requestMessageSchema, backwardsResponseMessageSchema]);
export type DaemonMessage = z.infer<typeof daemonMessageSchema>;

// ---- plugin -> daemon (what the daemon accepts; used to check our own output in tests) ----

/** `EndpointResponseChunk`: status uint16, header values strings, result hex. */
export const endpointResponseChunkSchema = z.object({
  status: z.number().int().min(0).max(65535).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  result: z.string().regex(/^(?:[0-9a-fA-F]{2})*$/).optional(),
});

/** `ErrorResponse`: more than 10 args makes the daemon ignore the message. */
export const sessionErrorSchema = z.object({
  error_type: z.string(),
  message: z.string(),
  args: z.record(z.string(), z.unknown()).refine((args) => Object.keys(args).length <= 10, 'at most 10 args'),
});

export const invokeSchema = z.object({
  type: z.string().min(1),
  backwards_request_id: z.string().min(1),
  request: z.record(z.string(), z.unknown()),
});

export const sessionMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stream'), data: endpointResponseChunkSchema }),
  z.object({ type: z.literal('end'), data: z.unknown() }),
  z.object({ type: z.literal('error'), data: sessionErrorSchema }),
  z.object({ type: z.literal('invoke'), data: invokeSchema }),
]);

export const pluginEventSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('heartbeat'), session_id: z.null(), data: z.object({}) }),
  z.object({ event: z.literal('log'), session_id: z.null(), data: z.object({ level: z.string(), message: z.string(), timestamp: z.number() }) }),
  z.object({ event: z.literal('error'), session_id: z.string().nullable(), data: z.unknown() }),
  z.object({ event: z.literal('session'), session_id: z.string().min(1), data: sessionMessageSchema }),
]);

/** plugin -> daemon: `SessionMessage.data` of a `stream` chunk of an endpoint response. */
export interface EndpointResponseChunk {
  status?: number;
  headers?: Record<string, string>;
  result?: string;
}

/** plugin -> daemon: `ErrorResponse` (args has at most 10 keys or the daemon ignores the message). */
export interface SessionErrorData {
  error_type: string;
  message: string;
  args: Record<string, unknown>;
}

export type SessionMessageType = 'stream' | 'end' | 'error' | 'invoke';

export interface PluginEvent {
  event: 'session' | 'heartbeat' | 'log' | 'error';
  session_id: string | null;
  data: unknown;
}

export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';

// ---- line builders (each returns one complete NDJSON line, newline included) ----

export const HEARTBEAT_LINE = '{"event":"heartbeat","session_id":null,"data":{}}\n';

export function sessionLine(sessionId: string, type: SessionMessageType, data: unknown): string {
  return `{"event":"session","session_id":${JSON.stringify(sessionId)},"data":{"type":"${type}","data":${JSON.stringify(data)}}}\n`;
}

export function endLine(sessionId: string): string {
  return `{"event":"session","session_id":${JSON.stringify(sessionId)},"data":{"type":"end","data":{}}}\n`;
}

/** A `stream` chunk; the hex body is spliced in without JSON-escaping a multi-megabyte string. */
export function streamChunkLine(sessionId: string, chunk: { status?: number; headers?: Record<string, string>; body?: Uint8Array }): string {
  let inner = '';
  if (chunk.status !== undefined) inner += `"status":${chunk.status | 0}`;
  if (chunk.headers !== undefined) inner += `${inner ? ',' : ''}"headers":${JSON.stringify(chunk.headers)}`;
  if (chunk.body !== undefined) inner += `${inner ? ',' : ''}"result":"${Buffer.from(chunk.body.buffer, chunk.body.byteOffset, chunk.body.byteLength).toString('hex')}"`;
  return `{"event":"session","session_id":${JSON.stringify(sessionId)},"data":{"type":"stream","data":{${inner}}}}\n`;
}

export function errorData(errorType: string, message: string, args: Record<string, unknown> = {}): SessionErrorData {
  const kept: Record<string, unknown> = {};
  for (const key of Object.keys(args).slice(0, 10)) kept[key] = args[key];
  return { error_type: errorType, message: clipMessage(message), args: kept };
}

export function logLine(level: LogLevel, message: string): string {
  return JSON.stringify({ event: 'log', session_id: null, data: { level, message: clipMessage(message), timestamp: Date.now() / 1000 } }) + '\n';
}
