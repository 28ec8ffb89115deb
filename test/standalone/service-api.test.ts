import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DifyError } from '../../src/backend/types.js';
import { DifyServiceApi } from '../../src/standalone/service-api.js';
import { startFakeDifyServiceApi, type FakeDifyServiceApi } from '../fakes/dify-service-api.js';
import { collect, silentLog, waitFor } from './helpers.js';

const KEYS = { chat: 'app-chatKEY0000000000000001', agent: 'app-agentKEY000000000000002', flow: 'app-flowKEY00000000000000003', completion: 'app-complKEY000000000000004', workflow: 'app-wfKEY0000000000000000005' };

let fake: FakeDifyServiceApi;
let api: DifyServiceApi;
const upstreamErrors: string[] = [];

beforeAll(async () => {
  fake = await startFakeDifyServiceApi({
    apps: [
      { key: KEYS.chat, name: 'Support Bot', mode: 'chat' },
      { key: KEYS.agent, name: 'Agent', mode: 'agent-chat' },
      { key: KEYS.flow, name: 'Flow', mode: 'advanced-chat' },
      { key: KEYS.completion, name: 'Translator', mode: 'completion', parameters: { user_input_form: [{ 'text-input': { label: 'Q', variable: 'query', required: true } }], file_upload: { image: { enabled: false } } } },
      { key: KEYS.workflow, name: 'Summarize', mode: 'workflow' },
    ],
  });
  api = new DifyServiceApi({ baseUrl: fake.baseUrl, timeoutMs: 5000, log: silentLog, onUpstreamError: (k) => upstreamErrors.push(k) });
});
afterAll(async () => {
  api.close();
  await fake.close();
});
afterEach(() => fake.reset());

const answerOf = (events: Array<Record<string, unknown>>) =>
  events.filter((e) => e.event === 'message' || e.event === 'agent_message').map((e) => e.answer).join('') ||
  events.filter((e) => e.event === 'text_chunk').map((e) => (e.data as { text: string }).text).join('');

