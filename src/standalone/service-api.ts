/**
 * The standalone backend: Dify's public Service API behind the AppHandle interface, one handle per
 * app key. All handles share one keep-alive connection pool (node:http(s) Agent) per Dify base.
 *
 * - /info and /parameters are cached with a TTL (one in-flight fetch shared; failures not cached).
 * - No retries: a retried POST could run the app twice.
 * - Errors before the stream become DifyError(code, status, retry-after); `error` events inside the
 *   stream are yielded as events.
 * - Aborting the run's signal POSTs the app mode's stop route with the same `user` at once (or as
 *   soon as the task id is known), then drops the upstream response.
 * - Agent apps are always streamed upstream (Dify refuses blocking for them).
 * Secrets: the app key only ever goes into the Authorization header; it never reaches a log line or
 * an error message.
 */
import { createHash, randomUUID } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import {
  DifyError,
  type AppHandle,
  type AppInfo,
  type AppInputField,
  type AppMode,
  type AppParameters,
  type AppRunRequest,
  type DifyFileInput,
} from '../backend/types.js';
import type { DifyEvent } from '../dify/events.js';
import { decodeDifyEventBatches } from '../dify/sse-decoder.js';

export interface ServiceApiOptions {
  /** e.g. https://api.dify.ai/v1 (trailing slash tolerated). */
  baseUrl: string;
  /** Connect + time to response headers, idle time between stream bytes, and whole blocking calls (ms). */
  timeoutMs: number;
  /** How long /info and /parameters stay cached (ms). */
  infoTtlMs?: number;
  /** Maximum sockets per origin in the pool (default unbounded: every open stream holds one). */
  maxSockets?: number;
  log: Logger;
  /** Called once per failed upstream call (for metrics): a short kind such as `http_429`, `timeout`, `network`, `stream_error`. */
  onUpstreamError?: (kind: string) => void;
}

interface Cached<T> {
  value?: T;
  expiresAt: number;
  pending?: Promise<T>;
}

const TERMINAL = new Set(['message_end', 'workflow_finished', 'error', 'workflow_paused']);

/** A non-secret, stable id for an app key (shown as AppInfo.id, used in memory scopes). */
export function appKeyId(baseUrl: string, key: string): string {
  return `key-${createHash('sha256').update(`${baseUrl}\n${key}`).digest('hex').slice(0, 16)}`;
}

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(raw);
  if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - Date.now()) / 1000));
  return undefined;
}

/** Paths http.request takes as they are (no encoding or dot segments to resolve). */
const SIMPLE_PATH = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+(?:\?[A-Za-z0-9._~%=&+-]*)?$/;

/** The whole body (events, not an async iterator: this runs once per blocking request). */
function readAll(response: IncomingMessage, limit = 20 * 1024 * 1024): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        response.destroy();
        reject(new DifyError('Dify answered with a body too large to read', 'upstream_bad_response', 502));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      // Closed before 'end': the body was cut off.
      cleanup();
      reject(new Error('the response closed before its end'));
    };
    const cleanup = () => {
      response.off('data', onData);
      response.off('end', onEnd);
      response.off('error', onError);
      response.off('close', onClose);
    };
    response.on('data', onData);
    response.once('end', onEnd);
    response.once('error', onError);
    response.once('close', onClose);
  });
}

function flattenInputForm(raw: unknown): AppInputField[] {
  if (!Array.isArray(raw)) return [];
  const fields: AppInputField[] = [];
  for (const entry of raw) {
    if (!entry || typeof entry !== 'object') continue;
    const [type, spec] = Object.entries(entry as Record<string, unknown>)[0] ?? [];
    if (!type || !spec || typeof spec !== 'object') continue;
    const s = spec as Record<string, unknown>;
    if (typeof s.variable !== 'string') continue;
    const field: AppInputField = { variable: s.variable, type: typeof s.type === 'string' ? s.type : type, required: s.required === true };
    if (typeof s.label === 'string') field.label = s.label;
    if (typeof s.max_length === 'number') field.maxLength = s.max_length;
    if (Array.isArray(s.options)) field.options = s.options.map(String);
    if (s.default !== undefined && s.default !== '') field.default = s.default;
    fields.push(field);
  }
  return fields;
}

