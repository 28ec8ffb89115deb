/**
 * The OpenAI error envelope and status mapping (openai-compat.md §4).
 * Every non-2xx body is `{"error":{"message","type","param","code"}}`, JSON, with CORS headers.
 * Generic: used by every group (chat-app, llm), knows nothing about one app.
 */
import type { Response } from 'express';
import { DifyError } from '../backend/types.js';
import { sendJson } from './json-response.js';

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'insufficient_quota';

export interface OpenAIErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** An error that knows how it looks on the wire. Throw it from handlers; `sendError` renders it. */
export class OpenAIError extends Error {
  readonly headers: Record<string, string>;
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'OpenAIError';
    this.headers = headers;
  }

  body(): { error: OpenAIErrorBody } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export function invalidRequest(message: string, param: string | null = null, code: string | null = 'invalid_value'): OpenAIError {
  return new OpenAIError(400, message, 'invalid_request_error', param, code);
}

export function unsupported(message: string, param: string, code: 'unsupported_parameter' | 'unsupported_value' = 'unsupported_parameter'): OpenAIError {
  return new OpenAIError(400, message, 'invalid_request_error', param, code);
}

export function invalidApiKey(): OpenAIError {
  return new OpenAIError(
    401,
    'Incorrect API key provided. Send the key of this endpoint as `Authorization: Bearer <key>`.',
    'invalid_request_error',
    null,
    'invalid_api_key',
  );
}

export function modelNotFound(model: string): OpenAIError {
  return new OpenAIError(
    404,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    'invalid_request_error',
    'model',
    'model_not_found',
  );
}

export function routeNotFound(method: string, path: string): OpenAIError {
  return new OpenAIError(404, `Invalid URL (${method} ${path})`, 'invalid_request_error', null, 'unknown_url');
}

export function serverError(message = 'The server had an error while processing your request.'): OpenAIError {
  return new OpenAIError(500, message, 'server_error', null, 'internal_error');
}

const noRetry = { 'x-should-retry': 'false' };

/**
 * Maps a Dify error (before any event) to what an OpenAI client should see (openai-compat.md §4.3).
 * Upstream auth problems never become 401: the client would blame its own key.
 */
export function fromDifyError(err: DifyError): OpenAIError {
  const msg = err.message || 'Dify returned an error.';
  const lower = msg.toLowerCase();
  if (isContextOverflow(lower)) {
    return new OpenAIError(400, contextMessage(msg), 'invalid_request_error', 'messages', 'context_length_exceeded', noRetry);
  }
  switch (err.code) {
    case 'invalid_param':
    case 'bad_request':
    case 'not_chat_app':
    case 'not_workflow_app':
    case 'not_completion_app':
    case 'conversation_completed':
    case 'completion_request_error':
    case 'model_currently_not_support':
      if (err.code === 'completion_request_error' && /\b429\b|rate limit/i.test(msg)) {
        return rateLimited(msg, err.retryAfterSeconds);
      }
      return new OpenAIError(400, msg, 'invalid_request_error', null, err.code, noRetry);
    case 'app_unavailable':
    case 'forbidden':
      return new OpenAIError(503, `The Dify app is unavailable: ${msg}`, 'server_error', null, err.code, noRetry);
    case 'provider_not_initialize':
      return new OpenAIError(503, msg, 'server_error', null, err.code, noRetry);
    case 'provider_quota_exceeded':
    case 'insufficient_quota':
      return new OpenAIError(429, msg, 'insufficient_quota', null, 'insufficient_quota', noRetry);
    case 'too_many_requests':
    case 'rate_limit_error':
    case 'rate_limit_exceeded':
      return rateLimited(msg, err.retryAfterSeconds, err.code === 'rate_limit_error');
    case 'unauthorized':
    case 'upstream_auth_error':
      return new OpenAIError(502, `Dify rejected this endpoint's credentials: ${msg}`, 'server_error', null, 'upstream_auth_error', noRetry);
    case 'not_found':
      if (/conversation/i.test(msg)) {
        return new OpenAIError(404, msg, 'invalid_request_error', null, 'conversation_not_found', noRetry);
      }
      return new OpenAIError(404, msg, 'invalid_request_error', 'model', 'model_not_found', noRetry);
    case 'file_too_large':
    case 'audio_too_large':
      return new OpenAIError(413, msg, 'invalid_request_error', null, err.code);
    case 'unsupported_file_type':
    case 'unsupported_audio_type':
      return new OpenAIError(400, msg, 'invalid_request_error', null, err.code);
    case 'timeout':
    case 'upstream_timeout':
      return new OpenAIError(504, msg, 'server_error', null, 'upstream_timeout');
    default:
      break;
  }
  if (err.status === 429) return rateLimited(msg, err.retryAfterSeconds);
  if (err.status === 401 || err.status === 403) {
    return new OpenAIError(502, `Dify rejected this endpoint's credentials: ${msg}`, 'server_error', null, 'upstream_auth_error', noRetry);
  }
  if (err.status === 404) return new OpenAIError(404, msg, 'invalid_request_error', null, 'not_found', noRetry);
  if (err.status >= 400 && err.status < 500) {
    return new OpenAIError(400, msg, 'invalid_request_error', null, err.code || null, noRetry);
  }
  if (err.status === 504) return new OpenAIError(504, msg, 'server_error', null, 'upstream_timeout');
  if (err.status === 503 || err.status === 0) return new OpenAIError(503, msg, 'server_error', null, err.code || 'upstream_unavailable');
  return new OpenAIError(502, msg, 'server_error', null, err.code || 'upstream_error');
}

