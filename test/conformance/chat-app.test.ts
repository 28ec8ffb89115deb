/**
 * openai-compat.md §9 conformance of the chat-app group through the plugin path: the real bundle
 * (dist/plugin.mjs) under the daemon simulator, clients on the simulator's HTTP front, the Dify app
 * answered through the `app` reverse invocation with fixture-shaped event streams
 * (dify-service-api.md §8). One plugin process; several fronts (endpoints) with their settings.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { SimulatedDaemon } from '../daemon/simulator.js';
import { answerStream, blockingBody, chatErrorMidStream, chatflowNodeFailureStream, chatStream, workflowNodeFailureStream, type AppModeName } from '../fakes/dify-apps.js';
import {
  chatPayloads,
  expectJsonError,
  item,
  jsonHeaders,
  notApplicable,
  OPENAI_LOOKING_ID,
  raw,
  sleep,
  sseEvents,
  startPlugin,
  within,
  type Defects,
  type RawResponse,
} from './harness.js';
import {
  CJK_CHUNKS,
  delayOf,
  EXPLODE_MESSAGE,
  HUGE_CHUNKS,
  INDENTED_CHUNKS,
  LONG_CHUNKS,
  MARKERS,
  PLAIN_ANSWER,
  PLAIN_CHUNKS,
  PLAIN_USAGE,
  SPLIT_THINK_CHUNKS,
  THINK_CHUNKS,
} from './scenarios.js';
import { sharedConformance } from './shared.js';

/**
 * Known defects of the chat-app group on the plugin path (checklist id -> defect, suspected file).
 * Each makes its test `it.fails`; delete the entry once fixed.
 */
const DEFECTS: Defects = {
};

const KEY = 'sk-conformance-chat-app';
const APP_NAME = 'dify-conformance-bot';

const settingsFor = (app: string, extra: Record<string, unknown> = {}) => ({ api_key: KEY, app: { app_id: app, type: 'app-selector' }, model_id: '', ...extra });

// ---------------------------------------------------------------------------------------------
// Fake Dify: the app (by marker in the query), app info, file upload.

let fetchAppDown = false;
/** performance.now() when the fake yielded the first event of a run, by marker text */
const firstEventAt = new Map<string, number>();

const TOOL_CHUNKS = ['<tool_call>\n{"name": "get_weather", ', '"arguments": {"city": "Paris"}}\n</tool_call>'];
const TWO_TOOL_CHUNKS = [
  '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n',
  '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>',
];

function difyError(code: string, message: string, status: number): Error {
  return new Error(`read app failed: request failed: {"code": "${code}", "message": ${JSON.stringify(message)}, "status": ${status}}`);
}