/** Maps GET /parameters (both the chat-app `image` shape and the workflow shape) to AppParameters. */
export function toAppParameters(raw: Record<string, unknown>): AppParameters {
  const params: AppParameters = {
    suggestedQuestions: Array.isArray(raw.suggested_questions) ? raw.suggested_questions.map(String) : [],
    inputs: flattenInputForm(raw.user_input_form),
  };
  if (typeof raw.opening_statement === 'string' && raw.opening_statement) params.openingStatement = raw.opening_statement;
  if ((raw.suggested_questions_after_answer as { enabled?: unknown } | undefined)?.enabled === true) params.followUps = true;
  if ((raw.text_to_speech as { enabled?: unknown } | undefined)?.enabled === true) params.speech = true;
  if ((raw.speech_to_text as { enabled?: unknown } | undefined)?.enabled === true) params.dictation = true;
  const upload = raw.file_upload as Record<string, unknown> | undefined;
  if (upload && typeof upload === 'object') {
    const image = (upload.image ?? {}) as Record<string, unknown>;
    const enabled = upload.enabled === true || image.enabled === true;
    const allowedTypes = Array.isArray(upload.allowed_file_types)
      ? upload.allowed_file_types.map(String)
      : image.enabled === true
        ? ['image']
        : [];
    const methods = (Array.isArray(upload.allowed_file_upload_methods) ? upload.allowed_file_upload_methods : Array.isArray(image.transfer_methods) ? image.transfer_methods : [])
      .map(String)
      .filter((m): m is 'remote_url' | 'local_file' => m === 'remote_url' || m === 'local_file');
    const limit = typeof upload.number_limits === 'number' ? upload.number_limits : typeof image.number_limits === 'number' ? image.number_limits : undefined;
    params.fileUpload = { enabled, allowedTypes, transferMethods: methods };
    if (limit !== undefined) params.fileUpload.numberLimits = limit;
  }
  return params;
}

export class DifyServiceApi {
  readonly baseUrl: string;
  private readonly origin: URL;
  /** http.request options for the base URL; `path` is the base path, without a trailing slash. */
  private readonly requestTarget: { protocol: string; hostname: string; port: string | number; path: string };
  private readonly agent: http.Agent;
  private readonly handles = new Map<string, ServiceApiApp>();

