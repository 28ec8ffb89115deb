/** Responses API on the wire, and smaller request options (response_format, model ids, input filter). */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { chatErrorMidStream, chatReasoningStream } from '../fakes/dify-apps.js';
import { FakeDifyApp } from './fake-app.js';
import { API_KEY, buildApp, startHarness } from './harness.js';

const auth = { Authorization: `Bearer ${API_KEY}` };

function textParser(r: any, cb: (err: Error | null, body: string) => void): void {
  let s = '';
  r.on('data', (d: Buffer) => (s += d.toString('utf8')));
  r.on('end', () => cb(null, s));
}

function events(text: string): Array<{ name: string; data: any }> {
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((f) => {
      const name = /^event: (.*)$/m.exec(f)?.[1] ?? '';
      const data = /^data: (.*)$/m.exec(f)?.[1] ?? 'null';
      return { name, data: JSON.parse(data) };
    });
}

describe('responses on the wire', () => {
  it('streams named events in order with increasing sequence numbers', async () => {
    const { app } = buildApp({ app: new FakeDifyApp() });
    const r = await request(app).post('/v1/responses').set(auth).send({ model: 'm', input: 'hi there', stream: true }).buffer(true).parse(textParser);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const ev = events(r.body);
    for (const e of ev) expect(e.name).toBe(e.data.type);
    ev.forEach((e, i) => expect(e.data.sequence_number).toBe(i));
    const names = ev.map((e) => e.name).filter((n) => n !== 'response.output_text.delta');
    expect(names).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const done = ev[ev.length - 1]!.data.response;
    expect(done.status).toBe('completed');
    expect(done.output[0].content[0].text).toMatch(/^You said: hi there/);
    expect(done.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: expect.any(Number), total_tokens: expect.any(Number) });
  });

  it('keepalive events during silence, only after response.created', async () => {
    const h = await startHarness({ app: new FakeDifyApp({ stallAfter: 1, stallMs: 350 }), settings: { keepalive_ms: 100 } });
    try {
      const res = await fetch(`${h.url}/v1/responses`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'm', input: 'x', stream: true }) });
      const ev = events(await res.text());
      const ka = ev.filter((e) => e.name === 'keepalive');
      expect(ka.length).toBeGreaterThanOrEqual(2);
      expect(ev[0]!.name).toBe('response.created');
      ev.forEach((e, i) => expect(e.data.sequence_number).toBe(i));
      expect(ev[ev.length - 1]!.name).toBe('response.completed');
    } finally {
      await h.close();
    }
  });

  it('reasoning streams as a reasoning item (summary part) before the message item', async () => {
    const { app } = buildApp({ app: new FakeDifyApp({ script: () => chatReasoningStream() }) });
    const r = await request(app).post('/v1/responses').set(auth).send({ model: 'm', input: 'x', stream: true }).buffer(true).parse(textParser);
    const ev = events(r.body);
    ev.forEach((e, i) => expect(e.data.sequence_number).toBe(i));
    const names = ev.map((e) => e.name).filter((n) => !n.endsWith('.delta'));
    expect(names).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const reasoning = ev.filter((e) => e.name === 'response.reasoning_summary_text.delta');
    expect(reasoning.every((e) => e.data.output_index === 0 && e.data.summary_index === 0)).toBe(true);
    expect(reasoning.map((e) => e.data.delta).join('')).toContain('17 × 3 = 51');
    const text = ev.filter((e) => e.name === 'response.output_text.delta');
    expect(text.every((e) => e.data.output_index === 1)).toBe(true);
    expect(text.map((e) => e.data.delta).join('')).toBe('17 × 23 = **391**.');
    const done = ev[ev.length - 1]!.data.response;
    expect(done.output.map((o: { type: string }) => o.type)).toEqual(['reasoning', 'message']);
    expect(done.output[0].summary[0]).toEqual({ type: 'summary_text', text: expect.stringContaining('so 391.') });
    // hidden: no reasoning item at all.
    const hidden = buildApp({ app: new FakeDifyApp({ script: () => chatReasoningStream() }), settings: { reasoning_output: 'hidden' } }).app;
    const plain = await request(hidden).post('/v1/responses').set(auth).send({ model: 'm', input: 'x' });
    expect(plain.body.output.map((o: { type: string }) => o.type)).toEqual(['message']);
    expect(plain.body.output[0].content[0].text).toBe('17 × 23 = **391**.');
  });

  it('mid-stream error: error event then response.failed', async () => {
    const { app } = buildApp({ app: new FakeDifyApp({ script: () => chatErrorMidStream({ message: 'boom' }) }) });
    const r = await request(app).post('/v1/responses').set(auth).send({ model: 'm', input: 'x', stream: true }).buffer(true).parse(textParser);
    const ev = events(r.body);
    expect(ev.map((e) => e.name).slice(-2)).toEqual(['error', 'response.failed']);
    expect(ev[ev.length - 1]!.data.response.error).toEqual({ code: 'completion_request_error', message: 'boom' });
  });

  it('input items with function_call / function_call_output and instructions', async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake });
    const r = await request(app)
      .post('/v1/responses')
      .set(auth)
      .send({
        model: 'm',
        instructions: 'Be terse.',
        tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object' } }, { type: 'custom', name: 'apply_patch' }],
        input: [
          { role: 'user', content: [{ type: 'input_text', text: 'find x' }] },
          { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' },
          { type: 'function_call_output', call_id: 'call_1', output: 'x is 42' },
          { type: 'reasoning', summary: [] },
        ],
      });
    expect(r.status).toBe(200);
    expect(r.body.object).toBe('response');
    const q = fake.runs[0]!.request.query!;
    expect(q).toContain('Be terse.');
    expect(q).toContain('x is 42');
    expect(q).toContain('find x');
  });

  it.each([['previous_response_id', 'resp_1'], ['background', true], ['conversation', 'conv_1']])('%s -> 400', async (field, value) => {
    const { app } = buildApp({ app: new FakeDifyApp() });
    const r = await request(app).post('/v1/responses').set(auth).send({ model: 'm', input: 'x', [field]: value });
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe(field);
  });
});