describe('Service API backend', () => {
  it('names each app from GET /info and caches it', async () => {
    const app = api.app(KEYS.chat);
    const info = await app.info();
    expect(info).toMatchObject({ name: 'Support Bot', mode: 'chat' });
    expect(info.id).not.toContain(KEYS.chat);
    await app.info();
    expect(fake.requests.filter((r) => r.path === '/v1/info')).toHaveLength(1);
  });

  it('maps /parameters, including file upload settings', async () => {
    const params = await api.app(KEYS.chat).parameters();
    expect(params.openingStatement).toBe('Hello! How can I help you today?');
    expect(params.fileUpload).toMatchObject({ enabled: true, allowedTypes: ['image'], transferMethods: ['remote_url', 'local_file'], numberLimits: 3 });
    const completion = await api.app(KEYS.completion).parameters();
    expect(completion.inputs).toEqual([{ variable: 'query', type: 'text-input', label: 'Q', required: true }]);
  });

  for (const [what, script] of [
    ['one byte per write', { chunking: 'byte' as const, answer: 'Grüße, 你好 🌍!' }],
    ['UTF-8 split across writes', { chunking: 'split-utf8' as const, answer: '日本語のテキスト — ok' }],
    ['legacy JSON style with CRLF and pings', { legacyJson: true, crlf: true, pingFirst: true, pingBetween: true, answer: 'Ça va? 好的' }],
  ] as const) {
    it(`streams a chat answer intact: ${what}`, async () => {
      fake.script(script);
      const events = await collect(api.app(KEYS.chat).run({ query: 'hi', inputs: {}, user: 'u1', streaming: true }, new AbortController().signal));
      expect(answerOf(events)).toBe(script.answer);
      expect(events.at(-1)?.event).toBe('message_end');
      expect(events.some((e) => e.event === 'ping')).toBe(false);
    });
  }

  it('always streams agent apps upstream, even for a blocking request', async () => {
    const events = await collect(api.app(KEYS.agent).run({ query: 'hello', inputs: {}, user: 'u1', streaming: false }, new AbortController().signal));
    expect(fake.requests.at(-1)?.body?.response_mode).toBe('streaming');
    expect(answerOf(events)).toBe('Echo: hello');
  });

  it('runs chatflow, completion and workflow apps on their routes', async () => {
    const flow = await collect(api.app(KEYS.flow).run({ query: 'q1', inputs: {}, user: 'u1', streaming: true }, new AbortController().signal));
    expect(flow.map((e) => e.event)).toContain('workflow_finished');
    expect(answerOf(flow)).toBe('Echo: q1');
    const completion = await collect(api.app(KEYS.completion).run({ query: 'q2', inputs: { query: 'q2' }, user: 'u1', streaming: true }, new AbortController().signal));
    expect(answerOf(completion)).toBe('Echo: q2');
    const workflow = await collect(api.app(KEYS.workflow).run({ inputs: { query: 'q3' }, user: 'u1', streaming: true }, new AbortController().signal));
    expect(answerOf(workflow)).toBe('Echo: q3');
    expect(fake.requests.map((r) => r.path).filter((p) => p.startsWith('/v1/c') || p.startsWith('/v1/w'))).toEqual(['/v1/chat-messages', '/v1/completion-messages', '/v1/workflows/run']);
  });

  it('yields blocking answers as one event (workflow: as workflow_finished)', async () => {
    const chat = await collect(api.app(KEYS.chat).run({ query: 'block', inputs: {}, user: 'u1', streaming: false }, new AbortController().signal));
    expect(chat).toHaveLength(1);
    expect(chat[0]).toMatchObject({ event: 'message', answer: 'Echo: block', mode: 'chat' });
    const wf = await collect(api.app(KEYS.workflow).run({ inputs: { query: 'w' }, user: 'u1', streaming: false }, new AbortController().signal));
    expect(wf).toEqual([expect.objectContaining({ event: 'workflow_finished', data: expect.objectContaining({ outputs: { answer: 'Echo: w' } }) })]);
  });

  it('passes error events mid-stream through in order, with no message_end', async () => {
    fake.script({ errorAfterDeltas: 2, deltaChars: 2, errorEvent: { code: 'completion_request_error', status: 400, message: 'provider 429' } });
    const events = await collect(api.app(KEYS.chat).run({ query: 'abcdef', inputs: {}, user: 'u1', streaming: true }, new AbortController().signal));
    expect(events.map((e) => e.event)).toEqual(['message', 'message', 'error']);
    expect(events[2]).toMatchObject({ code: 'completion_request_error', message: 'provider 429' });
  });

  it('throws DifyError with code, status and retry-after for HTTP errors before the stream', async () => {
    fake.script({ httpError: { status: 429, code: 'too_many_requests', message: 'Too many requests.', retryAfter: '7' } });
    const error = await collect(api.app(KEYS.chat).run({ query: 'x', inputs: {}, user: 'u1', streaming: true }, new AbortController().signal)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DifyError);
    expect(error).toMatchObject({ code: 'too_many_requests', status: 429, retryAfterSeconds: 7, message: 'Too many requests.' });
    expect(upstreamErrors).toContain('http_429');
  });

  it('never puts the app key in an error for a bad key', async () => {
    const error = (await api.app('app-WRONGsecretKEY123').info().catch((e: unknown) => e)) as DifyError;
    expect(error).toMatchObject({ code: 'unauthorized', status: 401 });
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain('WRONGsecret');
  });

  it('keeps conversations per user: another user gets 404 not_found', async () => {
    const first = await collect(api.app(KEYS.chat).run({ query: 'one', inputs: {}, user: 'alice', streaming: true }, new AbortController().signal));
    const conversationId = first[0]!.conversation_id as string;
    const again = await collect(api.app(KEYS.chat).run({ query: 'two', inputs: {}, user: 'alice', conversationId, streaming: true }, new AbortController().signal));
    expect(again[0]!.conversation_id).toBe(conversationId);
    expect(fake.requests.at(-1)?.body).toMatchObject({ conversation_id: conversationId, user: 'alice', query: 'two' });
    const stolen = await collect(api.app(KEYS.chat).run({ query: 'three', inputs: {}, user: 'mallory', conversationId, streaming: true }, new AbortController().signal)).catch((e: unknown) => e);
    expect(stolen).toMatchObject({ code: 'not_found', status: 404, message: 'Conversation Not Exists.' });
  });

  it('stops the Dify task with the same user within a second of an abort', async () => {
    fake.script({ hangAfterFirst: true });
    const controller = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of api.app(KEYS.chat).run({ query: 'long', inputs: {}, user: 'bob', streaming: true }, controller.signal)) seen.push(e.event);
    })();
    await waitFor(() => seen.length > 0, 5000, 'first event');
    const abortedAt = Date.now();
    controller.abort();
    await done;
    await waitFor(() => fake.stops.length > 0, 1000, 'stop call');
    expect(fake.stops[0]).toMatchObject({ user: 'bob', path: expect.stringMatching(/^\/v1\/chat-messages\/[0-9a-f-]+\/stop$/) });
    expect(fake.stops[0]!.at - abortedAt).toBeLessThan(1000);
    await waitFor(() => fake.openStreams() === 0, 2000, 'upstream stream closed');
  });

  it('stops workflows on their own route', async () => {
    fake.script({ hangAfterFirst: true });
    const controller = new AbortController();
    const iterator = api.app(KEYS.workflow).run({ inputs: { query: 'x' }, user: 'carol', streaming: true }, controller.signal)[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    await iterator.return?.();
    await waitFor(() => fake.stops.length > 0, 1000, 'stop call');
    expect(fake.stops[0]).toMatchObject({ user: 'carol', path: expect.stringMatching(/^\/v1\/workflows\/tasks\/.+\/stop$/) });
  });

  it('uploads files with the same user and checks file settings', async () => {
    const app = api.app(KEYS.chat);
    const { id } = await app.uploadFile({ data: new Uint8Array([137, 80, 78, 71]), filename: 'cat.png', mimeType: 'image/png' }, 'dave');
    expect(fake.uploads[0]).toMatchObject({ id, user: 'dave', name: 'cat.png', mimeType: 'image/png', size: 4 });
    await collect(app.run({ query: 'look', inputs: {}, user: 'dave', streaming: true, files: [{ type: 'image', transfer_method: 'local_file', upload_file_id: id }] }, new AbortController().signal));
    expect(fake.requests.at(-1)?.body?.files).toEqual([{ type: 'image', transfer_method: 'local_file', upload_file_id: id }]);
    const refused = await collect(api.app(KEYS.completion).run({ query: 'x', inputs: { query: 'x' }, user: 'dave', streaming: true, files: [{ type: 'image', transfer_method: 'remote_url', url: 'http://example.com/a.png' }] }, new AbortController().signal)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'files_not_enabled', status: 400 });
  });

  it('reports an unreachable Dify as upstream_unavailable without retrying', async () => {
    const dead = new DifyServiceApi({ baseUrl: 'http://127.0.0.1:9/v1', timeoutMs: 2000, log: silentLog });
    const error = await dead.app('app-x').info().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'upstream_unavailable', status: 503 });
    dead.close();
  });

  it('times out a Dify that does not answer', async () => {
    const slow = new DifyServiceApi({ baseUrl: fake.baseUrl, timeoutMs: 200, log: silentLog });
    fake.script({ headersDelayMs: 1000 });
    const error = await collect(slow.app(KEYS.chat).run({ query: 'x', inputs: {}, user: 'u', streaming: true }, new AbortController().signal)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'upstream_timeout', status: 504 });
    expect(fake.requests.filter((r) => r.path === '/v1/chat-messages')).toHaveLength(1);
    slow.close();
  });
});
