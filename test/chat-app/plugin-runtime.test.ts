/**
 * The chat-app group as an installed plugin: the bundled runtime under the daemon simulator, real
 * clients against its /e/<hook> front, the app answered through the `app` reverse invocation with
 * the fixture streams, conversation memory in plugin storage.
 */
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import OpenAI6 from 'openai6';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { streamText } from 'ai';
import { ChatOpenAI } from '@langchain/openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startGroupPlugin } from '../daemon/plugin-bundle.js';
import type { SimulatedDaemon } from '../daemon/simulator.js';
import { blockingBody, chatErrorMidStream, chatReasoningStream, chatStream } from '../fakes/dify-apps.js';

const API_KEY = 'sk-plugin-chat-key';
const settings = { api_key: API_KEY, app: { app_id: 'app-1234567890' }, model_id: '', memory_mode: 'auto' };

/** Dify's side of the `app` reverse invocation: conversations owned by (app, user). */
const conversations = new Map<string, { user: string; turns: number; first: string }>();
function* appReverse(request: Record<string, any>): Iterable<Record<string, any>> {
  // Blocking: Dify answers one body (an error inside the run is an HTTP error, i.e. an invocation error).
  if (request.response_mode === 'blocking') {
    const events = [...appEvents(request)];
    const err = events.find((e) => e.event === 'error');
    if (err) throw new Error(`read app failed: request failed: ${String(err.message)}`);
    yield blockingBody('chat', events as never);
    return;
  }
  yield* appEvents(request);
}

function* appEvents(request: Record<string, any>): Iterable<Record<string, any>> {
  const query = String(request.query ?? '');
  if (request.conversation_id) {
    const c = conversations.get(request.conversation_id);
    if (!c || c.user !== request.user) throw new Error('read app failed: request failed: {"code": "not_found", "message": "Conversation Not Exists.", "status": 404}');
  }
  const id = request.conversation_id || randomUUID();
  const conv = conversations.get(id) ?? { user: request.user, turns: 0, first: query };
  conv.turns++;
  conversations.set(id, conv);
  if (/explode/.test(query)) {
    yield* chatErrorMidStream({ conversationId: id, message: 'model exploded' });
    return;
  }
  if (/think/.test(query)) {
    yield* chatReasoningStream({ conversationId: id });
    return;
  }
  yield* chatStream({ conversationId: id, answer: `Plugin heard: ${query.split('\n').pop()} (turn ${conv.turns})` });
}

let daemon: SimulatedDaemon;
let base: string;

beforeAll(async () => {
  daemon = await startGroupPlugin('chat-app', {
    app: appReverse,
    fetch_app: () => ({ name: 'dify-plugin-bot', mode: 'chat', user_input_form: [] }),
  });
  base = await daemon.listen({ settings });
}, 60_000);

afterAll(async () => {
  await daemon?.close();
});