  constructor(readonly options: ServiceApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.origin = new URL(this.baseUrl);
    this.requestTarget = {
      protocol: this.origin.protocol,
      hostname: this.origin.hostname.replace(/^\[|\]$/g, ''),
      port: this.origin.port || (this.origin.protocol === 'https:' ? 443 : 80),
      path: this.origin.pathname.replace(/\/+$/, ''),
    };
    const agentOptions = { keepAlive: true, keepAliveMsecs: 30_000, maxSockets: options.maxSockets ?? Infinity, maxFreeSockets: 256, scheduling: 'lifo' as const };
    this.agent = this.origin.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  /** The handle for one app key (the same object for the same key). */
  app(key: string): ServiceApiApp {
    let handle = this.handles.get(key);
    if (!handle) {
      handle = new ServiceApiApp(this, key);
      this.handles.set(key, handle);
    }
    return handle;
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * One HTTP call to Dify. Resolves with the response once headers arrive (status not checked);
   * rejects with DifyError on network failure or timeout. `signal` aborts the call.
   */
  request(
    key: string,
    method: 'GET' | 'POST',
    path: string,
    body: { json: unknown } | { raw: Buffer; contentType: string } | undefined,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    // Plain paths (all of ours) skip the WHATWG URL parse and http's URL-to-options step.
    const simple = SIMPLE_PATH.test(path);
    const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept: 'application/json, text/event-stream' };
    let payload: Buffer | undefined;
    if (body && 'json' in body) {
      payload = Buffer.from(JSON.stringify(body.json), 'utf8');
      headers['content-type'] = 'application/json';
    } else if (body) {
      payload = body.raw;
      headers['content-type'] = body.contentType;
    }
    if (payload) headers['content-length'] = String(payload.length);
    const transport = this.origin.protocol === 'https:' ? https : http;
    const timeoutMs = this.options.timeoutMs;
    const host = this.origin.host;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = simple
        ? transport.request({ ...this.requestTarget, path: this.requestTarget.path + path, method, headers, agent: this.agent })
        : transport.request(new URL(this.baseUrl + path), { method, headers, agent: this.agent });
      let settled = false;
      const fail = (error: DifyError) => {
        if (settled) return;
        settled = true;
        clearTimeout(headerTimer);
        this.options.onUpstreamError?.(error.code === 'upstream_timeout' ? 'timeout' : 'network');
        req.destroy();
        reject(error);
      };
      const headerTimer = setTimeout(
        () => fail(new DifyError(`Dify did not answer within ${Math.round(timeoutMs / 1000)} s`, 'upstream_timeout', 504)),
        timeoutMs,
      );
      const onAbort = () => fail(new DifyError('request aborted by the client', 'client_aborted', 499));
      if (signal) {
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
      }
      req.on('response', (response) => {
        if (settled) {
          response.destroy();
          return;
        }
        settled = true;
        clearTimeout(headerTimer);
        signal?.removeEventListener('abort', onAbort);
        // Idle timeout between body bytes (Dify pings every 10 s on long flows).
        const socket = response.socket;
        if (socket) {
          const onIdle = () => response.destroy(new Error('upstream idle timeout'));
          socket.setTimeout(timeoutMs);
          socket.on('timeout', onIdle);
          response.once('close', () => {
            socket.setTimeout(0);
            socket.off('timeout', onIdle);
          });
        }
        resolve(response);
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        // Never include the URL with credentials or the key: only the host and the error code.
        fail(new DifyError(`cannot reach Dify at ${host}: ${error.code ?? error.message}`, 'upstream_unavailable', 503));
      });
      req.end(payload);
    });
  }

  /** Reads a non-2xx answer as Dify's envelope and turns it into a DifyError. */
  async httpError(response: IncomingMessage): Promise<DifyError> {
    const status = response.statusCode ?? 502;
    this.options.onUpstreamError?.(`http_${status}`);
    let code = status === 401 ? 'unauthorized' : status === 404 ? 'not_found' : status === 429 ? 'too_many_requests' : 'upstream_error';
    let message = `Dify answered HTTP ${status}`;
    try {
      const text = (await readAll(response, 1024 * 1024)).toString('utf8');
      const parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
      if (typeof parsed.code === 'string' && parsed.code) code = parsed.code;
      if (typeof parsed.message === 'string' && parsed.message) message = parsed.message;
    } catch {
      // Not Dify's envelope (a gateway's HTML page, say): keep the generic message.
    }
    return new DifyError(message, code, status, parseRetryAfter(response.headers['retry-after']));
  }

  async getJson(key: string, path: string): Promise<Record<string, unknown>> {
    const response = await this.request(key, 'GET', path, undefined);
    if ((response.statusCode ?? 500) >= 400) throw await this.httpError(response);
    return this.parseJson(response);
  }

  async parseJson(response: IncomingMessage): Promise<Record<string, unknown>> {
    const text = (await readAll(response)).toString('utf8');
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // fall through
    }
    this.options.onUpstreamError?.('bad_response');
    throw new DifyError('Dify answered with something that is not JSON', 'upstream_bad_response', 502);
  }

  /** Fire-and-forget stop of a running task; resolves when Dify answered (or gave up). */
  async stop(key: string, mode: AppMode, taskId: string, user: string): Promise<void> {
    const path =
      mode === 'workflow'
        ? `/workflows/tasks/${encodeURIComponent(taskId)}/stop`
        : mode === 'completion'
          ? `/completion-messages/${encodeURIComponent(taskId)}/stop`
          : `/chat-messages/${encodeURIComponent(taskId)}/stop`;
    try {
      const response = await this.request(key, 'POST', path, { json: { user } });
      response.resume();
      if ((response.statusCode ?? 500) >= 400) this.options.log.warn({ status: response.statusCode, mode }, 'Dify refused to stop a task');
    } catch (error) {
      this.options.log.warn({ err: { message: (error as Error).message }, mode }, 'could not stop a Dify task');
    }
  }
}