async function* appReverse(request: Record<string, any>): AsyncIterable<Record<string, any>> {
  const query = `${String(request.query ?? '')}\n${JSON.stringify(request.inputs ?? {})}`;
  const o = { conversationId: request.conversation_id || randomUUID(), usage: PLAIN_USAGE };
  const slow = delayOf(query, MARKERS.slowstart);
  if (slow !== undefined) await sleep(slow);
  if (query.includes(MARKERS.ratelimit)) throw difyError('too_many_requests', 'Too many requests. Please try again later.', 429);
  if (query.includes(MARKERS.quota)) throw difyError('provider_quota_exceeded', 'Your quota for Dify Hosted OpenAI has been exhausted.', 400);
  if (query.includes(MARKERS.overflow)) throw difyError('completion_request_error', "[openai] Error: This model's maximum context length is 128000 tokens. However, your messages resulted in 130412 tokens.", 400);
  if (query.includes(MARKERS.difyauth)) throw difyError('unauthorized', 'Access token is invalid', 401);

  let events: Array<Record<string, any>> | undefined;
  const mode = MODE_APPS[request.app_id as string];
  if (mode && query.includes('#nodefail') && mode === 'advanced-chat') events = chatflowNodeFailureStream({ ...o, error: 'Code execution failed: division by zero' });
  else if (mode && query.includes('#nodefail') && mode === 'workflow') events = workflowNodeFailureStream({ ...o, error: 'Code execution failed: division by zero' });
  else if (mode) events = answerStream(mode, { ...o, chunks: PLAIN_CHUNKS, query: String(request.query ?? '') });
  // (Dify skips `ping` on the app reverse invocation)
  if (events) events = events.filter((e) => e.event !== 'ping');
  else if (query.includes('</tool_response>')) events = chatStream({ ...o, chunks: PLAIN_CHUNKS });
  else if (query.includes(MARKERS.explode)) events = chatErrorMidStream({ ...o, message: EXPLODE_MESSAGE });
  else if (query.includes(MARKERS.splitthink)) events = chatStream({ ...o, chunks: SPLIT_THINK_CHUNKS });
  else if (query.includes(MARKERS.think)) events = chatStream({ ...o, chunks: THINK_CHUNKS });
  else if (query.includes(MARKERS.long)) events = chatStream({ ...o, chunks: LONG_CHUNKS });
  else if (query.includes(MARKERS.huge)) events = chatStream({ ...o, chunks: HUGE_CHUNKS });
  else if (query.includes(MARKERS.indented)) events = chatStream({ ...o, chunks: INDENTED_CHUNKS });
  else if (query.includes(MARKERS.cjk)) events = chatStream({ ...o, chunks: CJK_CHUNKS });
  else if (query.includes(MARKERS.twotools)) events = chatStream({ ...o, chunks: TWO_TOOL_CHUNKS });
  else if (query.includes(MARKERS.tool)) events = chatStream({ ...o, chunks: TOOL_CHUNKS });
  else events = chatStream({ ...o, chunks: PLAIN_CHUNKS });

  if (request.response_mode === 'blocking') {
    // a blocking call answers one object
    yield blockingBody(mode ?? 'chat', events as never);
    return;
  }
  const silence = delayOf(query, MARKERS.silence);
  firstEventAt.set(query, performance.now());
  for (let i = 0; i < events.length; i++) {
    yield events[i]!;
    if (i === 0 && silence !== undefined) await sleep(silence);
  }
}

/** fronts over apps of the other modes: app id -> mode */
const MODE_APPS: Record<string, AppModeName> = {
  'app-agent': 'agent-chat',
  'app-chatflow': 'advanced-chat',
  'app-completion': 'completion',
  'app-workflow': 'workflow',
};

function fetchApp(request: Record<string, any>): Record<string, any> {
  if (fetchAppDown) throw new Error('fetch app failed: request failed: connection refused');
  const mode = MODE_APPS[request.app_id as string];
  if (mode) {
    const form = mode === 'completion' || mode === 'workflow' ? [{ paragraph: { variable: 'text', label: 'Text', required: true, max_length: 10000 } }] : [];
    return { name: `dify-${mode}-bot`, mode, user_input_form: form };
  }
  switch (request.app_id) {
    case 'app-files':
      return {
        name: 'dify-vision-bot',
        mode: 'chat',
        user_input_form: [{ 'file-list': { variable: 'images', label: 'Images', required: false, max_length: 5 } }],
        file_upload: { enabled: true, image: { enabled: true } },
      };
    case 'app-gpt':
      return { name: 'gpt-4o helper', mode: 'chat', user_input_form: [] };
    default:
      return { name: APP_NAME, mode: 'chat', user_input_form: [] };
  }
}

/** Dify's signed upload URL and a picture to download: one loopback server. */
const uploads: Array<{ bytes: number; contentType: string }> = [];
let files: Server;
let filesBase = '';
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

// ---------------------------------------------------------------------------------------------

let daemon: SimulatedDaemon;
let main = '';
let noTools = '';
let fast = '';
let withFiles = '';
let gptNamed = '';
let slashId = '';
const modeFronts = new Map<AppModeName, string>();
/** default keepalive timing (15 s) during 16 s of upstream silence, started early, read at the end */
let slowChat: Promise<RawResponse>;