function rateLimited(msg: string, retryAfterSeconds: number | undefined, quota = false): OpenAIError {
  const seconds = retryAfterSeconds ?? 1;
  const headers: Record<string, string> = {
    'retry-after': String(Math.max(0, Math.ceil(seconds))),
    'retry-after-ms': String(Math.max(0, Math.round(seconds * 1000))),
  };
  if (quota) headers['x-should-retry'] = 'false';
  return new OpenAIError(429, msg, 'rate_limit_error', null, quota ? 'insufficient_quota' : 'rate_limit_exceeded', headers);
}

function isContextOverflow(lower: string): boolean {
  return (
    lower.includes('context_length_exceeded') ||
    lower.includes('maximum context length') ||
    lower.includes('prompt is too long') ||
    lower.includes('query or prefix prompt is too long') ||
    lower.includes('context window')
  );
}

function contextMessage(msg: string): string {
  return /maximum context length/i.test(msg) ? msg : `This model's maximum context length was exceeded: ${msg}`;
}

/** The in-band error object for a stream that already started (openai-compat.md §3.6). */
export function streamErrorBody(code: string | null | undefined, message: string | null | undefined, status?: number | null): { error: OpenAIErrorBody } {
  const msg = message || 'The Dify app failed while answering.';
  const lower = msg.toLowerCase();
  if (isContextOverflow(lower)) {
    return { error: { message: contextMessage(msg), type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } };
  }
  const type = status && status >= 400 && status < 500 && code !== 'completion_request_error' ? 'invalid_request_error' : 'server_error';
  return { error: { message: msg, type, param: null, code: code || 'upstream_error' } };
}

/**
 * An app failure reported inside Dify's stream, for a client that is still waiting for a complete
 * (non-streaming) answer: the same mapping as errors before the stream; the app already ran, so
 * only rate limits invite a retry.
 */
export function fromStreamError(code: string, message: string, status?: number): OpenAIError {
  const e = fromDifyError(new DifyError(message, code, status ?? 500));
  if (e.status === 429 && e.code === 'rate_limit_exceeded') return e;
  const body = streamErrorBody(code, message, status);
  const st = e.status >= 500 || e.status === 404 ? 502 : e.status;
  return new OpenAIError(st, body.error.message, e.status >= 500 ? 'server_error' : e.type, body.error.param, e.status >= 500 ? body.error.code : e.code, {
    ...e.headers,
    'x-should-retry': 'false',
  });
}

/** Anything thrown in a handler, as an OpenAIError. Unknown errors become a 500 without internals. */
export function toOpenAIError(err: unknown): OpenAIError {
  if (err instanceof OpenAIError) return err;
  if (err instanceof DifyError) return fromDifyError(err);
  if (err && typeof err === 'object' && (err as { type?: unknown }).type === 'entity.too.large') {
    return new OpenAIError(413, 'The request body is too large.', 'invalid_request_error', null, 'request_too_large');
  }
  if (err && typeof err === 'object' && (err as { type?: unknown }).type === 'entity.parse.failed') {
    return new OpenAIError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null, 'invalid_json');
  }
  return serverError();
}

/** Writes the error as JSON with its status and headers. No-op if the response already started. */
export function sendError(res: Response, err: unknown): void {
  const e = toOpenAIError(err);
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
  sendJson(res, e.status, JSON.stringify(e.body()));
}
