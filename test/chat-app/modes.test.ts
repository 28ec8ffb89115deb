/** Every app mode, files, keepalive and client abort. */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import {
  agentChatStream,
  chatflowNodeFailureStream,
  chatLegacyStream,
  chatReplaceStream,
  completionStream,
  workflowNodeFailureStream,
  workflowStream,
} from '../fakes/dify-apps.js';
import { FakeDifyApp } from './fake-app.js';
import { API_KEY, buildApp, startHarness, type Harness } from './harness.js';

const auth = { Authorization: `Bearer ${API_KEY}` };
const hi = (content = 'hi') => ({ model: 'm', messages: [{ role: 'user', content }] });
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function textParser(r: any, cb: (err: Error | null, body: string) => void): void {
  let s = '';
  r.on('data', (d: Buffer) => (s += d.toString('utf8')));
  r.on('end', () => cb(null, s));
}
const chunksOf = (t: string) =>
  t
    .split('\n\n')
    .filter((f) => f.startsWith('data: {'))
    .map((f) => JSON.parse(f.slice(6)));

describe('app modes', () => {
  it('agent-chat: answer as content, tool use as reasoning (never tool_calls), message_file as a markdown image', async () => {
    const fake = new FakeDifyApp({ mode: 'agent-chat', script: () => agentChatStream({ imageUrl: 'https://files.example/cat.png' }) });
    const { app } = buildApp({ app: fake });
    const r = await request(app).post('/v1/chat/completions').set(auth).send(hi('draw a cat'));
    const m = r.body.choices[0].message;
    expect(m.content).toContain('![image](https://files.example/cat.png)');
    expect(m.content).toContain("I've drawn a watercolor cat on a windowsill for you — check the image above.");
    expect(m.content.match(/I've drawn/g)).toHaveLength(1);
    expect(m.reasoning_content).toContain('Using tool dalle3');
    expect(m.reasoning_content).toContain('Tool result:');
    expect(m).not.toHaveProperty('tool_calls');
    expect(r.body.choices[0].finish_reason).toBe('stop');
    expect(r.body.usage).toMatchObject({ prompt_tokens: 612, completion_tokens: 58 });
    // always streamed upstream
    expect(fake.runs[0]!.request.streaming).toBe(true);
    const s = await request(app).post('/v1/chat/completions').set(auth).send({ ...hi('draw'), stream: true }).buffer(true).parse(textParser);
    for (const c of chunksOf(s.body)) {
      const d = c.choices[0]?.delta ?? {};
      expect(d.tool_calls).toBeUndefined();
      expect(Boolean(d.content) && Boolean(d.reasoning_content)).toBe(false);
    }
  });

  it('completion app: the query goes into the first text input', async () => {
    const fake = new FakeDifyApp({
      mode: 'completion',
      parameters: { inputs: [{ variable: 'tone', type: 'select', required: true, options: ['formal', 'casual'] }, { variable: 'text', type: 'paragraph', required: true }] },
      script: () => completionStream(),
    });
    const { app } = buildApp({ app: fake });
    const r = await request(app).post('/v1/chat/completions').set(auth).send(hi('translate hello'));
    expect(r.body.choices[0].message.content).toBe("Hola (Spanish for 'hello').");
    expect(fake.runs[0]!.request.inputs).toEqual({ tone: 'formal', text: 'translate hello' });
    expect(r.headers['x-dify-conversation-id']).toBeUndefined();
  });

  it('app variables from the body\'s `inputs` go upstream over the defaults; the text goes to a variable they leave free', async () => {
    const chat = new FakeDifyApp({ parameters: { inputs: [{ variable: 'language', type: 'select', required: true, options: ['en', 'fr'] }] } });
    const { app } = buildApp({ app: chat });
    await request(app).post('/v1/chat/completions').set(auth).send(hi()).expect(200);
    expect(chat.runs[0]!.request.inputs).toEqual({ language: 'en' });
    await request(app).post('/v1/chat/completions').set(auth).send({ ...hi('bonjour'), inputs: { language: 'fr', extra: 3 } }).expect(200);
    expect(chat.runs[1]!.request.inputs).toEqual({ language: 'fr', extra: 3 });
    await request(app).post('/v1/responses').set(auth).send({ model: 'm', input: 'salut', inputs: { language: 'fr' } }).expect(200);
    expect(chat.runs[2]!.request.inputs).toEqual({ language: 'fr' });

    const workflow = new FakeDifyApp({
      mode: 'workflow',
      parameters: { inputs: [{ variable: 'topic', type: 'text-input', required: true }, { variable: 'notes', type: 'paragraph', required: false }] },
      script: () => workflowStream({ answer: 'Done.' }),
    });
    const wf = buildApp({ app: workflow }).app;
    await request(wf).post('/v1/chat/completions').set(auth).send({ ...hi('write it'), inputs: { topic: 'tides' } }).expect(200);
    expect(workflow.runs[0]!.request.inputs).toEqual({ topic: 'tides', notes: 'write it' });

    for (const inputs of ['fr', ['fr'], 3]) {
      const bad = await request(app).post('/v1/chat/completions').set(auth).send({ ...hi(), inputs });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ type: 'invalid_request_error', param: 'inputs' });
    }
    expect(chat.runs).toHaveLength(3);
  });

  it('workflow app: text_chunk stream, or the outputs when nothing streamed', async () => {
    const streaming = new FakeDifyApp({ mode: 'workflow', script: () => workflowStream({ answer: 'Streamed result.' }) });
    const r1 = await request(buildApp({ app: streaming }).app).post('/v1/chat/completions').set(auth).send(hi('summarise'));
    expect(r1.body.choices[0].message.content).toBe('Streamed result.');
    expect(streaming.runs[0]!.request.inputs.text).toBe('summarise');
    expect(streaming.runs[0]!.request.query).toBeUndefined();
    expect(r1.body.usage.total_tokens).toBeGreaterThan(0);
    const outputsOnly = new FakeDifyApp({ mode: 'workflow', script: () => workflowStream({ textChunks: false, outputs: { summary: 'From outputs.', n: 3 } }) });
    const r2 = await request(buildApp({ app: outputsOnly }).app).post('/v1/chat/completions').set(auth).send(hi());
    expect(r2.body.choices[0].message.content).toBe('From outputs.');
    const json = new FakeDifyApp({ mode: 'workflow', script: () => workflowStream({ textChunks: false, outputs: { a: 1, b: [2] } }) });
    const r3 = await request(buildApp({ app: json }).app).post('/v1/chat/completions').set(auth).send({ ...hi(), stream: true }).buffer(true).parse(textParser);
    expect(chunksOf(r3.body).map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('{"a":1,"b":[2]}');
  });

  it('workflow node failure (no error event) and chatflow failure become errors', async () => {
    const wf = new FakeDifyApp({ mode: 'workflow', script: () => workflowNodeFailureStream() });
    const r1 = await request(buildApp({ app: wf }).app).post('/v1/chat/completions').set(auth).send(hi());
    expect(r1.status).toBe(502);
    expect(r1.body.error.message).toContain('division by zero');
    expect(r1.headers['x-should-retry']).toBe('false');
    const cf = new FakeDifyApp({ mode: 'advanced-chat', script: () => chatflowNodeFailureStream() });
    const r2 = await request(buildApp({ app: cf }).app).post('/v1/chat/completions').set(auth).send({ ...hi(), stream: true }).buffer(true).parse(textParser);
    // a node failed before any token: a streaming client gets the HTTP error too, not 200 + an error event
    // (the same answer a non-streaming client gets: Dify reports this run as invalid_param, 400)
    expect(r2.status).toBe(400);
    expect(r2.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(r2.body).error.message).toContain('Run failed');
    const r2b = await request(buildApp({ app: cf }).app).post('/v1/chat/completions').set(auth).send(hi());
    expect({ status: r2b.status, error: r2b.body.error }).toEqual({ status: r2.status, error: JSON.parse(r2.body).error });
    const r3 = await request(buildApp({ app: wf }).app).post('/v1/responses').set(auth).send({ model: 'm', input: 'hi', stream: true });
    expect(r3.status).toBe(502);
    expect(r3.body.error.message).toContain('division by zero');
  });

  it('legacy builds (spaced JSON objects, no from_variable_selector) and message_replace', async () => {
    const legacy = new FakeDifyApp({ script: () => chatLegacyStream() });
    const r1 = await request(buildApp({ app: legacy }).app).post('/v1/chat/completions').set(auth).send(hi());
    expect(r1.body.choices[0].message.content).toBe('你好！有什么可以帮你？');
    const replaced = new FakeDifyApp({ script: () => chatReplaceStream({ answer: 'bad words here', replacement: 'Sorry.' }) });
    const r2 = await request(buildApp({ app: replaced }).app).post('/v1/chat/completions').set(auth).send(hi());
    expect(r2.body.choices[0].message.content).toBe('Sorry.');
  });
});

describe('files', () => {
  const img = (url: string) => ({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url } }] }] });
  it('http image -> remote_url file; data URL -> upload + local_file', async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake });
    await request(app).post('/v1/chat/completions').set(auth).send(img('https://example.com/cat.png'));
    expect(fake.runs[0]!.request.files).toEqual([{ type: 'image', transfer_method: 'remote_url', url: 'https://example.com/cat.png' }]);
    await request(app).post('/v1/chat/completions').set(auth).send(img('data:image/png;base64,' + Buffer.from('PNGDATA').toString('base64')));
    expect(fake.uploads).toHaveLength(1);
    expect(fake.uploads[0]).toMatchObject({ mimeType: 'image/png', size: 7, user: fake.runs[1]!.request.user });
    expect(fake.runs[1]!.request.files).toEqual([{ type: 'image', transfer_method: 'local_file', upload_file_id: fake.uploads[0]!.id }]);
  });
  it('a host that cannot pass files answers 400 that explains, with param at the part', async () => {
    const { app } = buildApp({ app: new FakeDifyApp({ fileTransfer: 'none' }) });
    const r = await request(app).post('/v1/chat/completions').set(auth).send(img('https://example.com/cat.png'));
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe('messages[0].content[1].type');
    expect(r.body.error.message).toMatch(/image/i);
  });
  it('upload_only host (plugin): image goes into the app file input, else 400', async () => {
    const withInput = new FakeDifyApp({ fileTransfer: 'upload_only', parameters: { inputs: [{ variable: 'photo', type: 'file', required: false }] } });
    const r = await request(buildApp({ app: withInput }).app).post('/v1/chat/completions').set(auth).send(img('data:image/jpeg;base64,' + Buffer.from('JPG').toString('base64')));
    expect(r.status).toBe(200);
    expect(withInput.runs[0]!.request.inputs.photo).toEqual({ type: 'image', transfer_method: 'local_file', upload_file_id: withInput.uploads[0]!.id });
    expect(withInput.runs[0]!.request.files).toBeUndefined();
    const without = new FakeDifyApp({ fileTransfer: 'upload_only' });
    const r2 = await request(buildApp({ app: without }).app).post('/v1/chat/completions').set(auth).send(img('data:image/jpeg;base64,AAAA'));
    expect(r2.status).toBe(400);
    expect(r2.body.error.message).toMatch(/file input/);
  });
});

