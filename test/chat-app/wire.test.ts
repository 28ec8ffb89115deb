/** Raw wire checks (exact bytes) for chat completions, models, auth, CORS, errors: in-process with supertest. */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { DifyError } from '../../src/backend/types.js';
import { chatErrorMidStream, chatStream, chatReasoningStream, chatflowStream, chatLegacyThinkingStream, PRE_STREAM_ERRORS } from '../fakes/dify-apps.js';
import { FakeDifyApp } from './fake-app.js';
import { API_KEY, buildApp } from './harness.js';

const auth = { Authorization: `Bearer ${API_KEY}` };
const hi = { model: 'dify-fake-app', messages: [{ role: 'user', content: 'hi' }] };

function sseEvents(text: string): string[] {
  return text.split('\n\n').filter((f) => f !== '');
}
function dataChunks(text: string): Array<Record<string, any>> {
  return sseEvents(text)
    .filter((f) => f.startsWith('data: ') && f !== 'data: [DONE]')
    .map((f) => JSON.parse(f.slice(6)));
}

describe('chat completions on the wire', () => {
  it('non-streaming: complete object, usage from message_end, JSON content type, request id', async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake });
    const res = await request(app).post('/v1/chat/completions').set(auth).send(hi);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-request-id']).toMatch(/^req_/);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    const body = res.body;
    expect(body.object).toBe('chat.completion');
    expect(body.model).toBe('dify-fake-app');
    expect(Math.abs(body.created - Date.now() / 1000)).toBeLessThan(300);
    expect(body.choices).toHaveLength(1);
    const c = body.choices[0];
    expect(c).toMatchObject({ index: 0, logprobs: null, finish_reason: 'stop', message: { role: 'assistant', refusal: null } });
    expect(c.message.content).toMatch(/^You said: hi/);
    expect(c.message).not.toHaveProperty('tool_calls');
    expect(c.message).not.toHaveProperty('reasoning_content');
    expect(Number.isInteger(body.usage.prompt_tokens)).toBe(true);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    expect(res.headers['x-dify-conversation-id']).toBe(fake.runs[0]!.conversationId);
    // A non-streaming client costs one blocking upstream call (agent apps excepted, see modes.test.ts).
    expect(fake.runs[0]!.request.streaming).toBe(false);
  });

  it('streaming: SSE bytes, role first, one finish, usage chunk, [DONE] last, no event: lines', async () => {
    const { app } = buildApp({ app: new FakeDifyApp() });
    const res = await request(app)
      .post('/chat/completions')
      .set({ ...auth, Accept: 'application/json' })
      .send({ ...hi, stream: true, stream_options: { include_usage: true } })
      .buffer(true)
      .parse((r, cb) => {
        let s = '';
        r.on('data', (d: Buffer) => (s += d.toString('utf8')));
        r.on('end', () => cb(null, s));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['content-length']).toBeUndefined();
    const text = res.body as string;
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    for (const f of sseEvents(text)) expect(f).toMatch(/^data: /);
    expect(text).not.toMatch(/^event:/m);
    const chunks = dataChunks(text);
    const ids = new Set(chunks.map((c) => c.id));
    expect(ids.size).toBe(1);
    expect(chunks[0]!.choices[0].delta).toEqual({ role: 'assistant', content: '' });
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finishes).toHaveLength(1);
    expect(finishes[0]!.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage.total_tokens).toBeGreaterThan(0);
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(content).toMatch(/^You said: hi/);
    for (const c of chunks) expect(c.object).toBe('chat.completion.chunk');
  });

  it('no usage chunk without include_usage', async () => {
    const { app } = buildApp({ app: new FakeDifyApp() });
    const res = await request(app).post('/v1/chat/completions').set(auth).send({ ...hi, stream: true }).buffer(true).parse(textParser);
    const chunks = dataChunks(res.body);
    expect(chunks.some((c) => c.choices.length === 0)).toBe(false);
    expect(chunks.some((c) => c.usage)).toBe(false);
  });

  it('stop: the answer ends before the first stop sequence (split across events), streamed and not; reasoning is not cut', async () => {
    const fake = new FakeDifyApp({
      script: () => chatStream({ chunks: ['<think>wait for it</think>Step 1.', ' Step 2.\nEN', 'D here', ' Step 3.'] }),
    });
    const { app } = buildApp({ app: fake });
    const res = await request(app).post('/v1/chat/completions').set(auth).send({ ...hi, stream: true, stop: ['\nEND', 'wait'] }).buffer(true).parse(textParser);
    const chunks = dataChunks(res.body);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('Step 1. Step 2.');
    expect(chunks.map((c) => c.choices[0]?.delta?.reasoning_content ?? '').join('')).toBe('wait for it');
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0].finish_reason)).toEqual(['stop']);
    expect(res.body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(fake.runs[0]!.finished).toBe(false);
    const whole = await request(app).post('/v1/chat/completions').set(auth).send({ ...hi, stop: '\nEND' });
    expect(whole.body.choices[0]).toMatchObject({ message: { content: 'Step 1. Step 2.' }, finish_reason: 'stop' });
  });

  it('reasoning: <think> becomes reasoning_content, never in the same delta as content', async () => {
    const fake = new FakeDifyApp({ script: () => chatReasoningStream() });
    const { app } = buildApp({ app: fake });
    const res = await request(app).post('/v1/chat/completions').set(auth).send({ ...hi, stream: true }).buffer(true).parse(textParser);
    const chunks = dataChunks(res.body);
    const reasoning = chunks.map((c) => c.choices[0]?.delta?.reasoning_content ?? '').join('');
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(reasoning).toContain('17 × 20 = 340');
    expect(content).toBe('17 × 23 = **391**.');
    for (const c of chunks) {
      const d = c.choices[0]?.delta ?? {};
      expect(d.reasoning_content && d.content).toBeFalsy();
      if ('reasoning_content' in d) expect(d.reasoning_content).not.toBe('');
    }
    const nonStream = await request(app).post('/v1/chat/completions').set(auth).send(hi);
    expect(nonStream.body.choices[0].message.content).toBe('17 × 23 = **391**.');
    expect(nonStream.body.choices[0].message.reasoning_content).toContain('so 391.');
  });

  it('reasoning_output think_tags keeps reasoning inline; hidden drops it', async () => {
    const fake = new FakeDifyApp({ script: () => chatLegacyThinkingStream({ reasoning: 'ponder ponder', answer: 'Hi there!' }) });
    const inline = await request(buildApp({ app: fake, settings: { reasoning_output: 'think_tags' } }).app).post('/v1/chat/completions').set(auth).send(hi);
    expect(inline.body.choices[0].message.content).toMatch(/^<think>ponder ponder\s*<\/think>\s*Hi there!$/);
    const hidden = await request(buildApp({ app: fake, settings: { reasoning_output: 'hidden' } }).app).post('/v1/chat/completions').set(auth).send(hi);
    expect(hidden.body.choices[0].message.content).toBe('Hi there!');
    expect(hidden.body.choices[0].message).not.toHaveProperty('reasoning_content');
  });

  it('mid-stream Dify error: error object, no finish chunk, no [DONE]', async () => {
    const { app } = buildApp({ app: new FakeDifyApp({ script: () => chatErrorMidStream() }) });
    const res = await request(app).post('/v1/chat/completions').set(auth).send({ ...hi, stream: true }).buffer(true).parse(textParser);
    expect(res.status).toBe(200);
    const frames = sseEvents(res.body);
    expect(frames[frames.length - 1]).not.toBe('data: [DONE]');
    const last = JSON.parse(frames[frames.length - 1]!.slice(6));
    expect(last.choices).toBeUndefined();
    expect(last.error).toMatchObject({ type: expect.any(String), code: 'completion_request_error' });
    expect(last.error.message).toContain('429');
    expect(last.error).toHaveProperty('param', null);
    expect(dataChunks(res.body).some((c) => c.choices?.[0]?.finish_reason)).toBe(false);
  });

  it('non-streaming: an error inside the Dify stream is a real HTTP error (provider 429 -> 429)', async () => {
    const { app } = buildApp({ app: new FakeDifyApp({ script: () => chatErrorMidStream() }) });
    const r = await request(app).post('/v1/chat/completions').set(auth).send(hi);
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBeDefined();
    const { app: app2 } = buildApp({ app: new FakeDifyApp({ script: () => chatErrorMidStream({ code: 'invalid_param', status: 400, message: 'bad input' }) }) });
    const r2 = await request(app2).post('/v1/chat/completions').set(auth).send(hi);
    expect(r2.status).toBe(400);
    expect(r2.headers['x-should-retry']).toBe('false');
    expect(r2.body.error.message).toBe('bad input');
  });

  it('errors before the stream are real HTTP errors, even for stream:true', async () => {
    const e = PRE_STREAM_ERRORS.tooManyRequests;
    const { app } = buildApp({ app: new FakeDifyApp({ script: () => new DifyError(e.message, e.code, e.status) }) });
    const res = await request(app).post('/v1/chat/completions').set(auth).send({ ...hi, stream: true });
    expect(res.status).toBe(429);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null });
  });

  it('a request too large for the plugin daemon is 413 request_too_large saying so, streaming or not, chat and Responses', async () => {
    const fake = new FakeDifyApp({ script: () => new DifyError('the app invocation is 6291456 bytes', 'request_too_large', 413) });
    const { app } = buildApp({ app: fake });
    const answers = [
      await request(app).post('/v1/chat/completions').set(auth).send(hi),
      await request(app).post('/v1/chat/completions').set(auth).send({ ...hi, stream: true }),
      await request(app).post('/v1/responses').set(auth).send({ model: 'm', input: 'hi', stream: true }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(413);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.headers['x-should-retry']).toBe('false');
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
      expect(res.body.error.message).toMatch(/too large for the Dify plugin daemon/);
    }
  });

  it.each([
    [PRE_STREAM_ERRORS.inputRequired, 400, 'invalid_request_error'],
    [PRE_STREAM_ERRORS.quotaExceeded, 429, 'insufficient_quota'],
    [PRE_STREAM_ERRORS.unauthorized, 502, 'server_error'],
    [PRE_STREAM_ERRORS.appUnavailable, 503, 'server_error'],
  ])('Dify %o maps to %i', async (e, status, type) => {
    const { app } = buildApp({ app: new FakeDifyApp({ script: () => new DifyError(e.message, e.code, e.status) }) });
    const res = await request(app).post('/v1/chat/completions').set(auth).send(hi);
    expect(res.status).toBe(status);
    expect(res.body.error.type).toBe(type);
    expect(res.headers['x-should-retry']).toBe('false');
  });

  it('auth: Bearer, api-key and x-api-key work; missing or wrong key is 401 invalid_api_key', async () => {
    const { app } = buildApp({ app: new FakeDifyApp() });
    for (const h of [{ 'api-key': API_KEY }, { 'x-api-key': API_KEY }, auth]) {
      expect((await request(app).get('/v1/models').set(h)).status).toBe(200);
    }
    for (const h of [{}, { Authorization: 'Bearer nope' }, { 'x-api-key': API_KEY + 'x' }]) {
      const r = await request(app).post('/v1/chat/completions').set(h).send(hi);
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      expect(r.headers['access-control-allow-origin']).toBeDefined();
    }
  });

  it('standalone key lists: any listed key passes, an empty list is open', async () => {
    const a = buildApp({ app: new FakeDifyApp(), settings: { api_key: ['k1', 'k2'] } }).app;
    expect((await request(a).get('/v1/models').set({ Authorization: 'Bearer k2' })).status).toBe(200);
    expect((await request(a).get('/v1/models').set({ Authorization: 'Bearer k3' })).status).toBe(401);
    const open = buildApp({ app: new FakeDifyApp(), settings: { api_key: [] } }).app;
    expect((await request(open).get('/v1/models').set({ Authorization: 'Bearer anything' })).status).toBe(200);
  });

  it('OPTIONS preflight: 204 without auth, allows Authorization', async () => {
    const { app } = buildApp({ app: new FakeDifyApp() });
    for (const path of ['/v1/chat/completions', '/chat/completions', '/v1/models', '/v1/responses', '/v1/models/x']) {
      const r = await request(app)
        .options(path)
        .set({ Origin: 'https://chat.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, x-stainless-os' });
      expect(r.status).toBe(204);
      expect(r.headers['access-control-allow-origin']).toBe('https://chat.example');
      expect(r.headers['access-control-allow-headers']).toMatch(/authorization/i);
      expect(r.headers['access-control-allow-headers']).toMatch(/x-stainless-os/);
    }
  });

  it('validation: 400 with param for model, messages, role, n, logprobs, audio, unknown part', async () => {
    const { app } = buildApp({ app: new FakeDifyApp() });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ messages: hi.messages }, 'model'],
      [{ model: 'm' }, 'messages'],
      [{ model: 'm', messages: [] }, 'messages'],
      [{ model: 'm', messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
      [{ ...hi, n: 2 }, 'n'],
      [{ ...hi, logprobs: true }, 'logprobs'],
      [{ ...hi, modalities: ['text', 'audio'] }, 'modalities'],
      [{ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'video', video: {} }] }] }, 'messages[0].content[1].type'],
      [{ model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA', format: 'wav' } }] }] }, 'messages[0].content[0].type'],
    ];
    for (const [body, param] of cases) {
      const r = await request(app).post('/v1/chat/completions').set(auth).send(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.param).toBe(param);
      expect(r.body.error.type).toBe('invalid_request_error');
    }
    const bad = await request(app).post('/v1/chat/completions').set({ ...auth, 'Content-Type': 'application/json' }).send('{"model":');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/parse the JSON/);
  });

  it('accepts and ignores hints, unknown fields, developer role, tool messages and reasoning_content', async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake, settings: { memory_mode: 'history' } });
    const r = await request(app)
      .post('/v1/chat/completions')
      .set(auth)
      .send({
        model: 'm',
        messages: [
          { role: 'developer', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'text', text: 'hello', cache_control: { type: 'ephemeral' } }] },
          { role: 'assistant', content: 'Hi', reasoning_content: 'thought' },
          { role: 'user', content: 'again' },
        ],
        stop: Array.from({ length: 16 }, (_, i) => `s${i}`),
        max_tokens: 5,
        max_completion_tokens: 5,
        temperature: 0.2,
        top_p: 1,
        seed: 1,
        user: 'u',
        metadata: { a: 'b' },
        store: false,
        parallel_tool_calls: true,
        reasoning_effort: 'low',
        reasoning: { effort: 'low' },
        chat_id: 'x',
        provider: {},
        n: 1,
        logprobs: false,
        tools: [{ type: 'function', function: { name: 'noop', parameters: { type: 'object' } } }],
        tool_choice: 'none',
      });
    expect(r.status).toBe(200);
    expect(r.body.model).toBe('m');
    expect(r.body.choices[0].finish_reason).toBe('stop');
    const q = fake.runs[0]!.request.query!;
    expect(q).toContain('Be brief.');
    expect(q).toContain('hello');
    expect(q).toContain('again');
  });

  it('string content and text parts send the same query', async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake });
    await request(app).post('/v1/chat/completions').set(auth).send({ model: 'm', messages: [{ role: 'user', content: 'a\nb' }] });
    await request(app).post('/v1/chat/completions').set(auth).send({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }] });
    expect(fake.runs[0]!.request.query).toBe(fake.runs[1]!.request.query);
  });

  it('unknown route -> 404 JSON', async () => {
    const { app } = buildApp({ app: new FakeDifyApp() });
    const r = await request(app).post('/v1/nope').set(auth).send({});
    expect(r.status).toBe(404);
    expect(r.body.error.message).toBe('Invalid URL (POST /v1/nope)');
  });

  it('workflow_progress: a chatflow\'s step titles arrive as reasoning before the answer (off by default)', async () => {
    const fake = new FakeDifyApp({ mode: 'advanced-chat', script: () => chatflowStream({ answer: 'Dify is an open-source platform.' }) });
    const on = await request(buildApp({ app: fake, settings: { workflow_progress: true } }).app).post('/v1/chat/completions').set(auth).send({ ...hi, stream: true }).buffer(true).parse(textParser);
    const chunks = dataChunks(on.body);
    const reasoning = chunks.map((c) => c.choices[0]?.delta?.reasoning_content ?? '').join('');
    expect(reasoning).toBe('▸ LLM\n');
    const firstContent = chunks.findIndex((c) => c.choices[0]?.delta?.content);
    const lastReasoning = chunks.findLastIndex((c) => c.choices[0]?.delta?.reasoning_content);
    expect(lastReasoning).toBeLessThan(firstContent);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('Dify is an open-source platform.');
    const off = await request(buildApp({ app: fake }).app).post('/v1/chat/completions').set(auth).send(hi);
    expect(off.body.choices[0].message).not.toHaveProperty('reasoning_content');
  });

  it("citations: a chatflow's cited documents follow the answer (on by default); the citations setting turns them off; never after tool calls", async () => {
    const cited = (answer: string) => () => {
      const events = chatflowStream({ answer });
      const end = events.find((e) => e.event === 'message_end')!;
      end.metadata = { ...(end.metadata as object), retriever_resources: [{ document_id: 'd1', document_name: 'Pricing.md', dataset_name: 'Sales' }] };
      return events;
    };
    const fake = new FakeDifyApp({ mode: 'advanced-chat', script: cited('It costs $12.') });
    const on = await request(buildApp({ app: fake }).app).post('/v1/chat/completions').set(auth).send(hi);
    expect(on.body.choices[0].message.content).toBe('It costs $12.\n\nSources:\n1. Pricing.md (Sales)');
    const off = await request(buildApp({ app: fake, settings: { citations: false } }).app).post('/v1/chat/completions').set(auth).send(hi);
    expect(off.body.choices[0].message.content).toBe('It costs $12.');
    // A JSON answer stays parseable; an editor's legacy completion gets only the text.
    const json = new FakeDifyApp({ mode: 'advanced-chat', script: cited('{"price": 12}') });
    const structured = await request(buildApp({ app: json }).app).post('/v1/chat/completions').set(auth).send({ ...hi, response_format: { type: 'json_object' } });
    expect(JSON.parse(structured.body.choices[0].message.content)).toEqual({ price: 12 });
    const legacy = await request(buildApp({ app: fake }).app).post('/v1/completions').set(auth).send({ model: 'm', prompt: 'price?' });
    expect(legacy.body.choices[0].text).toBe('It costs $12.');
    const tools = [{ type: 'function', function: { name: 'get_price', parameters: { type: 'object', properties: {} } } }];
    const calling = new FakeDifyApp({ mode: 'advanced-chat', script: cited('```json\n{"tool_calls":[{"name":"get_price","arguments":{}}]}\n```') });
    const call = await request(buildApp({ app: calling }).app).post('/v1/chat/completions').set(auth).send({ ...hi, tools });
    expect(call.body.choices[0].finish_reason).toBe('tool_calls');
    expect(call.body.choices[0].message.content ?? '').not.toContain('Sources');
  });

  it('chatflow, both terminal orders: full answer, usage', async () => {
    for (const terminalOrder of ['message_end_first', 'workflow_finished_first'] as const) {
      const fake = new FakeDifyApp({ mode: 'advanced-chat', script: () => chatflowStream({ answer: 'Dify is an open-source platform.', terminalOrder, usage: { prompt_tokens: 48, completion_tokens: 31 } }) });
      const r = await request(buildApp({ app: fake }).app).post('/v1/chat/completions').set(auth).send(hi);
      expect(r.body.choices[0].message.content).toBe('Dify is an open-source platform.');
      expect(r.body.usage).toMatchObject({ prompt_tokens: 48, completion_tokens: 31, total_tokens: 79 });
    }
  });
});

function textParser(r: any, cb: (err: Error | null, body: string) => void): void {
  let s = '';
  r.on('data', (d: Buffer) => (s += d.toString('utf8')));
  r.on('end', () => cb(null, s));
}