beforeAll(async () => {
  files = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/img.png')) {
      res.writeHead(200, { 'Content-Type': 'image/png' }).end(PNG);
      return;
    }
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      uploads.push({ bytes, contentType: String(req.headers['content-type'] ?? '') });
      res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id: `upload-${uploads.length}`, name: 'image.png', size: bytes }));
    });
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  const addr = files.address();
  filesBase = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  daemon = await startPlugin('chat-app', {
    app: appReverse,
    fetch_app: fetchApp,
    upload_file: () => ({ url: `${filesBase}/files/upload/for-plugin?timestamp=1&nonce=n&sign=s` }),
  });
  main = await daemon.listen({ settings: settingsFor('app-conf'), hookId: 'hook-main' });
  noTools = await daemon.listen({ settings: settingsFor('app-conf', { tool_emulation: false }), hookId: 'hook-notools' });
  fast = await daemon.listen({ settings: settingsFor('app-conf', { keepalive_ms: 300, first_event_wait_ms: 150 }), hookId: 'hook-fast' });
  withFiles = await daemon.listen({ settings: settingsFor('app-files', { allow_private_image_urls: true }), hookId: 'hook-files' });
  gptNamed = await daemon.listen({ settings: settingsFor('app-gpt'), hookId: 'hook-gpt' });
  slashId = await daemon.listen({ settings: settingsFor('app-conf', { model_id: 'team/conformance-bot' }), hookId: 'hook-slash' });
  for (const [app, mode] of Object.entries(MODE_APPS)) modeFronts.set(mode, await daemon.listen({ settings: settingsFor(app), hookId: `hook-${app}` }));

  const before = daemon.reverseCalls.filter((c) => c.type === 'app').length;
  slowChat = raw(`${main}/v1/chat/completions`, {
    method: 'POST',
    headers: jsonHeaders(KEY),
    body: JSON.stringify({ model: APP_NAME, stream: true, messages: [{ role: 'user', content: `${MARKERS.silence}16000 keepalive default` }] }),
    timeoutMs: 40_000,
  });
  slowChat.catch(() => undefined);
  // the background run has reached the fake before any test counts reverse calls
  while (daemon.reverseCalls.filter((c) => c.type === 'app').length === before) await sleep(5);
}, 60_000);

afterAll(async () => {
  await daemon?.close();
  files?.close();
});

sharedConformance({
  group: 'chat-app',
  key: KEY,
  model: () => APP_NAME,
  base: () => main,
  daemon: () => daemon,
  defects: DEFECTS,
  upstreamType: 'app',
  upstreamText: (r) => `${r.query ?? ''}\n${JSON.stringify(r.inputs ?? {})}`,
  upstreamUser: (r) => r.user,
  anonymousUser: true,
  noToolsBase: () => noTools,
});

