/** Conversation continuity (DESIGN.md): auto mode through a real client, branching, scoping, other modes. */
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDifyApp } from './fake-app.js';
import { API_KEY, buildApp, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function chatTurns(client: OpenAI, turns: number, user?: string, stream = false) {
  const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: 'You are a helpful bot.' }];
  const answers: string[] = [];
  for (let i = 1; i <= turns; i++) {
    messages.push({ role: 'user', content: `message number ${i}` });
    let answer = '';
    if (stream) {
      const s = await client.chat.completions.create({ model: 'm', messages, stream: true, ...(user ? { user } : {}) });
      for await (const c of s) answer += c.choices[0]?.delta?.content ?? '';
    } else {
      const r = await client.chat.completions.create({ model: 'm', messages, ...(user ? { user } : {}) });
      answer = r.choices[0]!.message.content ?? '';
    }
    answers.push(answer);
    messages.push({ role: 'assistant', content: answer });
  }
  return { messages, answers };
}

describe('memory: auto mode', () => {
  it.each([false, true])('10 turns (stream=%s): one Dify conversation, only the new message goes upstream', async (stream) => {
    const fake = new FakeDifyApp();
    h = await startHarness({ app: fake });
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const { answers } = await chatTurns(client, 10, undefined, stream);
    expect(fake.runs).toHaveLength(10);
    const convs = new Set(fake.runs.map((r) => r.conversationId));
    expect(convs.size).toBe(1);
    expect(fake.runs[0]!.request.conversationId).toBeUndefined();
    for (const r of fake.runs.slice(1)) expect(r.request.conversationId).toBe(fake.runs[0]!.conversationId);
    // Turn 1 carries the system prompt; later turns carry only the new message: constant size, linear total.
    expect(fake.runs[0]!.request.query).toBe('You are a helpful bot.\n\nmessage number 1');
    for (let i = 1; i < 10; i++) expect(fake.runs[i]!.request.query).toBe(`message number ${i + 1}`);
    const sizes = fake.runs.map((r) => r.request.query!.length);
    expect(Math.max(...sizes.slice(1))).toBeLessThanOrEqual(20);
    // Dify kept the context: the 10th answer knows the turn number and how the chat began.
    expect(answers[9]).toContain('turn 10;');
    expect(answers[9]).toContain('this conversation began with: You are a helpful bot.');
  });

  it('an edited history branches into a new conversation seeded with the history', async () => {
    const fake = new FakeDifyApp();
    h = await startHarness({ app: fake });
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const { messages } = await chatTurns(client, 3);
    const original = fake.runs[0]!.conversationId;
    // Edit the second user message and continue from there.
    const edited: ChatCompletionMessageParam[] = [...messages.slice(0, 3), { role: 'user', content: 'an edited question' }];
    (edited[1] as { content: string }).content = 'message number 1';
    await client.chat.completions.create({ model: 'm', messages: edited });
    const branch = fake.runs[3]!;
    expect(branch.request.conversationId).toBeUndefined();
    expect(branch.conversationId).not.toBe(original);
    expect(branch.request.query).toContain('<history>');
    expect(branch.request.query).toContain('message number 1');
    expect(branch.request.query!.endsWith('an edited question')).toBe(true);
    // Regenerating the last answer (same history up to the last user message) also starts over...
    const regen = messages.slice(0, -1);
    await client.chat.completions.create({ model: 'm', messages: regen });
    expect(fake.runs[4]!.request.conversationId).toBeUndefined();
    // ...while the original thread still continues where it was.
    await client.chat.completions.create({ model: 'm', messages: [...messages, { role: 'user', content: 'back on the main thread' }] });
    expect(fake.runs[5]!.request.conversationId).toBe(original);
    expect(fake.runs[5]!.request.query).toBe('back on the main thread');
  });

  it('two users with identical histories never share a conversation (OpenAI user and API key)', async () => {
    const fake = new FakeDifyApp();
    h = await startHarness({ app: fake, settings: { api_key: ['key-a', 'key-b'] } });
    const a = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'key-a', maxRetries: 0 });
    const b = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'key-b', maxRetries: 0 });
    await chatTurns(a, 2, 'alice');
    await chatTurns(a, 2, 'bob');
    await chatTurns(b, 2, 'alice');
    const convs = fake.runs.map((r) => r.conversationId);
    expect(new Set(convs).size).toBe(3);
    expect(new Set(fake.runs.map((r) => r.request.user)).size).toBe(3);
    // Dify's `user` separates them too, and keeps the client's name readable.
    expect(fake.runs[0]!.request.user).toMatch(/^alice-/);
    // Bob pinning Alice's conversation id is refused by Dify's ownership rule.
    const pin = await request(h.app)
      .post('/v1/chat/completions')
      .set({ Authorization: 'Bearer key-a', 'X-Dify-Conversation-Id': convs[0]! })
      .send({ model: 'm', user: 'bob', messages: [{ role: 'user', content: 'let me in' }] });
    expect(pin.status).toBe(404);
    expect(pin.body.error.code).toBe('conversation_not_found');
  });

  it('X-Dify-Conversation-Id pins a conversation; responses carry it', async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake });
    const auth = { Authorization: `Bearer ${API_KEY}` };
    const first = await request(app).post('/v1/chat/completions').set(auth).send({ model: 'm', messages: [{ role: 'user', content: 'start' }] });
    const id = first.headers['x-dify-conversation-id'];
    expect(id).toBe(fake.runs[0]!.conversationId);
    const pinned = await request(app)
      .post('/v1/chat/completions')
      .set({ ...auth, 'X-Dify-Conversation-Id': id })
      .send({ model: 'm', messages: [{ role: 'user', content: 'fresh client, same conversation' }] });
    expect(pinned.status).toBe(200);
    expect(fake.runs[1]!.request.conversationId).toBe(id);
    expect(pinned.body.choices[0].message.content).toContain('turn 2;');
  });

  it("Open WebUI's forwarded user header separates its users like the body's user, and names the Dify end user", async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake });
    const auth = { Authorization: `Bearer ${API_KEY}` };
    const turn1 = [{ role: 'user', content: 'hi' }];
    const a1 = await request(app).post('/v1/chat/completions').set({ ...auth, 'X-OpenWebUI-User-Id': 'owui-alice' }).send({ model: 'm', messages: turn1 });
    const history = [...turn1, { role: 'assistant', content: a1.body.choices[0].message.content }, { role: 'user', content: 'more' }];
    // Bob replays Alice's exact history: a new conversation, not hers.
    await request(app).post('/v1/chat/completions').set({ ...auth, 'X-OpenWebUI-User-Id': 'owui-bob' }).send({ model: 'm', messages: history });
    await request(app).post('/v1/chat/completions').set({ ...auth, 'X-OpenWebUI-User-Id': 'owui-alice' }).send({ model: 'm', messages: history });
    expect(fake.runs[0]!.request.user).toMatch(/^owui-alice-/);
    expect(fake.runs[1]!.request.user).toMatch(/^owui-bob-/);
    expect(fake.runs[1]!.request.conversationId).toBeUndefined();
    expect(fake.runs[2]!.request.conversationId).toBe(fake.runs[0]!.conversationId);
  });

  it('a body conversation_id pins it too (gateways that cannot set headers), through openai-node and the Responses API', async () => {
    const fake = new FakeDifyApp();
    const h = await startHarness({ app: fake });
    try {
      const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
      const { response } = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'start' }] }).withResponse();
      const id = response.headers.get('x-dify-conversation-id')!;
      expect(id).toBe(fake.runs[0]!.conversationId);
      const pinned = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'elsewhere, same chat' }], conversation_id: id } as OpenAI.ChatCompletionCreateParamsNonStreaming);
      expect(fake.runs[1]!.request.conversationId).toBe(id);
      expect(pinned.choices[0]?.message.content).toContain('turn 2;');
      await client.responses.create({ model: 'm', input: 'and once more', conversation_id: id } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
      expect(fake.runs[2]!.request.conversationId).toBe(id);
      const bad = await request(h.app).post('/v1/chat/completions').set({ Authorization: `Bearer ${API_KEY}` }).send({ model: 'm', conversation_id: 42, messages: [{ role: 'user', content: 'x' }] });
      expect(bad.status).toBe(400);
      expect(bad.body.error.param).toBe('conversation_id');
    } finally {
      await h.close();
    }
  });

  it('a stored conversation Dify no longer knows starts over, seeded with the history', async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake });
    const auth = { Authorization: `Bearer ${API_KEY}` };
    const r1 = await request(app).post('/v1/chat/completions').set(auth).send({ model: 'm', messages: [{ role: 'user', content: 'one' }] });
    fake.conversations.clear(); // deleted in Dify
    const r2 = await request(app)
      .post('/v1/chat/completions')
      .set(auth)
      .send({ model: 'm', messages: [{ role: 'user', content: 'one' }, { role: 'assistant', content: r1.body.choices[0].message.content }, { role: 'user', content: 'two' }] });
    expect(r2.status).toBe(200);
    expect(fake.runs).toHaveLength(3);
    expect(fake.runs[2]!.request.conversationId).toBeUndefined();
    expect(fake.runs[2]!.request.query).toContain('<history>');
  });
});