export class ServiceApiApp implements AppHandle {
  readonly fileTransfer = 'remote_url_and_upload' as const;
  readonly canStopEarly = true;
  readonly id: string;
  private infoCache: Cached<AppInfo> = { expiresAt: 0 };
  private paramsCache: Cached<AppParameters> = { expiresAt: 0 };

  constructor(
    private readonly api: DifyServiceApi,
    private readonly key: string,
  ) {
    this.id = appKeyId(api.baseUrl, key);
  }

  private cached<T>(cache: Cached<T>, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    if (cache.value !== undefined && cache.expiresAt > now) return Promise.resolve(cache.value);
    if (cache.pending) return cache.pending;
    const pending = load().then(
      (value) => {
        cache.value = value;
        cache.expiresAt = Date.now() + (this.api.options.infoTtlMs ?? 300_000);
        cache.pending = undefined;
        return value;
      },
      (error: unknown) => {
        cache.pending = undefined;
        // A stale value beats an outage for naming models; errors surface only without one.
        if (cache.value !== undefined) return cache.value;
        throw error;
      },
    );
    cache.pending = pending;
    return pending;
  }

  info(): Promise<AppInfo> {
    return this.cached(this.infoCache, async () => {
      const raw = await this.api.getJson(this.key, '/info');
      const mode = typeof raw.mode === 'string' ? (raw.mode as AppMode) : 'chat';
      const info: AppInfo = { id: this.id, name: typeof raw.name === 'string' && raw.name ? raw.name : this.id, mode };
      if (typeof raw.description === 'string' && raw.description) info.description = raw.description;
      return info;
    });
  }

  parameters(): Promise<AppParameters> {
    return this.cached(this.paramsCache, async () => toAppParameters(await this.api.getJson(this.key, '/parameters')));
  }

  async suggestedQuestions(messageId: string, user: string): Promise<string[]> {
    const body = await this.api.getJson(this.key, `/messages/${encodeURIComponent(messageId)}/suggested?user=${encodeURIComponent(user)}`);
    return Array.isArray(body.data) ? body.data.filter((q): q is string => typeof q === 'string') : [];
  }

  async rateMessage(messageId: string, rating: 'like' | 'dislike' | null, user: string): Promise<void> {
    const response = await this.api.request(this.key, 'POST', `/messages/${encodeURIComponent(messageId)}/feedbacks`, { json: { rating, user } });
    if ((response.statusCode ?? 500) >= 400) throw await this.api.httpError(response);
    response.resume();
  }

  async speak(messageId: string, user: string, signal: AbortSignal): Promise<{ contentType: string; audio: AsyncIterable<Uint8Array> }> {
    const response = await this.api.request(this.key, 'POST', '/text-to-audio', { json: { message_id: messageId, user } }, signal);
    if ((response.statusCode ?? 500) >= 400) throw await this.api.httpError(response);
    signal.addEventListener('abort', () => response.destroy(), { once: true });
    const type = String(response.headers['content-type'] ?? '');
    return { contentType: type.startsWith('audio/') ? type : 'audio/mpeg', audio: response };
  }

  async uploadFile(file: { data: Uint8Array; filename: string; mimeType: string }, user: string): Promise<{ id: string }> {
    const body = await this.postFile('/files/upload', file, user);
    if (typeof body.id !== 'string') throw new DifyError('Dify accepted the upload but returned no file id', 'upstream_bad_response', 502);
    return { id: body.id };
  }