describe('image URLs the host downloads (plugin mode)', () => {
  it('refuses addresses on the host\'s own network unless the endpoint allows them', async () => {
    const jpeg = Buffer.from('ffd8ffe000104a464946', 'hex');
    const images = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg));
    await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(images.address() as AddressInfo).port}/cat.jpg`;
      const body = { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is it' }, { type: 'image_url', image_url: { url } }] }] };
      const parameters = { inputs: [{ variable: 'photo', type: 'file', required: false }] };
      const guarded = new FakeDifyApp({ fileTransfer: 'upload_only', parameters });
      const refused = await request(buildApp({ app: guarded }).app).post('/v1/chat/completions').set(auth).send(body);
      expect(refused.status).toBe(400);
      expect(refused.body.error.param).toBe('messages[0].content[1].image_url.url');
      expect(refused.body.error.message).toMatch(/not a public address/);
      expect(guarded.uploads).toHaveLength(0);
      expect(guarded.runs).toHaveLength(0);

      const trusting = new FakeDifyApp({ fileTransfer: 'upload_only', parameters });
      const ok = await request(buildApp({ app: trusting, settings: { allow_private_image_urls: true } }).app).post('/v1/chat/completions').set(auth).send(body);
      expect(ok.status).toBe(200);
      expect(trusting.uploads).toMatchObject([{ mimeType: 'image/jpeg', size: jpeg.length }]);
    } finally {
      await new Promise<void>((r) => images.close(() => r()));
    }
  });
});

describe('stream lifecycle', () => {
  it('keepalive comments during upstream silence, then the answer', async () => {
    const fake = new FakeDifyApp({ stallAfter: 2, stallMs: 450 });
    h = await startHarness({ app: fake, settings: { keepalive_ms: 100 } });
    const res = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ ...hi(), stream: true }) });
    const text = await res.text();
    expect((text.match(/^: keepalive$/gm) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(text).not.toContain(': ping');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('headers go out (with keepalives) when the first event is slow', async () => {
    const fake = new FakeDifyApp({ stallAfter: 0, stallMs: 400 });
    h = await startHarness({ app: fake, settings: { keepalive_ms: 100, first_event_wait_ms: 50 } });
    const res = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ ...hi(), stream: true }) });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.indexOf(': keepalive')).toBeLessThan(text.indexOf('You said'));
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('a chatflow slow to its first token: not committed on workflow events, but headers and keepalives go out after the keepalive interval', async () => {
    // workflow_started and node_started arrive at once, then 450 ms until the first token
    const fake = new FakeDifyApp({ mode: 'advanced-chat', stallAfter: 2, stallMs: 450 });
    h = await startHarness({ app: fake, settings: { keepalive_ms: 100, first_event_wait_ms: null } });
    const res = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ ...hi(), stream: true }) });
    expect(res.status).toBe(200);
    // the conversation id seen on the workflow events goes out with the (later) headers
    expect(res.headers.get('x-dify-conversation-id')).toBe(fake.runs[0]!.conversationId);
    const text = await res.text();
    // headers and keepalives came during the silence before the first token
    expect(text.indexOf(': keepalive')).toBeGreaterThan(0);
    expect(text.indexOf(': keepalive')).toBeLessThan(text.indexOf('You said'));
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('client disconnect aborts the upstream run', async () => {
    const fake = new FakeDifyApp({ stallAfter: 2 });
    h = await startHarness({ app: fake });
    const ac = new AbortController();
    const res = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ ...hi(), stream: true }), signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    for (let i = 0; i < 50 && !fake.runs[0]!.aborted; i++) await new Promise((r) => setTimeout(r, 20));
    expect(fake.runs[0]!.aborted).toBe(true);
    expect(fake.runs[0]!.finished).toBe(false);
  });

  it('multi-byte text split across events arrives intact', async () => {
    const fake = new FakeDifyApp({ script: () => chatLegacyStream({ chunks: ['你', '好', '🙂', '！'] }) });
    const { app } = buildApp({ app: fake });
    const r = await request(app).post('/v1/chat/completions').set(auth).send({ ...hi(), stream: true }).buffer(true).parse(textParser);
    expect(chunksOf(r.body).map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('你好🙂！');
  });
});
void once;