describe('chat-app plugin under the daemon simulator', () => {
  test('models, chat (stream and not), and the app reverse request Dify receives', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(['dify-plugin-bot']);
    const r = await client.chat.completions.create({ model: 'dify-plugin-bot', messages: [{ role: 'user', content: 'hello plugin' }], user: 'alice' });
    expect(r.choices[0]!.message.content).toBe('Plugin heard: hello plugin (turn 1)');
    expect(r.usage!.total_tokens).toBeGreaterThan(0);
    const call = daemon.reverseCalls.filter((c) => c.type === 'app').at(-1)!;
    expect(call.request).toMatchObject({ app_id: 'app-1234567890', query: 'hello plugin', response_mode: 'streaming', inputs: {} });
    expect(call.request.user).toMatch(/^alice-/);
    const s = await client.chat.completions.create({ model: 'dify-plugin-bot', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'streamed' }] });
    let text = '';
    let usage;
    for await (const c of s) {
      text += c.choices[0]?.delta?.content ?? '';
      usage = c.usage ?? usage;
    }
    expect(text).toBe('Plugin heard: streamed (turn 1)');
    expect(usage!.total_tokens).toBeGreaterThan(0);
  });

  test('without /v1 too; wrong key is 401', async () => {
    const res = await fetch(`${base}/models`, { headers: { Authorization: `Bearer ${API_KEY}` } });
    expect(res.status).toBe(200);
    const bad = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { Authorization: 'Bearer nope', 'Content-Type': 'application/json' }, body: '{}' });
    expect(bad.status).toBe(401);
    expect((await bad.json()).error.code).toBe('invalid_api_key');
  });

  test('request bodies at the daemon limit: 10 MiB or more is 413 request_too_large (the daemon may have cut it), not invalid JSON', async () => {
    const post = (body: string) =>
      fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' }, body });
    const calls = daemon.reverseCalls.filter((c) => c.type === 'app').length;
    const wrap = (n: number) => {
      const shell = JSON.stringify({ model: 'dify-plugin-bot', messages: [{ role: 'user', content: '' }] });
      return shell.replace('"content":""', `"content":"${'x'.repeat(n - shell.length)}"`);
    };
    // exactly 10 MiB of valid JSON: the daemon passes it whole, but a longer body would look the same
    const exact = wrap(10 * 1024 * 1024);
    expect(Buffer.byteLength(exact)).toBe(10485760);
    for (const body of [exact, wrap(11 * 1024 * 1024)]) {
      const res = await post(body);
      expect(res.status).toBe(413);
      expect(res.headers.get('x-request-id')).toMatch(/\S/);
      const e = (await res.json()).error;
      expect(e).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
      expect(e.message).toMatch(/10 MiB/);
    }
    // neither reached the app
    expect(daemon.reverseCalls.filter((c) => c.type === 'app').length).toBe(calls);
  }, 30_000);

  test('a message too large for one reverse invocation (over the daemon\'s 5 MiB line) is 413 request_too_large; the plugin lives on', async () => {
    const violations = daemon.protocolViolations.length;
    const calls = daemon.reverseCalls.filter((c) => c.type === 'app').length;
    const headers = { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' };
    const document = 'lorem ipsum '.repeat(512 * 1024); // 6 MiB: under the 10 MiB body limit, over the 5 MiB line
    for (const stream of [false, true]) {
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: 'dify-plugin-bot', stream, messages: [{ role: 'user', content: `summarise: ${document}` }] }),
        signal: AbortSignal.timeout(10_000),
      });
      expect({ stream, status: res.status }).toEqual({ stream, status: 413 });
      const e = (await res.json()).error;
      expect(e).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
      expect(e.message).toMatch(/too large for the Dify plugin daemon/);
    }
    expect(daemon.protocolViolations.slice(violations)).toEqual([]);
    expect(daemon.reverseCalls.filter((c) => c.type === 'app').length).toBe(calls);
    // the same plugin process answers the next request
    const ok = await new OpenAI({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0 }).chat.completions.create({ model: 'dify-plugin-bot', messages: [{ role: 'user', content: 'still there?' }] });
    expect(ok.choices[0]!.message.content).toBe('Plugin heard: still there? (turn 1)');
  }, 30_000);

  test('an incoming x-request-id is the response\'s request id; without one each response gets its own', async () => {
    const headers = { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' };
    const given = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { ...headers, 'x-request-id': 'trace-42' }, body: '{"model": ' });
    expect(given.status).toBe(400);
    expect(given.headers.get('x-request-id')).toBe('trace-42');
    const a = await fetch(`${base}/v1/models`, { headers });
    const b = await fetch(`${base}/v1/models`, { headers });
    expect(a.headers.get('x-request-id')).toMatch(/^req_/);
    expect(b.headers.get('x-request-id')).toMatch(/^req_/);
    expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
  });

  test('memory in plugin storage: 10 turns continue one conversation with only the new message', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const messages: Array<{ role: 'user' | 'assistant'; content: string }> = [];
    const before = daemon.reverseCalls.filter((c) => c.type === 'app').length;
    for (let i = 1; i <= 10; i++) {
      messages.push({ role: 'user', content: `turn ${i} message` });
      const r = await client.chat.completions.create({ model: 'dify-plugin-bot', messages, user: 'memory-user' });
      const answer = r.choices[0]!.message.content!;
      expect(answer).toBe(`Plugin heard: turn ${i} message (turn ${i})`);
      messages.push({ role: 'assistant', content: answer });
    }
    const calls = daemon.reverseCalls.filter((c) => c.type === 'app').slice(before);
    expect(calls).toHaveLength(10);
    const conv = new Set(calls.slice(1).map((c) => c.request.conversation_id));
    expect(conv.size).toBe(1);
    for (let i = 1; i < 10; i++) expect(calls[i]!.request.query).toBe(`turn ${i + 1} message`);
    expect(daemon.storage.size).toBeGreaterThan(0);
  });

  test('openai v6, AI SDK and LangChain; reasoning; mid-stream error', async () => {
    const v6 = new OpenAI6({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const s6 = await v6.chat.completions.create({ model: 'dify-plugin-bot', stream: true, messages: [{ role: 'user', content: 'v6' }] });
    let t6 = '';
    for await (const c of s6) t6 += c.choices[0]?.delta?.content ?? '';
    expect(t6).toContain('v6');
    const provider = createOpenAICompatible({ name: 'dify', baseURL: `${base}/v1`, apiKey: API_KEY, includeUsage: true });
    const st = streamText({ model: provider.chatModel('dify-plugin-bot'), prompt: 'think hard', maxRetries: 0 });
    const parts: string[] = [];
    for await (const p of st.fullStream) parts.push(p.type);
    expect(parts).not.toContain('error');
    expect(await st.reasoningText).toContain('so 391');
    expect(await st.text).toBe('17 × 23 = **391**.');
    const lc = new ChatOpenAI({ model: 'dify-plugin-bot', apiKey: API_KEY, configuration: { baseURL: `${base}/v1` }, maxRetries: 0 });
    expect(String((await lc.invoke('langchain via plugin')).content)).toContain('langchain via plugin');
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const bad = await client.chat.completions.create({ model: 'dify-plugin-bot', stream: true, messages: [{ role: 'user', content: 'explode' }] });
    await expect(
      (async () => {
        for await (const _ of bad) void _;
      })(),
    ).rejects.toThrow('model exploded');
  });

  test('responses API through the plugin', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const r = await client.responses.create({ model: 'dify-plugin-bot', input: 'responses via plugin' });
    expect(r.output_text).toContain('responses via plugin');
    const f = await client.responses.stream({ model: 'dify-plugin-bot', input: 'stream via plugin' }).finalResponse();
    expect(f.output_text).toContain('stream via plugin');
  });
});