  async transcribe(audio: { data: Uint8Array; filename: string; mimeType: string }, user: string): Promise<string> {
    const body = await this.postFile('/audio-to-text', audio, user);
    return typeof body.text === 'string' ? body.text : '';
  }

  /** POSTs one file and the end user as multipart/form-data (Dify's upload and speech to text). */
  private async postFile(path: string, file: { data: Uint8Array; filename: string; mimeType: string }, user: string): Promise<Record<string, unknown>> {
    const boundary = `----dify-bridge-${randomUUID()}`;
    const safeName = file.filename.replace(/["\r\n/\\]/g, '_') || 'file';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="user"\r\n\r\n${user}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName}"\r\nContent-Type: ${file.mimeType}\r\n\r\n`,
      'utf8',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
    const raw = Buffer.concat([head, Buffer.from(file.data.buffer, file.data.byteOffset, file.data.byteLength), tail]);
    const response = await this.api.request(this.key, 'POST', path, { raw, contentType: `multipart/form-data; boundary=${boundary}` });
    if ((response.statusCode ?? 500) >= 400) throw await this.api.httpError(response);
    return this.api.parseJson(response);
  }

  /** Refuses files the app's file-upload settings would silently drop. */
  private async checkFiles(files: DifyFileInput[]): Promise<void> {
    if (files.length === 0) return;
    const upload = (await this.parameters()).fileUpload;
    if (!upload?.enabled) {
      throw new DifyError("This Dify app does not accept files: enable file upload (vision) in the app's features", 'files_not_enabled', 400);
    }
    for (const file of files) {
      if (upload.allowedTypes && upload.allowedTypes.length > 0 && !upload.allowedTypes.includes(file.type) && !upload.allowedTypes.includes('custom')) {
        throw new DifyError(`This Dify app does not accept ${file.type} files (allowed: ${upload.allowedTypes.join(', ')})`, 'file_type_not_allowed', 400);
      }
      if (upload.transferMethods && upload.transferMethods.length > 0 && !upload.transferMethods.includes(file.transfer_method)) {
        const how = file.transfer_method === 'remote_url' ? 'file URLs' : 'uploaded files';
        throw new DifyError(`This Dify app does not accept ${how} (allowed: ${upload.transferMethods.join(', ')})`, 'file_transfer_not_allowed', 400);
      }
    }
    if (upload.numberLimits !== undefined && files.length > upload.numberLimits) {
      throw new DifyError(`This Dify app accepts at most ${upload.numberLimits} files per message`, 'too_many_files', 400);
    }
  }

  run(request: AppRunRequest, signal: AbortSignal): AsyncIterable<DifyEvent> {
    return this.runEvents(request, signal);
  }

  runBatches(request: AppRunRequest, signal: AbortSignal): AsyncIterable<DifyEvent[]> {
    return this.runEventBatches(request, signal);
  }

  private async *runEvents(request: AppRunRequest, signal: AbortSignal): AsyncGenerator<DifyEvent> {
    for await (const batch of this.runEventBatches(request, signal)) {
      for (const event of batch) yield event;
    }
  }

  private async *runEventBatches(request: AppRunRequest, signal: AbortSignal): AsyncGenerator<DifyEvent[]> {
    const info = await this.info();
    const mode = info.mode;
    const files = request.files ?? [];
    await this.checkFiles(files);
    const streaming = request.streaming || mode === 'agent-chat' || mode === 'agent';
    const responseMode = streaming ? 'streaming' : 'blocking';
    let path: string;
    let body: Record<string, unknown>;
    if (mode === 'workflow') {
      path = '/workflows/run';
      body = { inputs: request.inputs, response_mode: responseMode, user: request.user };
    } else if (mode === 'completion') {
      path = '/completion-messages';
      body = { inputs: request.inputs, query: request.query ?? '', response_mode: responseMode, user: request.user };
    } else {
      path = '/chat-messages';
      body = { inputs: request.inputs, query: request.query ?? '', response_mode: responseMode, conversation_id: request.conversationId ?? '', user: request.user };
    }
    if (files.length > 0) body.files = files;

    const api = this.api;
    const response = await api.request(this.key, 'POST', path, { json: body }, signal);
    if ((response.statusCode ?? 500) >= 400) throw await api.httpError(response);

    if (!streaming || !String(response.headers['content-type'] ?? '').includes('text/event-stream')) {
      const parsed = await api.parseJson(response);
      if (mode === 'workflow' && typeof parsed.event !== 'string') {
        // Blocking workflow bodies have no `event`: they are the workflow_finished payload.
        yield [{ event: 'workflow_finished', task_id: parsed.task_id, workflow_run_id: parsed.workflow_run_id, data: parsed.data } as DifyEvent];
      } else {
        yield [parsed as DifyEvent];
      }
      return;
    }

    let taskId: string | undefined;
    let terminal = false;
    let stopSent = false;
    let abortTimer: NodeJS.Timeout | undefined;
    const sendStop = () => {
      if (stopSent || !taskId) return;
      stopSent = true;
      void api.stop(this.key, mode, taskId, request.user);
    };
    const onAbort = () => {
      if (terminal) return;
      if (taskId) {
        sendStop();
        response.destroy();
      } else {
        // Keep reading briefly to learn the task id (flow streams open with a ping), then give up.
        abortTimer = setTimeout(() => response.destroy(), 1000);
      }
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    // The consumer has its answer: stop the run, keep reading to Dify's end event (usage).
    const finishEarly = request.finishEarly;
    const onFinishEarly = () => sendStop();
    finishEarly?.addEventListener('abort', onFinishEarly, { once: true });
    try {
      // destroyOnReturn: false — stopping early must not kill the keep-alive socket (see finally).
      for await (const batch of decodeDifyEventBatches(response.iterator({ destroyOnReturn: false }))) {
        // The events of one read, minus those the checks below drop (usually all of them pass).
        let out: DifyEvent[] | undefined;
        for (let i = 0; i < batch.length; i++) {
          const event = batch[i]!;
          if (!taskId && typeof event.task_id === 'string') {
            taskId = event.task_id;
            if (signal.aborted) {
              sendStop();
              response.destroy();
              return;
            }
            if (finishEarly?.aborted) sendStop();
          }
          if (TERMINAL.has(event.event)) terminal = true;
          if (event.event === 'error') api.options.onUpstreamError?.('stream_error');
          if (signal.aborted) {
            out ??= batch.slice(0, i) as DifyEvent[];
            continue;
          }
          out?.push(event as DifyEvent);
        }
        const events = out ?? (batch as DifyEvent[]);
        if (events.length > 0) yield events;
      }
    } catch (error) {
      if (signal.aborted) return;
      if (!terminal) {
        api.options.onUpstreamError?.('stream_broken');
        // The stream broke after it started: report in band, like Dify's own error events.
        yield [{ event: 'error', code: 'upstream_stream_broken', status: 502, message: `the Dify stream ended abnormally: ${(error as Error).message}` } as DifyEvent];
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      finishEarly?.removeEventListener('abort', onFinishEarly);
      if (abortTimer) clearTimeout(abortTimer);
      // The consumer stopped early without a terminal event: free Dify's concurrency slot and stop the run.
      if (!terminal) sendStop();
      if (!response.complete) {
        if (terminal && !signal.aborted) {
          // The answer is complete; Dify may still be finishing (title generation, TTS end). Read the
          // rest so the keep-alive socket goes back to the pool, but not forever.
          const timer = setTimeout(() => response.destroy(), 10_000);
          timer.unref();
          response.once('end', () => clearTimeout(timer));
          response.once('close', () => clearTimeout(timer));
          response.resume();
        } else {
          response.destroy();
        }
      }
    }
  }
}
