import { rmSync } from 'node:fs';

import { Writable } from 'node:stream';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv, type StandaloneConfig } from '../../src/standalone/config.js';
import { createStandaloneServer, type StandaloneServer } from '../../src/standalone/server.js';
import { startFakeDifyServiceApi, type FakeDifyServiceApi } from '../fakes/dify-service-api.js';
import { startRedis, tempDir, waitFor } from './helpers.js';

const CHAT_KEY = 'app-SECRETchat0000000000000001';
const FLOW_KEY = 'app-SECRETflow0000000000000002';
const AGENT_KEY = 'app-SECRETagent000000000000003';
const CLIENT_KEY = 'sk-client-SECRET-123456';

let fake: FakeDifyServiceApi;
const dirs: string[] = [];

function envConfig(extra: Record<string, string> = {}): StandaloneConfig {
  const dir = tempDir();
  dirs.push(dir);
  return configFromEnv({
    DIFY_API_BASE: fake.baseUrl,
    DIFY_API_KEYS: `${CHAT_KEY},${FLOW_KEY},${AGENT_KEY}`,
    VALID_API_KEYS: CLIENT_KEY,
    SERVER_PORT: '0',
    DATA_DIR: dir,
    LOG_LEVEL: 'info',
    ...extra,
  });
}

/** A server whose JSON log lines are captured. */
async function startServer(config: StandaloneConfig): Promise<{ server: StandaloneServer; logs: string[]; client: OpenAI }> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const server = await createStandaloneServer({ config, log: pino({ level: 'debug' }, sink) });
  await server.listen();
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
  return { server, logs, client };
}

