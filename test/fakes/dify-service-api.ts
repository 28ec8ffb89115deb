/**
 * A fake Dify Service API on loopback, following ../shared/reference/dify-service-api.md:
 * POST /v1/chat-messages, /v1/completion-messages, /v1/workflows/run (streaming and blocking),
 * the three stop routes, POST /v1/files/upload, GET /v1/info, /v1/parameters, /v1/meta.
 *
 * - Bearer app keys; 401 envelope for unknown keys.
 * - Conversations belong to (app, user): another user's id -> 404 "Conversation Not Exists.".
 * - SSE written the awkward ways real deployments produce: ping first, UTF-8 split across writes,
 *   one byte per write, CRLF, the legacy spaced ASCII-escaped JSON style.
 * - Scripts per request: HTTP errors before the stream, error events mid-stream, slow streams that
 *   run until stopped.
 * - Every request is recorded so tests can assert what went upstream.
 *
 * Written with erasable TypeScript only, so plain `node` (type stripping) can import it from bench/.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeAppMode = 'chat' | 'agent-chat' | 'advanced-chat' | 'completion' | 'workflow';

export interface FakeApp {
  key: string;
  name: string;
  mode: FakeAppMode;
  description?: string;
  /** Raw /parameters body; a sensible default per mode otherwise. */
  parameters?: Record<string, unknown>;
}

export interface HttpErrorScript {
  status: number;
  code: string;
  message: string;
  retryAfter?: string;
}

/** How one run behaves. Anything left out takes the default (echo the query, compact JSON, whole frames). */
export interface Script {
  /** The answer text; default `Echo: <query>`. */
  answer?: string;
  /** Split the answer into deltas of this many characters (default 6). */
  deltaChars?: number;
  /** Exact deltas (overrides answer/deltaChars). */
  deltas?: string[];
  /** Answer before the stream with this HTTP error (Dify's JSON envelope). */
  httpError?: HttpErrorScript;
  /** After this many answer deltas, send an `error` event and end (no message_end). */
  errorAfterDeltas?: number;
  errorEvent?: { code: string; status: number; message: string };
  /** How frames are cut into writes: whole frames, one byte each, split inside UTF-8 sequences, or N bytes. */
  chunking?: 'frame' | 'byte' | 'split-utf8' | number;
  /** Legacy (<= 1.8) json.dumps style: spaced separators and \uXXXX escapes. */
  legacyJson?: boolean;
  /** CRLF line endings. */
  crlf?: boolean;
  /** Send `event: ping` before the first data frame (default: chatflow/workflow only). */
  pingFirst?: boolean;
  /** Pings between every delta (awkward but legal). */
  pingBetween?: boolean;
  /** Delay between deltas in ms (a slow model). */
  delayMs?: number;
  /** Hold the stream open after the first delta until stopped or the client leaves. */
  hangAfterFirst?: boolean;
  /** The stop API answers success but the run goes on (older Dify, langgenius/dify#16449). */
  ignoreStop?: boolean;
  /** What GET /messages/{id}/suggested answers for this run's message (the app needs the feature on). */
  followUps?: string[];
  /** Citations in message_end metadata (an app with "Citations and attributions" on). */
  retrieverResources?: Array<Record<string, unknown>>;
  /** Wait before sending response headers (a slow first token). */
  headersDelayMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Authorization header value. */
  authorization: string | undefined;
  appName: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or for uploads `{ user, filename, mimeType, size }`. */
  body: Record<string, unknown> | undefined;
  rawBodyBytes: number;
  at: number;
  /** Runs of chat apps: the conversation the run belongs to (new or continued). */
  conversationId?: string;
}

interface Task {
  id: string;
  user: string;
  appKey: string;
  stopped: boolean;
  ignoresStop?: boolean;
  onStop: (() => void) | undefined;
}

interface UploadedFile {
  id: string;
  user: string;
  appKey: string;
  name: string;
  mimeType: string;
  size: number;
  bytes: Buffer;
}