describe('chat-app: group-specific items', () => {
  const post = (base: string, path: string, body: unknown) =>
    fetch(base + path, { method: 'POST', headers: jsonHeaders(KEY), body: typeof body === 'string' ? body : JSON.stringify(body) });

  item(DEFECTS, '9b', 'a body above the limit is 413 with the error envelope (the daemon keeps only the first 10 MiB)', async () => {
    const big = JSON.stringify({ model: APP_NAME, messages: [{ role: 'user', content: 'x'.repeat(11 * 1024 * 1024) }] });
    await expectJsonError(await post(main, '/v1/chat/completions', big), 413);
  });

  item(DEFECTS, '9c', 'a ~10 MiB body with a base64 image is accepted (vision-capable app)', async () => {
    const image = 'data:image/png;base64,' + Buffer.alloc(7 * 1024 * 1024, 7).toString('base64');
    const body = JSON.stringify({ model: 'dify-vision-bot', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: image } }] }] });
    expect(body.length).toBeGreaterThan(9 * 1024 * 1024);
    expect(body.length).toBeLessThan(10 * 1024 * 1024);
    const violations = daemon.protocolViolations.length;
    const res = await post(withFiles, '/v1/chat/completions', body);
    const text = await res.text();
    expect({ status: res.status, body: text.slice(0, 300) }).toMatchObject({ status: 200 });
    expect(uploads.at(-1)!.bytes).toBeGreaterThan(7 * 1024 * 1024);
    expect(daemon.protocolViolations.slice(violations)).toEqual([]);
  });

  item(DEFECTS, '14', 'image_url (http and data URI) reaches Dify as a file for a vision app; an app without file input is 400 with param at the part', async () => {
    const before = uploads.length;
    const res = await post(withFiles, '/v1/chat/completions', {
      model: 'dify-vision-bot',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'compare these' },
            { type: 'image_url', image_url: { url: `${filesBase}/img.png` } },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,' + PNG.toString('base64'), detail: 'low' } },
          ],
        },
      ],
    });
    expect(res.status).toBe(200);
    await res.text();
    expect(uploads.length - before).toBe(2);
    const call = daemon.reverseCalls.filter((c) => c.type === 'app').at(-1)!;
    expect(call.request.inputs.images).toEqual([
      { type: 'image', transfer_method: 'local_file', upload_file_id: `upload-${before + 1}` },
      { type: 'image', transfer_method: 'local_file', upload_file_id: `upload-${before + 2}` },
    ]);
    const e = await expectJsonError(
      await post(main, '/v1/chat/completions', {
        model: APP_NAME,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: `${filesBase}/img.png` } }] }],
      }),
      400,
    );
    expect(e.param).toBe('messages[0].content[1].type');
  });

  item(DEFECTS, '32b', 'SSE headers are flushed before the first upstream token when the app is slow to start', async () => {
    const marker = `${MARKERS.slowstart}900 slow`;
    const t0 = performance.now();
    const res = await fetch(`${fast}/v1/chat/completions`, { method: 'POST', headers: jsonHeaders(KEY), body: JSON.stringify({ model: APP_NAME, stream: true, messages: [{ role: 'user', content: marker }] }) });
    const headersAt = performance.now();
    await res.text();
    const first = [...firstEventAt.entries()].find(([q]) => q.includes(marker))?.[1];
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(first).toBeGreaterThan(t0);
    expect(headersAt).toBeLessThan(first!);
  });

  item(DEFECTS, '45a', 'keepalive: ": keepalive" comments during upstream silence (interval shortened by setting), never ": ping"', async () => {
    const r = await raw(`${fast}/v1/chat/completions`, {
      method: 'POST',
      headers: jsonHeaders(KEY),
      body: JSON.stringify({ model: APP_NAME, stream: true, messages: [{ role: 'user', content: `${MARKERS.silence}1000 keepalive fast` }] }),
    });
    const comments = sseEvents(r.text).filter((e) => e.comment).map((e) => e.block);
    expect(comments.length).toBeGreaterThanOrEqual(2);
    for (const c of comments) expect(c).toBe(': keepalive');
    expect(r.text).toContain(PLAIN_CHUNKS.at(-1)!);
    expect(r.text.endsWith('data: [DONE]\n\n')).toBe(true);
    // before the first upstream event too (the stream is committed after first_event_wait_ms)
    const slow = await raw(`${fast}/v1/chat/completions`, {
      method: 'POST',
      headers: jsonHeaders(KEY),
      body: JSON.stringify({ model: APP_NAME, stream: true, messages: [{ role: 'user', content: `${MARKERS.slowstart}1000 keepalive before first` }] }),
    });
    const blocks = sseEvents(slow.text);
    const firstContent = blocks.findIndex((e) => !e.comment && e.data !== undefined && e.data.includes('"content":"Hello'));
    const firstComment = blocks.findIndex((e) => e.comment);
    expect(firstComment).toBeGreaterThanOrEqual(0);
    expect(firstComment).toBeLessThan(firstContent);
  });

  item(DEFECTS, '45b', 'keepalive with default settings: at least one ": keepalive" per 15 s of upstream silence (16 s gap)', async () => {
    const r = await within(40_000, 'the 16 s silent stream', slowChat);
    const blocks = sseEvents(r.text);
    const firstData = blocks.findIndex((e) => !e.comment);
    const comments = blocks.filter((e) => e.comment).map((e) => e.block);
    expect(comments.length).toBeGreaterThanOrEqual(1);
    for (const c of comments) expect(c).toBe(': keepalive');
    // the comment arrives inside the gap, between the first delta and the rest
    const gapIndex = blocks.findIndex((e) => e.comment);
    expect(gapIndex).toBeGreaterThan(firstData);
    expect(r.text.endsWith('data: [DONE]\n\n')).toBe(true);
  }, 45_000);

  notApplicable('49', 'client abort mid-stream aborts the upstream request', 'the daemon simulator (like the daemon) does not tell the plugin that the HTTP client went away, and reverse invocations have no cancel message');

  item(DEFECTS, '58b', 'GET /v1/models answers from cache while the app info upstream is down', async () => {
    const ok = await fetch(`${main}/v1/models`, { headers: { Authorization: `Bearer ${KEY}` } });
    expect(ok.status).toBe(200);
    await ok.text();
    fetchAppDown = true;
    try {
      const res = await within(2000, 'models list with Dify down', fetch(`${main}/v1/models`, { headers: { Authorization: `Bearer ${KEY}` } }));
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).data.map((m: any) => m.id)).toEqual([APP_NAME]);
    } finally {
      fetchAppDown = false;
    }
  });

  item(DEFECTS, '59b', 'GET /v1/models/{id}: percent-encoded ids (a "/" sent as %2F by openai-node) are decoded', async () => {
    const c = new OpenAI({ baseURL: `${slashId}/v1`, apiKey: KEY, maxRetries: 0 });
    const m = await c.models.retrieve('team/conformance-bot');
    expect(m.id).toBe('team/conformance-bot');
    const list: string[] = [];
    for await (const x of c.models.list()) list.push(x.id);
    expect(list).toEqual(['team/conformance-bot']);
  });

  item(DEFECTS, '60b', 'an app named like an OpenAI model is listed under a neutral id', async () => {
    const res = await fetch(`${gptNamed}/v1/models`, { headers: { Authorization: `Bearer ${KEY}` } });
    const ids = ((await res.json()) as any).data.map((m: any) => m.id);
    expect(ids).toHaveLength(1);
    expect(ids[0]).toContain('gpt-4o helper');
    expect(ids[0]).not.toMatch(OPENAI_LOOKING_ID);
  });

  item(DEFECTS, '71', 'Responses keepalive during silence: {"type":"keepalive"} events, only after response.created, in the sequence', async () => {
    const r = await raw(`${fast}/v1/responses`, {
      method: 'POST',
      headers: jsonHeaders(KEY),
      body: JSON.stringify({ model: APP_NAME, stream: true, input: `${MARKERS.silence}1000 responses keepalive` }),
    });
    const evs = sseEvents(r.text).filter((e) => !e.comment).map((e) => ({ event: e.event, data: JSON.parse(e.data!) }));
    const keep = evs.map((e, i) => [e, i] as const).filter(([e]) => e.event === 'keepalive');
    expect(keep.length).toBeGreaterThanOrEqual(2);
    const created = evs.findIndex((e) => e.event === 'response.created');
    expect(created).toBe(0);
    for (const [e, i] of keep) {
      expect(i).toBeGreaterThan(created);
      expect(e.data.type).toBe('keepalive');
    }
    evs.forEach((e, i) => expect(e.data.sequence_number).toBe(i));
    expect(evs.at(-1)!.event).toBe('response.completed');
    // a slow start: the stream is committed early; response.created still comes before any keepalive
    const slow = await raw(`${fast}/v1/responses`, {
      method: 'POST',
      headers: jsonHeaders(KEY),
      body: JSON.stringify({ model: APP_NAME, stream: true, input: `${MARKERS.slowstart}1000 responses slow start` }),
    });
    const slowEvs = sseEvents(slow.text).filter((e) => !e.comment).map((e) => ({ event: e.event, data: JSON.parse(e.data!) }));
    expect(slowEvs[0]!.event).toBe('response.created');
    expect(slowEvs.filter((e) => e.event === 'keepalive').length).toBeGreaterThanOrEqual(1);
    expect(sseEvents(slow.text).filter((e) => e.comment)).toEqual([]);
    slowEvs.forEach((e, i) => expect(e.data.sequence_number).toBe(i));
    const final = await new OpenAI({ baseURL: `${fast}/v1`, apiKey: KEY, maxRetries: 0 }).responses
      .stream({ model: APP_NAME, input: `${MARKERS.silence}700 responses keepalive sdk` })
      .finalResponse();
    expect(final.output_text).toBe(PLAIN_ANSWER);
  });

  notApplicable('61-65', 'embeddings', 'the chat-app group has no /v1/embeddings route (embeddings live in the llm group)');
});