describe('request options', () => {
  it('response_format json_schema becomes an instruction; the answer is passed through', async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake });
    const r = await request(app)
      .post('/v1/chat/completions')
      .set(auth)
      .send({ model: 'm', messages: [{ role: 'user', content: 'give json' }], response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'number' } } } } } });
    expect(r.status).toBe(200);
    expect(fake.runs[0]!.request.query).toContain('"properties":{"a":{"type":"number"}}');
    expect(fake.runs[0]!.request.query!.endsWith('give json')).toBe(true);
  });

  it("the Responses API's text.format json_schema becomes the same instruction", async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake });
    const r = await request(app)
      .post('/v1/responses')
      .set(auth)
      .send({ model: 'm', input: 'give json', text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object', properties: { b: { type: 'string' } } } } } });
    expect(r.status).toBe(200);
    expect(fake.runs[0]!.request.query).toContain('"properties":{"b":{"type":"string"}}');
    await request(app).post('/v1/responses').set(auth).send({ model: 'm', input: 'plain', text: { format: { type: 'text' } } });
    expect(fake.runs[1]!.request.query).toBe('plain');
  });

  it('app names that look like OpenAI models are listed with a dify- prefix (standalone: model picks the app)', async () => {
    const a = new FakeDifyApp({ name: 'gpt-helper' });
    const b = new FakeDifyApp({ name: 'Support Bot' });
    const { app } = buildApp({ apps: [a, b] });
    const list = await request(app).get('/v1/models').set(auth);
    expect(list.body.data.map((m: { id: string }) => m.id).sort()).toEqual(['Support Bot', 'dify-gpt-helper']);
    const one = await request(app).get('/v1/models/Support%20Bot').set(auth);
    expect(one.body).toMatchObject({ id: 'Support Bot', object: 'model', owned_by: 'dify' });
    expect(Number.isInteger(one.body.created)).toBe(true);
    await request(app).post('/v1/chat/completions').set(auth).send({ model: 'dify-gpt-helper', messages: [{ role: 'user', content: 'x' }] });
    expect(a.runs).toHaveLength(1);
    expect(b.runs).toHaveLength(0);
    const unknown = await request(app).post('/v1/chat/completions').set(auth).send({ model: 'nope', messages: [{ role: 'user', content: 'x' }] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('model_not_found');
  });

  it('plugin style: the one app answers to model_id, its default id and its app id; any other model is 404 model_not_found', async () => {
    const fake = new FakeDifyApp({ name: 'Helpdesk' });
    const { app } = buildApp({ app: fake, settings: { model_id: 'helpdesk-v2', app: { app_id: 'app-helpdesk' } } });
    const send = (model: string) => request(app).post('/v1/chat/completions').set(auth).send({ model, messages: [{ role: 'user', content: 'x' }] });
    for (const model of ['helpdesk-v2', 'Helpdesk', 'app-helpdesk']) {
      const ok = await send(model);
      expect({ model, status: ok.status }).toEqual({ model, status: 200 });
      expect(ok.body.model).toBe(model);
    }
    expect(fake.runs).toHaveLength(3);
    for (const model of ['anything-else', 'gpt-4o', 'helpdesk']) {
      const r = await send(model);
      expect({ model, status: r.status }).toEqual({ model, status: 404 });
      expect(r.body.error).toMatchObject({ type: 'invalid_request_error', param: 'model', code: 'model_not_found' });
      expect(r.body.error.message).toContain(model);
    }
    // streaming clients get the same HTTP 404, and the Responses API too
    const s = await request(app).post('/v1/chat/completions').set(auth).send({ model: 'anything-else', stream: true, messages: [{ role: 'user', content: 'x' }] });
    expect(s.status).toBe(404);
    expect(s.headers['content-type']).toMatch(/^application\/json/);
    const rs = await request(app).post('/v1/responses').set(auth).send({ model: 'anything-else', input: 'x' });
    expect(rs.status).toBe(404);
    expect(rs.body.error.code).toBe('model_not_found');
    expect(fake.runs).toHaveLength(3);
    const r = await request(app).get('/v1/models/anything-else').set(auth);
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('model_not_found');
  });

  it('models answer from cache while Dify is down', async () => {
    const fake = new FakeDifyApp({ name: 'cached-bot' });
    const { app } = buildApp({ app: fake, endpointId: 'cache-endpoint', settings: { model_id: '' } });
    expect((await request(app).get('/v1/models').set(auth)).body.data[0].id).toBe('cached-bot');
    fake.options.infoFails = true;
    const again = await request(app).get('/v1/models').set(auth);
    expect(again.status).toBe(200);
    expect(again.body.data[0].id).toBe('cached-bot');
  });

  it('strip_platform_metadata removes chat-platform envelopes from user text', async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake, settings: { strip_platform_metadata: true, memory_mode: 'last' } });
    const text = '[Mon 2026-11-23 10:00 GMT+8] what time is it?';
    await request(app).post('/v1/chat/completions').set(auth).send({ model: 'm', messages: [{ role: 'user', content: text }] });
    expect(fake.runs[0]!.request.query).toBe('what time is it?');
    const off = new FakeDifyApp();
    await request(buildApp({ app: off, settings: { memory_mode: 'last' } }).app).post('/v1/chat/completions').set(auth).send({ model: 'm', messages: [{ role: 'user', content: text }] });
    expect(off.runs[0]!.request.query).toBe(text);
  });
});