export interface FakeDifyServiceApi {
  /** e.g. http://127.0.0.1:34567/v1 (what DIFY_API_BASE would be). */
  readonly baseUrl: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  readonly uploads: UploadedFile[];
  /** Stop calls seen: task id, user, when. */
  readonly stops: Array<{ taskId: string; user: string; path: string; at: number }>;
  /** Streams whose client went away before the fake finished writing. */
  readonly clientClosedStreams: string[];
  /** Open streaming responses right now. */
  openStreams(): number;
  /** Sets the script for runs whose query/inputs match (a function of the request), or for all runs. */
  script(script: Script | ((request: RecordedRequest) => Script | undefined)): void;
  /** Conversations known to the fake: id -> owning user. */
  conversations(): Map<string, { user: string; appKey: string; turns: number }>;
  /** Recordings sent to speech to text: who, what type, how long (WAV). */
  readonly transcriptions: Array<{ user: string; mimeType: string; bytes: number; seconds: number }>;
  /** Ratings received (POST /messages/{id}/feedbacks), in order. */
  readonly feedbacks: Array<{ messageId: string; user: string; rating: string | null }>;
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_PARAMETERS: Record<string, unknown> = {
  opening_statement: 'Hello! How can I help you today?',
  suggested_questions: ['What can you do?'],
  suggested_questions_after_answer: { enabled: false },
  speech_to_text: { enabled: false },
  text_to_speech: { enabled: false, voice: 'alloy', language: 'en-US', autoPlay: 'disabled' },
  retriever_resource: { enabled: true },
  annotation_reply: { enabled: false },
  more_like_this: { enabled: false },
  user_input_form: [],
  sensitive_word_avoidance: { enabled: false, type: '', configs: [] },
  file_upload: {
    image: { enabled: true, number_limits: 3, detail: 'high', transfer_methods: ['remote_url', 'local_file'] },
  },
  system_parameters: {
    image_file_size_limit: 10,
    video_file_size_limit: 100,
    audio_file_size_limit: 50,
    file_size_limit: 15,
    workflow_file_upload_limit: 10,
  },
};

const WORKFLOW_PARAMETERS: Record<string, unknown> = {
  ...DEFAULT_PARAMETERS,
  user_input_form: [
    { paragraph: { label: 'Query', variable: 'query', required: true, max_length: 100000, default: '' } },
  ],
};

const USAGE = {
  prompt_tokens: 21,
  prompt_unit_price: '0.15',
  prompt_price_unit: '0.000001',
  prompt_price: '0.0000032',
  completion_tokens: 17,
  completion_unit_price: '0.6',
  completion_price_unit: '0.000001',
  completion_price: '0.0000102',
  total_tokens: 38,
  total_price: '0.0000134',
  currency: 'USD',
  latency: 0.91,
  time_to_first_token: null,
  time_to_generate: null,
};

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Python json.dumps default style: ", " and ": " separators, non-ASCII escaped as \uXXXX. */
export function legacyJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (Array.isArray(value)) return `[${value.map(legacyJson).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${legacyJson(k)}: ${legacyJson(v)}`).join(', ')}}`;
}

function envelope(res: ServerResponse, status: number, code: string, message: string, extraHeaders: Record<string, string> = {}) {
  const body = JSON.stringify({ code, message, status });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extraHeaders });
  res.end(body);
}

function splitDeltas(answer: string, size: number): string[] {
  const chars = Array.from(answer);
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(''));
  return out.length ? out : [''];
}

/** Cuts a frame's bytes into writes according to the chunking rule. */
function cutFrame(bytes: Buffer, chunking: Script['chunking']): Buffer[] {
  if (chunking === undefined || chunking === 'frame') return [bytes];
  if (chunking === 'byte') {
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(bytes.subarray(i, i + 1));
    return out;
  }
  if (chunking === 'split-utf8') {
    // Cut right after the first byte of every multi-byte sequence, and in the middle of the frame.
    const cuts = new Set<number>([Math.floor(bytes.length / 2)]);
    for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0xc0) cuts.add(i + 1);
    const sorted = [...cuts].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
    const out: Buffer[] = [];
    let start = 0;
    for (const c of sorted) {
      out.push(bytes.subarray(start, c));
      start = c;
    }
    out.push(bytes.subarray(start));
    return out;
  }
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunking) out.push(bytes.subarray(i, i + chunking));
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseMultipart(body: Buffer, contentType: string): { fields: Record<string, string>; file?: { filename: string; mimeType: string; data: Buffer } } {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const fields: Record<string, string> = {};
  if (!match) return { fields };
  const boundary = Buffer.from(`--${match[1] ?? match[2]}`);
  let file: { filename: string; mimeType: string; data: Buffer } | undefined;
  let pos = body.indexOf(boundary);
  while (pos !== -1) {
    const start = pos + boundary.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(boundary, start);
    if (next === -1) break;
    const part = body.subarray(start + 2, next - 2); // skip CRLF after boundary and before next
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, headerEnd).toString('utf8');
    const data = part.subarray(headerEnd + 4);
    const name = /name="([^"]*)"/i.exec(headers)?.[1] ?? '';
    const filename = /filename="([^"]*)"/i.exec(headers)?.[1];
    const mimeType = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1] ?? 'application/octet-stream';
    if (filename !== undefined && name === 'file') file = { filename, mimeType: mimeType.trim(), data };
    else fields[name] = data.toString('utf8');
    pos = next;
  }
  return file ? { fields, file } : { fields };
}

/** A short silent WAV (16 kHz mono PCM): what a TTS provider answers, minus the voice. */
export function silentWav(seconds: number): Buffer {
  const rate = 16_000;
  const data = Math.round(rate * seconds) * 2;
  const wav = Buffer.alloc(44 + data);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + data, 4);
  wav.write('WAVEfmt ', 8, 'ascii');
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(data, 40);
  return wav;
}

export async function startFakeDifyServiceApi(options: { apps: FakeApp[]; host?: string }): Promise<FakeDifyServiceApi> {
  const apps = new Map(options.apps.map((app) => [app.key, app]));
  const requests: RecordedRequest[] = [];
  const uploads: UploadedFile[] = [];
  const stops: FakeDifyServiceApi['stops'] = [];
  const clientClosedStreams: string[] = [];
  const tasks = new Map<string, Task>();
  const conversations = new Map<string, { user: string; appKey: string; turns: number }>();
  /** Answers of chat-family runs: who received them, and the follow-ups their script set. */
  const messages = new Map<string, { user: string; appKey: string; followUps: string[] }>();
  const feedbacks: FakeDifyServiceApi['feedbacks'] = [];
  const transcriptions: FakeDifyServiceApi['transcriptions'] = [];
  let scriptFor: (request: RecordedRequest) => Script | undefined = () => undefined;
  let open = 0;

  function authenticate(req: IncomingMessage, res: ServerResponse): FakeApp | undefined {
    const header = req.headers.authorization;
    if (!header || !header.includes(' ')) {
      envelope(res, 401, 'unauthorized', "Authorization header must be provided and start with 'Bearer'", { 'www-authenticate': 'Bearer realm="api"' });
      return undefined;
    }
    const [scheme, token] = header.split(/\s+/, 2);
    if (scheme!.toLowerCase() !== 'bearer') {
      envelope(res, 401, 'unauthorized', "Authorization scheme must be 'Bearer'", { 'www-authenticate': 'Bearer realm="api"' });
      return undefined;
    }
    const app = apps.get(token ?? '');
    if (!app) {
      envelope(res, 401, 'unauthorized', 'Access token is invalid', { 'www-authenticate': 'Bearer realm="api"' });
      return undefined;
    }
    return app;
  }

  async function run(app: FakeApp, route: 'chat' | 'completion' | 'workflow', body: Record<string, unknown>, recorded: RecordedRequest, req: IncomingMessage, res: ServerResponse) {
    const user = typeof body.user === 'string' ? body.user : '';
    if (!user) return envelope(res, 400, 'invalid_param', 'Arg user must be provided.');
    if (typeof body.inputs !== 'object' || body.inputs === null) return envelope(res, 400, 'invalid_param', 'inputs is required');
    const chatFamily = app.mode === 'chat' || app.mode === 'agent-chat' || app.mode === 'advanced-chat';
    if (route === 'chat' && !chatFamily) return envelope(res, 400, 'not_chat_app', 'Please check if your app mode matches the right API route.');
    if (route === 'completion' && app.mode !== 'completion') return envelope(res, 400, 'app_unavailable', 'App unavailable, please check your app configurations.');
    if (route === 'workflow' && app.mode !== 'workflow') return envelope(res, 400, 'not_workflow_app', 'Please check if your app mode matches the right API route.');
    const streaming = body.response_mode === 'streaming';
    if (app.mode === 'agent-chat' && !streaming) return envelope(res, 400, 'invalid_param', 'Agent Chat App does not support blocking mode');
    const query = route === 'workflow' ? String((body.inputs as Record<string, unknown>).query ?? '') : String(body.query ?? '');
    if (route === 'chat' && query === '') return envelope(res, 400, 'invalid_param', 'query is required');

    let conversationId = '';
    if (route === 'chat') {
      const requested = typeof body.conversation_id === 'string' ? body.conversation_id.trim() : '';
      if (requested) {
        if (!UUID_RE.test(requested)) return envelope(res, 400, 'invalid_param', 'conversation_id must be a valid UUID');
        const owner = conversations.get(requested);
        if (!owner || owner.user !== user || owner.appKey !== app.key) return envelope(res, 404, 'not_found', 'Conversation Not Exists.');
        owner.turns++;
        conversationId = requested;
      }
    }
    const script = scriptFor(recorded) ?? {};
    if (script.httpError) {
      const e = script.httpError;
      return envelope(res, e.status, e.code, e.message, e.retryAfter ? { 'retry-after': e.retryAfter } : {});
    }
    if (route === 'chat' && !conversationId) {
      conversationId = randomUUID();
      conversations.set(conversationId, { user, appKey: app.key, turns: 1 });
    }
    if (conversationId) recorded.conversationId = conversationId;
    const taskId = randomUUID();
    const messageId = randomUUID();
    if (route === 'chat') messages.set(messageId, { user, appKey: app.key, followUps: script.followUps ?? [] });
    const workflowRunId = randomUUID();
    const createdAt = Math.floor(Date.now() / 1000);
    const answer = script.answer ?? `Echo: ${query}`;
    const deltas = script.deltas ?? splitDeltas(answer, script.deltaChars ?? 6);
    const fullAnswer = deltas.join('');
    const metadata = { annotation_reply: null, retriever_resources: script.retrieverResources ?? [], usage: USAGE };

    if (!streaming) {
      if (script.headersDelayMs) await new Promise((r) => setTimeout(r, script.headersDelayMs));
      if (script.errorEvent || script.errorAfterDeltas !== undefined) {
        const e = script.errorEvent ?? { code: 'completion_request_error', status: 400, message: 'model failed' };
        return envelope(res, e.status, e.code, e.message);
      }
      let payload: Record<string, unknown>;
      if (route === 'workflow') {
        payload = {
          task_id: taskId,
          workflow_run_id: workflowRunId,
          data: { id: workflowRunId, workflow_id: randomUUID(), status: 'succeeded', outputs: { answer: fullAnswer }, error: null, elapsed_time: 0.5, total_tokens: 38, total_steps: 3, created_at: createdAt, finished_at: createdAt },
        };
      } else {
        payload = { event: 'message', task_id: taskId, id: messageId, message_id: messageId };
        if (route === 'chat') payload.conversation_id = conversationId;
        Object.assign(payload, { mode: app.mode, answer: fullAnswer, metadata, created_at: createdAt });
      }
      const text = legacyJson(payload); // blocking bodies are always json.dumps style
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }

    // Streaming.
    const task: Task = { id: taskId, user, appKey: app.key, stopped: false, onStop: undefined, ...(script.ignoreStop ? { ignoresStop: true } : {}) };
    tasks.set(taskId, task);
    if (script.headersDelayMs) await new Promise((r) => setTimeout(r, script.headersDelayMs));
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    open++;
    let finished = false;
    let clientGone = false;
    res.on('close', () => {
      open--;
      if (!finished) {
        clientGone = true;
        clientClosedStreams.push(taskId);
      }
      task.onStop?.();
    });
    const nl = script.crlf ? '\r\n' : '\n';
    const serialize = script.legacyJson ? legacyJson : (v: unknown) => JSON.stringify(v);
    const writeRaw = (text: string) => {
      for (const piece of cutFrame(Buffer.from(text, 'utf8'), script.chunking)) res.write(piece);
    };
    const send = (event: Record<string, unknown>) => writeRaw(`data: ${serialize(event)}${nl}${nl}`);
    const ping = () => writeRaw(`event: ping${nl}${nl}`);
    const prefix = (event: string): Record<string, unknown> => {
      if (route === 'workflow') return { event, workflow_run_id: workflowRunId, task_id: taskId };
      if (route === 'completion') return { event, message_id: messageId, created_at: createdAt, task_id: taskId };
      return { event, conversation_id: conversationId, message_id: messageId, created_at: createdAt, task_id: taskId };
    };
    const wait = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        task.onStop = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    const flowBased = app.mode === 'advanced-chat' || app.mode === 'workflow';
    if (script.pingFirst ?? flowBased) ping();
    if (flowBased) {
      send({ ...prefix('workflow_started'), workflow_run_id: workflowRunId, data: { id: workflowRunId, workflow_id: 'wf-1', inputs: body.inputs, created_at: createdAt, reason: 'initial' } });
      send({ ...prefix('node_started'), workflow_run_id: workflowRunId, data: { id: randomUUID(), node_id: 'llm', node_type: 'llm', title: 'LLM', index: 1, predecessor_node_id: null, inputs: null, created_at: createdAt } });
    }
    if (app.mode === 'agent-chat') send({ ...prefix('agent_thought'), id: randomUUID(), position: 1, thought: '', observation: '', tool: '', tool_labels: {}, tool_input: '', message_files: [] });
    let sent = 0;
    for (const delta of deltas) {
      if (clientGone || task.stopped) break;
      if (script.errorAfterDeltas !== undefined && sent === script.errorAfterDeltas) break;
      if (route === 'workflow') send({ ...prefix('text_chunk'), data: { text: delta, from_variable_selector: ['llm', 'text'] } });
      else if (app.mode === 'agent-chat') send({ ...prefix('agent_message'), id: messageId, answer: delta });
      else send({ ...prefix('message'), id: messageId, answer: delta, from_variable_selector: app.mode === 'advanced-chat' ? ['llm', 'text'] : null });
      sent++;
      if (script.pingBetween) ping();
      if (script.hangAfterFirst && sent === 1) {
        while (!clientGone && !task.stopped) await wait(50);
      } else if (script.delayMs) {
        await wait(script.delayMs);
      }
    }
    if (clientGone) return;
    if (script.errorAfterDeltas !== undefined && !task.stopped) {
      const e = script.errorEvent ?? { code: 'completion_request_error', status: 400, message: '[openai_api_compatible] Error: rate limit reached' };
      const errorEvent: Record<string, unknown> = { event: 'error' };
      if (route === 'chat') errorEvent.conversation_id = conversationId;
      if (route !== 'workflow') Object.assign(errorEvent, { message_id: messageId, created_at: createdAt });
      Object.assign(errorEvent, { code: e.code, status: e.status, message: e.message });
      send(errorEvent);
    } else {
      const workflowFinished = () =>
        send({ ...prefix('workflow_finished'), workflow_run_id: workflowRunId, data: { id: workflowRunId, workflow_id: 'wf-1', status: task.stopped ? 'stopped' : 'succeeded', outputs: route === 'workflow' ? { answer: fullAnswer } : { answer: fullAnswer }, error: null, elapsed_time: 0.5, total_tokens: 38, total_steps: 3, created_by: { id: randomUUID(), user }, created_at: createdAt, finished_at: createdAt, exceptions_count: 0, files: [] } });
      if (flowBased) send({ ...prefix('node_finished'), workflow_run_id: workflowRunId, data: { id: randomUUID(), node_id: 'llm', node_type: 'llm', title: 'LLM', index: 1, status: 'succeeded', outputs: { text: fullAnswer }, error: null, elapsed_time: 0.4, created_at: createdAt, finished_at: createdAt } });
      if (route === 'workflow') workflowFinished();
      else {
        send({ ...prefix('message_end'), id: messageId, metadata, files: app.mode === 'advanced-chat' ? [] : null });
        if (app.mode === 'advanced-chat') workflowFinished();
      }
    }
    finished = true;
    tasks.delete(taskId);
    res.end();
  }

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const raw = await readBody(req);
    let body: Record<string, unknown> | undefined;
    const contentType = req.headers['content-type'] ?? '';
    let multipart: ReturnType<typeof parseMultipart> | undefined;
    if (contentType.startsWith('multipart/form-data')) {
      multipart = parseMultipart(raw, contentType);
      body = { user: multipart.fields.user, filename: multipart.file?.filename, mimeType: multipart.file?.mimeType, size: multipart.file?.data.length };
    } else if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        const recordedBad: RecordedRequest = { method: req.method ?? '', path, authorization: req.headers.authorization, appName: undefined, headers: req.headers, body: undefined, rawBodyBytes: raw.length, at: Date.now() };
        requests.push(recordedBad);
        return envelope(res, 400, 'bad_request', 'Invalid JSON payload received or JSON payload is empty.');
      }
    }
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: path + url.search,
      authorization: req.headers.authorization,
      appName: undefined,
      headers: req.headers,
      body,
      rawBodyBytes: raw.length,
      at: Date.now(),
    };
    requests.push(recorded);
    if (path === '/v1' || path === '/v1/') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ welcome: 'Dify OpenAPI', api_version: 'v1', server_version: '1.16.0' }));
    }
    const app = authenticate(req, res);
    if (!app) return;
    recorded.appName = app.name;
    const json = (status: number, payload: unknown) => {
      const text = JSON.stringify(payload);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      if (req.method === 'GET' && path === '/v1/info') return json(200, { name: app.name, description: app.description ?? '', tags: [], mode: app.mode, author_name: 'Dify Team' });
      if (req.method === 'GET' && path === '/v1/parameters') return json(200, app.parameters ?? (app.mode === 'workflow' ? WORKFLOW_PARAMETERS : DEFAULT_PARAMETERS));
      if (req.method === 'GET' && path === '/v1/meta') return json(200, { tool_icons: {} });
      if (req.method === 'POST' && path === '/v1/chat-messages') return await run(app, 'chat', body ?? {}, recorded, req, res);
      if (req.method === 'POST' && path === '/v1/completion-messages') return await run(app, 'completion', body ?? {}, recorded, req, res);
      if (req.method === 'POST' && path === '/v1/workflows/run') return await run(app, 'workflow', body ?? {}, recorded, req, res);
      if (req.method === 'POST' && path === '/v1/audio-to-text') {
        // Speech to text: the app needs it on; Dify takes mp3/m4a/wav/amr/mpga, not webm or audio/mpeg.
        const params = app.parameters ?? DEFAULT_PARAMETERS;
        if ((params.speech_to_text as { enabled?: boolean } | undefined)?.enabled !== true) return envelope(res, 400, 'speech_to_text_disabled', 'Speech to text is not enabled.');
        const file = multipart?.file;
        if (!file) return envelope(res, 400, 'no_audio_uploaded', 'Please upload your audio.');
        if (!['audio/mp3', 'audio/m4a', 'audio/wav', 'audio/amr', 'audio/mpga'].includes(file.mimeType)) return envelope(res, 415, 'unsupported_audio_type', 'Audio type not allowed.');
        const user = multipart?.fields.user ?? 'DEFAULT-USER';
        const isWav = file.data.subarray(0, 4).toString('latin1') === 'RIFF' && file.data.subarray(8, 12).toString('latin1') === 'WAVE';
        const seconds = isWav ? file.data.readUInt32LE(40) / file.data.readUInt32LE(28) : 0;
        transcriptions.push({ user, mimeType: file.mimeType, bytes: file.data.length, seconds });
        return json(200, { text: `Heard ${seconds.toFixed(1)} seconds of audio` });
      }
      if (req.method === 'POST' && path === '/v1/text-to-audio') {
        // The answer read aloud: message_id wins over text; the app needs "text to speech" on.
        const user = typeof body?.user === 'string' ? body.user : '';
        const params = app.parameters ?? DEFAULT_PARAMETERS;
        if ((params.text_to_speech as { enabled?: boolean } | undefined)?.enabled !== true) return envelope(res, 400, 'invalid_param', 'TTS is not enabled');
        const message = typeof body?.message_id === 'string' ? messages.get(body.message_id) : undefined;
        if (typeof body?.message_id === 'string' && (!message || message.user !== user)) return envelope(res, 404, 'not_found', 'Message Not Exists.');
        const audio = silentWav(0.3);
        res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': audio.length });
        res.end(audio);
        return;
      }
      const about = /^\/v1\/messages\/([^/]+)\/(suggested|feedbacks)$/.exec(path);
      if (about) {
        // Service API: the message must be one this end user received (404 otherwise); suggestions need
        // the app's "suggested questions after answer" (403) and a chat-family app (400).
        const user = req.method === 'GET' ? (url.searchParams.get('user') ?? '') : typeof body?.user === 'string' ? body.user : '';
        if (!user) return envelope(res, 400, 'invalid_param', 'Arg user must be provided.');
        const message = messages.get(about[1]!);
        if (!UUID_RE.test(about[1]!) || !message || message.user !== user || message.appKey !== app.key) return envelope(res, 404, 'not_found', 'Message Not Exists.');
        if (about[2] === 'suggested' && req.method === 'GET') {
          if (app.mode === 'workflow' || app.mode === 'completion') return envelope(res, 400, 'not_chat_app', 'App mode is not chat');
          const params = app.parameters ?? DEFAULT_PARAMETERS;
          if ((params.suggested_questions_after_answer as { enabled?: boolean } | undefined)?.enabled !== true) {
            return envelope(res, 403, 'app_suggested_questions_after_answer_disabled', 'Function Suggested questions after answer disabled.');
          }
          return json(200, { result: 'success', data: message.followUps });
        }
        if (about[2] === 'feedbacks' && req.method === 'POST') {
          const rating = body?.rating ?? null;
          if (rating !== null && rating !== 'like' && rating !== 'dislike') return envelope(res, 400, 'invalid_param', 'rating must be like, dislike or null');
          feedbacks.push({ messageId: about[1]!, user, rating: rating as string | null });
          return json(200, { result: 'success' });
        }
      }
      const stop = /^\/v1\/(?:chat-messages|completion-messages|workflows\/tasks)\/([^/]+)\/stop$/.exec(path);
      if (req.method === 'POST' && stop) {
        const user = typeof body?.user === 'string' ? body.user : '';
        if (!user) return envelope(res, 400, 'invalid_param', 'Arg user must be provided.');
        const taskId = decodeURIComponent(stop[1]!);
        stops.push({ taskId, user, path, at: Date.now() });
        const task = tasks.get(taskId);
        // Another user's stop is a silent no-op that still says success (reference §5).
        if (task && !task.ignoresStop && (task.user === user || path.includes('/workflows/'))) {
          task.stopped = true;
          task.onStop?.();
        }
        return json(200, { result: 'success' });
      }
      if (req.method === 'POST' && path === '/v1/files/upload') {
        if (!multipart?.file) return envelope(res, 400, 'no_file_uploaded', 'Please upload your file.');
        const file = multipart.file;
        const id = randomUUID();
        const user = multipart.fields.user ?? 'DEFAULT-USER';
        uploads.push({ id, user, appKey: app.key, name: file.filename, mimeType: file.mimeType, size: file.data.length, bytes: file.data });
        const extension = file.filename.includes('.') ? file.filename.split('.').pop() : '';
        return json(201, { id, name: file.filename, size: file.data.length, extension, mime_type: file.mimeType, created_by: randomUUID(), created_at: Math.floor(Date.now() / 1000) });
      }
      return envelope(res, 404, 'not_found', 'The requested URL was not found on the server.');
    } catch (error) {
      if (!res.headersSent) envelope(res, 500, 'internal_server_error', String(error));
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    uploads,
    stops,
    clientClosedStreams,
    openStreams: () => open,
    script(script) {
      scriptFor = typeof script === 'function' ? script : () => script;
    },
    conversations: () => conversations,
    feedbacks,
    transcriptions,
    reset() {
      feedbacks.length = 0;
      transcriptions.length = 0;
      requests.length = 0;
      uploads.length = 0;
      stops.length = 0;
      clientClosedStreams.length = 0;
      scriptFor = () => undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