beforeAll(async () => {
  fake = await startFakeDifyServiceApi({
    apps: [
      { key: CHAT_KEY, name: 'Support Bot', mode: 'chat' },
      { key: FLOW_KEY, name: 'Flow', mode: 'advanced-chat' },
      { key: AGENT_KEY, name: 'Agent', mode: 'agent-chat' },
    ],
  });
});
afterAll(async () => {
  await fake.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const chatCalls = () => fake.requests.filter((r) => r.path === '/v1/chat-messages');

describe('standalone server (env configuration, real openai client)', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    s = await startServer(envConfig());
  });
  afterAll(async () => {
    await s.server.close(1000);
  });
  afterEach(() => fake.reset());

  it('lists every configured app as a model named after the app', async () => {
    const models = await s.client.models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual(['Agent', 'Flow', 'Support Bot']);
  });

  it('answers through the model the client picked; unknown model -> 404 model_not_found', async () => {
    const answer = await s.client.chat.completions.create({ model: 'Flow', messages: [{ role: 'user', content: 'bonjour' }] });
    expect(answer.choices[0]?.message.content).toBe('Echo: bonjour');
    expect(chatCalls().at(-1)?.appName).toBe('Flow');
    const error = await s.client.chat.completions.create({ model: 'Nope', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_found');
  });

  it('streams UTF-8 intact when Dify splits characters across writes and pings in between', async () => {
    fake.script({ chunking: 'split-utf8', pingBetween: true, answer: '你好，世界！Grüße 🌍 done' });
    const stream = await s.client.chat.completions.create({ model: 'Support Bot', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('你好，世界！Grüße 🌍 done');
  });

  it('reads the legacy JSON style byte by byte', async () => {
    fake.script({ chunking: 'byte', legacyJson: true, crlf: true, answer: 'Ça marche — 好' });
    const stream = await s.client.chat.completions.create({ model: 'Support Bot', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Ça marche — 好');
  });

  it('turns an error event mid-stream into an error the client sees', async () => {
    fake.script({ errorAfterDeltas: 1, errorEvent: { code: 'completion_request_error', status: 400, message: 'model exploded' } });
    const stream = await s.client.chat.completions.create({ model: 'Support Bot', stream: true, messages: [{ role: 'user', content: 'boom please' }] });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(text).toBe('Echo: ');
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).toContain('model exploded');
  });

  it('maps an HTTP 429 before the stream to a 429 with retry-after', async () => {
    fake.script({ httpError: { status: 429, code: 'too_many_requests', message: 'Too many requests. Please try again later.', retryAfter: '3' } });
    const response = await fetch(`${s.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'Support Bot', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain('Too many requests');
    expect(chatCalls()).toHaveLength(1);
  });

  it('keeps users apart: the same history from another user never continues the first user\'s conversation', async () => {
    const first = await s.client.chat.completions.create({ model: 'Support Bot', user: 'alice', messages: [{ role: 'user', content: 'secret plan' }] });
    const history = [
      { role: 'user' as const, content: 'secret plan' },
      { role: 'assistant' as const, content: first.choices[0]!.message.content! },
      { role: 'user' as const, content: 'and then?' },
    ];
    await s.client.chat.completions.create({ model: 'Support Bot', user: 'alice', messages: history });
    await s.client.chat.completions.create({ model: 'Support Bot', user: 'mallory', messages: history });
    const calls = chatCalls();
    const [a1, a2, m1] = calls.map((r) => r.body!);
    expect(a2!.conversation_id).toBe(calls[0]!.conversationId);
    expect(calls[2]!.conversationId).not.toBe(calls[0]!.conversationId);
    expect(a2!.query).toBe('and then?');
    expect(m1!.conversation_id ?? '').toBe('');
    expect(m1!.user).not.toBe(a1!.user);
  });

  it('stops the Dify task within a second when the client goes away mid-stream', async () => {
    fake.script({ hangAfterFirst: true });
    const controller = new AbortController();
    const stream = await s.client.chat.completions.create({ model: 'Support Bot', stream: true, messages: [{ role: 'user', content: 'long story' }] }, { signal: controller.signal });
    const reading = (async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) break;
    })();
    await reading;
    const abortedAt = Date.now();
    controller.abort();
    await waitFor(() => fake.stops.length > 0, 1000, '/stop within 1 s');
    expect(fake.stops[0]!.at - abortedAt).toBeLessThan(1000);
    expect(fake.stops[0]!.user).toBe(chatCalls().at(-1)!.body!.user);
    await waitFor(() => s.server.metrics.openStreamCount === 0, 2000, 'stream closed');
  });

  it('a stop sequence ends the answer before it, stops the Dify task, and the chat continues from what the client saw', async () => {
    fake.script({ deltas: ['Thought: I should look', ' it up.\nObserv', 'ation: found it', ' and more', ' and more'], delayMs: 40 });
    const stopsBefore = fake.stops.length;
    const stream = await s.client.chat.completions.create({ model: 'Support Bot', stream: true, stop: ['\nObservation:'], stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'find it' }] });
    let text = '';
    const reasons: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) reasons.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Thought: I should look it up.');
    expect(reasons).toEqual(['stop']);
    expect(fake.stops.length).toBeGreaterThan(stopsBefore);
    // The stopped run still ended with message_end: its usage reaches the client.
    expect(usage).toMatchObject({ prompt_tokens: 21, completion_tokens: 17, total_tokens: 38 });
    const first = chatCalls().at(-1)!;
    const next = await s.client.chat.completions.create({
      model: 'Support Bot',
      messages: [{ role: 'user', content: 'find it' }, { role: 'assistant', content: text }, { role: 'user', content: 'Observation: it is on the shelf' }],
    });
    expect(next.choices[0]?.message.content).toBeTruthy();
    const second = chatCalls().at(-1)!;
    expect(second.body!.conversation_id).toBe(first.conversationId);
    expect(second.body!.query).toBe('Observation: it is on the shelf');
  });

  it('a stop sequence in a chatflow answer: the stopped workflow is not an error, and its usage arrives', async () => {
    fake.script({ deltas: ['Step 1. ', 'Step 2. ', 'END', ' and more', ' and more'], delayMs: 40 });
    const stream = await s.client.chat.completions.create({ model: 'Flow', stream: true, stop: ['END'], stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'plan' }] });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Step 1. Step 2. ');
    expect(usage?.total_tokens).toBeGreaterThan(0);
  });

  it('a stop sequence on a Dify whose stop API does not stop the run: the answer still ends within the wrap-up bound', async () => {
    fake.script({ deltas: ['Done.', ' STOP', ...Array.from({ length: 200 }, () => ' more')], delayMs: 50, ignoreStop: true });
    const answer = await s.client.chat.completions.create({ model: 'Agent', stop: ['STOP'], messages: [{ role: 'user', content: 'go' }] });
    expect(answer.choices[0]).toMatchObject({ message: { content: 'Done. ' }, finish_reason: 'stop' });
    // 200 more deltas at 50 ms would take 10 s: the bridge left the run after its 2 s wrap-up.
    await waitFor(() => fake.clientClosedStreams.length > 0, 1000, 'the bridge closes the upstream stream');
  });

  it('an error the run reports after the stop sequence does not fail the answer the client already has', async () => {
    fake.script({ deltas: ['Done.', ' STOP', ' more'], errorAfterDeltas: 3, ignoreStop: true });
    const stream = await s.client.chat.completions.create({ model: 'Support Bot', stream: true, stop: ['STOP'], messages: [{ role: 'user', content: 'go on' }] });
    let text = '';
    const reasons: string[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) reasons.push(chunk.choices[0].finish_reason);
    }
    expect(text).toBe('Done. ');
    expect(reasons).toEqual(['stop']);
  });

  it("lists the app's citations under the answer, streamed and not, and the chat still continues its Dify conversation", async () => {
    const retrieverResources = [
      { position: 1, dataset_id: 'ds1', dataset_name: 'HR', document_id: 'doc1', document_name: 'Leave policy.pdf', segment_id: 'seg1', score: 0.9, content: 'Employees get 25 days.' },
      { position: 2, dataset_id: 'ds1', dataset_name: 'HR', document_id: 'doc1', document_name: 'Leave policy.pdf', segment_id: 'seg2', score: 0.7, content: 'Carry-over rules.' },
    ];
    const sources = '\n\nSources:\n1. Leave policy.pdf (HR)';
    fake.script({ answer: '25 days.', retrieverResources });
    const whole = await s.client.chat.completions.create({ model: 'Support Bot', messages: [{ role: 'user', content: 'How much leave?' }] });
    expect(whole.choices[0]?.message.content).toBe('25 days.' + sources);

    fake.script({ answer: '25 days.', retrieverResources });
    const stream = await s.client.chat.completions.create({ model: 'Support Bot', stream: true, messages: [{ role: 'user', content: 'Leave days?' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('25 days.' + sources);
    const first = chatCalls().at(-1)!;

    await s.client.chat.completions.create({ model: 'Support Bot', messages: [{ role: 'user', content: 'Leave days?' }, { role: 'assistant', content: text }, { role: 'user', content: 'And sick days?' }] });
    expect(chatCalls().at(-1)!.body).toMatchObject({ conversation_id: first.conversationId, query: 'And sick days?' });
  });

  it('streams agent apps upstream even when the client does not stream', async () => {
    const answer = await s.client.chat.completions.create({ model: 'Agent', messages: [{ role: 'user', content: 'tools?' }] });
    expect(answer.choices[0]?.message.content).toBe('Echo: tools?');
    expect(chatCalls().at(-1)?.body?.response_mode).toBe('streaming');
  });

  it('hands image parts to Dify: http URLs as remote_url, data URLs uploaded with the same user', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').toString('base64');
    await s.client.chat.completions.create({
      model: 'Support Bot',
      user: 'vision-user',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is in these?' },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
          ],
        },
      ],
    });
    const call = chatCalls().at(-1)!;
    expect(fake.uploads).toHaveLength(1);
    expect(fake.uploads[0]).toMatchObject({ user: call.body!.user, mimeType: 'image/png', size: 16 });
    expect(call.body!.files).toEqual([
      { type: 'image', transfer_method: 'remote_url', url: 'https://example.com/cat.png' },
      { type: 'image', transfer_method: 'local_file', upload_file_id: fake.uploads[0]!.id },
    ]);
  });

  it('serves routes with and without /v1', async () => {
    const response = await fetch(`${s.server.url}/models`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    expect(response.status).toBe(200);
  });

  it('rejects a wrong client key with 401 in the OpenAI envelope', async () => {
    const bad = new OpenAI({ baseURL: `${s.server.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('answers 413 for bodies over 10 MiB, 400 for invalid JSON, 404 for unknown routes, all in the envelope', async () => {
    const big = await fetch(`${s.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'Support Bot', messages: [{ role: 'user', content: 'x'.repeat(10 * 1024 * 1024 + 10) }] }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
    const bad = await fetch(`${s.server.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' }, body: '{"model": ' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    const unknown = await fetch(`${s.server.url}/v1/embeddings-nope`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'unknown_url' } });
    expect(chatCalls()).toHaveLength(0);
  });

  it('reads JSON bodies sent chunked, gzip-compressed or in UTF-8 with a BOM; a chunked body over 10 MiB is 413', async () => {
    const { gzipSync } = await import('node:zlib');
    const { Readable } = await import('node:stream');
    const payload = JSON.stringify({ model: 'Support Bot', messages: [{ role: 'user', content: 'hello' }] });
    const headers = { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json; charset=utf-8' };
    const chunked = await fetch(`${s.server.url}/v1/chat/completions`, { method: 'POST', headers, body: Readable.toWeb(Readable.from([payload.slice(0, 9), payload.slice(9)])) as ReadableStream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(200);
    const gzip = await fetch(`${s.server.url}/v1/chat/completions`, { method: 'POST', headers: { ...headers, 'content-encoding': 'gzip' }, body: gzipSync(payload) });
    expect(gzip.status).toBe(200);
    const bom = await fetch(`${s.server.url}/v1/chat/completions`, { method: 'POST', headers, body: `\ufeff${payload}` });
    expect(bom.status).toBe(200);
    const calls = chatCalls().length;
    const part = 'x'.repeat(1024 * 1024);
    const big = await fetch(`${s.server.url}/v1/chat/completions`, { method: 'POST', headers, body: Readable.toWeb(Readable.from(Array.from({ length: 11 }, () => part))) as ReadableStream, duplex: 'half' } as RequestInit);
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
    expect(chatCalls()).toHaveLength(calls);
  });

  it('answers CORS preflights without auth', async () => {
    const response = await fetch(`${s.server.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(response.headers.get('access-control-allow-headers')).toContain('authorization');
  });

  it('serves the chat page at / and /healthz', async () => {
    const page = await fetch(`${s.server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const health = await fetch(`${s.server.url}/healthz`);
    expect(await health.json()).toMatchObject({ status: 'ok', apps: 3, store: 'sqlite' });
  });

  it('exposes Prometheus metrics: requests by route and status, latency, upstream errors, open streams', async () => {
    fake.script({ httpError: { status: 500, code: 'internal_server_error', message: 'boom' } });
    await s.client.chat.completions.create({ model: 'Support Bot', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined);
    const text = await (await fetch(`${s.server.url}/metrics`)).text();
    expect(text).toMatch(/dify_bridge_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="\d+"\} \d+/);
    expect(text).toMatch(/dify_bridge_http_request_duration_seconds_bucket\{route="\/v1\/chat\/completions",le="0.1"\} \d+/);
    expect(text).toMatch(/dify_bridge_upstream_errors_total\{kind="http_500"\} [1-9]/);
    expect(text).toMatch(/dify_bridge_open_streams 0/);
  });

  it('logs JSON lines with a request id and never an app key or a client key', async () => {
    fake.script({ httpError: { status: 401, code: 'unauthorized', message: 'Access token is invalid' } });
    const response = await fetch(`${s.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json', 'x-request-id': 'trace-abc-123' },
      body: JSON.stringify({ model: 'Support Bot', messages: [{ role: 'user', content: 'x' }] }),
    });
    const body = await response.text();
    expect(response.headers.get('x-request-id')).toBe('trace-abc-123');
    const logs = s.logs.join('');
    expect(logs).toContain('"reqId":"trace-abc-123"');
    for (const secret of [CHAT_KEY, FLOW_KEY, AGENT_KEY, CLIENT_KEY, 'SECRET']) {
      expect(logs).not.toContain(secret);
      expect(body).not.toContain(secret);
    }
    for (const line of s.logs) expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe('operations', () => {
  afterEach(() => fake.reset());

  it('rate-limits per client key with 429 and retry-after', async () => {
    const { server, client } = await startServer(envConfig({ RATE_LIMIT_RPM: '2' }));
    try {
      await client.models.list();
      await client.models.list();
      const error = await client.models.list().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect((error as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toMatch(/^\d+$/);
      const other = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-other', maxRetries: 0 });
      // Another key has its own budget (and is then refused for being wrong, not for the rate).
      await expect(other.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    } finally {
      await server.close(1000);
    }
  });

  it('sends no CORS headers to origins outside CORS_ORIGINS', async () => {
    const { server } = await startServer(envConfig({ CORS_ORIGINS: 'https://ok.example' }));
    try {
      const ok = await fetch(`${server.url}/v1/models`, { headers: { origin: 'https://ok.example', authorization: `Bearer ${CLIENT_KEY}` } });
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://ok.example');
      const evil = await fetch(`${server.url}/v1/models`, { headers: { origin: 'https://evil.example', authorization: `Bearer ${CLIENT_KEY}` } });
      expect(evil.headers.get('access-control-allow-origin')).toBeNull();
      const preflight = await fetch(`${server.url}/v1/models`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await server.close(1000);
    }
  });

  it('lets an open stream finish on shutdown and refuses new requests meanwhile', async () => {
    const { server, client } = await startServer(envConfig());
    fake.script({ deltas: ['one ', 'two ', 'three ', 'four'], delayMs: 150 });
    const stream = await client.chat.completions.create({ model: 'Support Bot', stream: true, messages: [{ role: 'user', content: 'count' }] });
    const iterator = stream[Symbol.asyncIterator]();
    let text = '';
    const first = await iterator.next();
    text += first.value?.choices[0]?.delta.content ?? '';
    const closing = server.close(10_000);
    await waitFor(async () => (await fetch(`${server.url}/healthz`).then((r) => r.status).catch(() => 0)) !== 200, 2000, 'shutdown visible');
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) text += r.value.choices[0]?.delta.content ?? '';
    await closing;
    expect(text).toBe('one two three four');
  });
});

describe('conversation memory across restarts and instances', () => {
  afterEach(() => fake.reset());

  async function twoTurns(first: OpenAI, second: OpenAI) {
    const turn1 = await first.chat.completions.create({ model: 'Support Bot', user: 'u-1', messages: [{ role: 'user', content: 'remember 42' }] });
    await second.chat.completions.create({
      model: 'Support Bot',
      user: 'u-1',
      messages: [
        { role: 'user', content: 'remember 42' },
        { role: 'assistant', content: turn1.choices[0]!.message.content! },
        { role: 'user', content: 'what number?' },
      ],
    });
    const [c1, c2] = chatCalls();
    return { c1: c1!, c2: c2! };
  }

  it('SQLite: a restarted server continues the conversation from its data file', async () => {
    const config = envConfig();
    const a = await startServer(config);
    const turn1 = await a.client.chat.completions.create({ model: 'Support Bot', user: 'u-1', messages: [{ role: 'user', content: 'remember 42' }] });
    await a.server.close(1000);
    const b = await startServer(config);
    try {
      await b.client.chat.completions.create({
        model: 'Support Bot',
        user: 'u-1',
        messages: [
          { role: 'user', content: 'remember 42' },
          { role: 'assistant', content: turn1.choices[0]!.message.content! },
          { role: 'user', content: 'what number?' },
        ],
      });
      const [c1, c2] = chatCalls();
      expect(c1!.conversationId).toBeTruthy();
      expect(c2!.body).toMatchObject({ conversation_id: c1!.conversationId, query: 'what number?' });
    } finally {
      await b.server.close(1000);
    }
  });

  it('Redis: two server instances sharing one Redis continue each other\'s conversations', async () => {
    const redis = await startRedis();
    try {
      const a = await startServer(envConfig({ REDIS_URL: redis.url }));
      const b = await startServer(envConfig({ REDIS_URL: redis.url }));
      try {
        const { c1, c2 } = await twoTurns(a.client, b.client);
        expect(c1.conversationId).toBeTruthy();
        expect(c2.body).toMatchObject({ conversation_id: c1.conversationId, query: 'what number?' });
        expect(await (await fetch(`${b.server.url}/healthz`)).json()).toMatchObject({ store: 'redis' });
      } finally {
        await a.server.close(1000);
        await b.server.close(1000);
      }
    } finally {
      await redis.stop();
    }
  });
});