describe('memory: history and last modes', () => {
  const messages = [
    { role: 'system', content: 'Sys.' },
    { role: 'user', content: 'first' },
    { role: 'assistant', content: 'reply' },
    { role: 'user', content: 'second' },
  ];
  it('history flattens every turn into a new conversation', async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake, settings: { memory_mode: 'history' } });
    await request(app).post('/v1/chat/completions').set({ Authorization: `Bearer ${API_KEY}` }).send({ model: 'm', messages });
    const q = fake.runs[0]!.request.query!;
    expect(fake.runs[0]!.request.conversationId).toBeUndefined();
    expect(q).toMatch(/^Sys\./);
    expect(q).toContain('User: first');
    expect(q).toContain('Assistant: reply');
    expect(q.endsWith('second')).toBe(true);
  });
  it('last sends only the last user message', async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake, settings: { memory_mode: 'last', system_prompt: 'ignore' } });
    await request(app).post('/v1/chat/completions').set({ Authorization: `Bearer ${API_KEY}` }).send({ model: 'm', messages });
    expect(fake.runs[0]!.request.query).toBe('second');
  });
  it('system prompt into an app input variable', async () => {
    const fake = new FakeDifyApp();
    const { app } = buildApp({ app: fake, settings: { system_prompt: 'input', system_prompt_variable: 'persona' } });
    await request(app).post('/v1/chat/completions').set({ Authorization: `Bearer ${API_KEY}` }).send({ model: 'm', messages: [messages[0], messages[1]] });
    expect(fake.runs[0]!.request.inputs.persona).toBe('Sys.');
    expect(fake.runs[0]!.request.query).toBe('first');
  });
});