describe('chat-app: every app mode keeps the stream and object invariants (§9 #27, #30, #35, #38, #39, #40, #66)', () => {
  for (const mode of Object.values(MODE_APPS)) {
    item(DEFECTS, `35-40/${mode}`, `${mode} app: role first, one finish stop, one usage chunk, [DONE] then end; text intact`, async () => {
      const base = modeFronts.get(mode)!;
      const r = await raw(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: jsonHeaders(KEY),
        body: JSON.stringify({ model: `dify-${mode}-bot`, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: `mode ${mode}` }] }),
      });
      expect(r.status).toBe(200);
      const { chunks, done } = chatPayloads(r.text);
      expect(done).toBe(true);
      expect(chunks[0].choices[0].delta.role).toBe('assistant');
      const finishes = chunks.filter((c) => c.choices.some((ch: any) => ch.finish_reason != null));
      expect(finishes).toHaveLength(1);
      expect(finishes[0].choices[0].finish_reason).toBe('stop');
      const usage = chunks.filter((c) => c.choices.length === 0);
      expect(usage).toHaveLength(1);
      expect(chunks.at(-1)).toBe(usage[0]);
      for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens']) expect(Number.isInteger(usage[0].usage[k])).toBe(true);
      expect(usage[0].usage.total_tokens).toBe(usage[0].usage.prompt_tokens + usage[0].usage.completion_tokens);
      expect(usage[0].usage.total_tokens).toBeGreaterThan(0);
      const text = chunks.flatMap((c) => c.choices.map((ch: any) => ch.delta.content ?? '')).join('');
      expect(text).toBe(PLAIN_ANSWER);
      expect(r.endMs - r.doneMs!).toBeLessThan(1000);
      for (const e of sseEvents(r.text)) if (!e.comment) expect(e.event).toBeUndefined();
    });

    item(DEFECTS, `27-30/${mode}`, `${mode} app: non-streaming chat.completion and Responses object carry the answer and integer usage`, async () => {
      const base = modeFronts.get(mode)!;
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: jsonHeaders(KEY),
        body: JSON.stringify({ model: `dify-${mode}-bot`, messages: [{ role: 'user', content: `mode ${mode} object` }] }),
      });
      const text = await res.text();
      expect({ status: res.status, body: text.slice(0, 300) }).toMatchObject({ status: 200 });
      const body = JSON.parse(text);
      expect(body.choices[0]).toMatchObject({ index: 0, finish_reason: 'stop', logprobs: null, message: { role: 'assistant', content: PLAIN_ANSWER, refusal: null } });
      expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
      expect(body.usage.total_tokens).toBeGreaterThan(0);
      const r = await new OpenAI({ baseURL: `${base}/v1`, apiKey: KEY, maxRetries: 0 }).responses.create({ model: `dify-${mode}-bot`, input: `mode ${mode} responses` });
      expect(r.output_text).toBe(PLAIN_ANSWER);
    });
  }

  for (const mode of ['advanced-chat', 'workflow'] as const) {
    item(DEFECTS, `48/${mode}`, `${mode} app: a node failure before any answer token is a real HTTP error status with JSON, streaming and not (F5b/F5c)`, async () => {
      const base = modeFronts.get(mode)!;
      for (const stream of [false, true]) {
        const res = await fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: jsonHeaders(KEY),
          body: JSON.stringify({ model: `dify-${mode}-bot`, stream, messages: [{ role: 'user', content: `#nodefail ${mode} ${stream}` }] }),
        });
        expect({ stream, status: res.status }).toEqual({ stream, status: expect.any(Number) });
        expect(res.status, `stream:${stream} answered ${res.status} ${res.headers.get('content-type')}`).toBeGreaterThanOrEqual(400);
        const e = await expectJsonError(res, res.status);
        expect(e.message).toContain('division by zero');
      }
    });
  }
});
