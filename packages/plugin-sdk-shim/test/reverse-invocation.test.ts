import { describe, expect, test } from 'vitest';
import { ReverseChannel, ReverseInvocationError, ReverseInvocationTimeoutError, ReverseInvocationTooLargeError, SessionFinishedError } from '../src/reverse-invocation.js';
import { readConfig } from '../src/config.js';
import { createDifySession, StorageKeyError } from '../src/session.js';

function channel(timeoutMs = 1000) {
  const sent: any[] = [];
  const ch = new ReverseChannel('s1', (line) => sent.push(JSON.parse(line)), timeoutMs);
  const invokes = () => sent.map((m) => m.data.data);
  const respond = (id: string, event: 'response' | 'error' | 'end', data: unknown = null, message = '') =>
    ch.deliver({ backwards_request_id: id, event, message, data });
  return { ch, sent, invokes, respond };
}

async function collect(it: AsyncIterable<unknown>) {
  const out: unknown[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('reverse invocation channel', () => {
  test('the invoke line carries type, a unique backwards_request_id and the request', () => {
    const { ch, sent } = channel();
    ch.invoke('app', { app_id: 'a' });
    ch.invoke('app', { app_id: 'b' });
    expect(sent[0]).toMatchObject({ event: 'session', session_id: 's1', data: { type: 'invoke', data: { type: 'app', request: { app_id: 'a' } } } });
    expect(sent[0].data.data.backwards_request_id).not.toBe(sent[1].data.data.backwards_request_id);
  });

  test('several calls in flight get their own responses, in any interleaving', async () => {
    const { ch, invokes, respond } = channel();
    const a = collect(ch.invoke('llm', {}));
    const b = collect(ch.invoke('app', {}));
    const [ia, ib] = invokes().map((i) => i.backwards_request_id);
    respond(ib, 'response', { n: 'b1' });
    respond(ia, 'response', { n: 'a1' });
    respond(ib, 'response', { n: 'b2' });
    respond(ia, 'end');
    respond(ib, 'end');
    expect(await a).toEqual([{ n: 'a1' }]);
    expect(await b).toEqual([{ n: 'b1' }, { n: 'b2' }]);
    expect(ch.inFlight).toBe(0);
  });

  test('a daemon error becomes a thrown ReverseInvocationError with its message', async () => {
    const { ch, invokes, respond } = channel();
    const p = collect(ch.invoke('llm', {}));
    respond(invokes()[0].backwards_request_id, 'error', null, 'permission denied, you need to enable llm access in plugin manifest');
    await expect(p).rejects.toThrow(new ReverseInvocationError('permission denied, you need to enable llm access in plugin manifest', 'llm'));
  });

  test('the idle timeout fails a silent call (and restarts with every response)', async () => {
    const { ch, invokes, respond } = channel(60);
    const p = collect(ch.invoke('app', {}));
    const id = invokes()[0].backwards_request_id;
    await new Promise((r) => setTimeout(r, 40));
    respond(id, 'response', { x: 1 });
    await new Promise((r) => setTimeout(r, 40));
    respond(id, 'response', { x: 2 });
    await expect(p).rejects.toBeInstanceOf(ReverseInvocationTimeoutError);
  });

  test('aborting the signal stops the iteration; late responses are dropped', async () => {
    const { ch, invokes, respond } = channel();
    const controller = new AbortController();
    const it = ch.invoke('app', {}, { signal: controller.signal });
    const id = invokes()[0].backwards_request_id;
    respond(id, 'response', { x: 1 });
    expect((await it.next()).value).toEqual({ x: 1 });
    controller.abort();
    await expect(it.next()).rejects.toMatchObject({ name: 'AbortError' });
    respond(id, 'response', { x: 2 });
    expect(ch.inFlight).toBe(0);
  });

  test('closing the session fails every waiting call', async () => {
    const { ch } = channel();
    const p = collect(ch.invoke('app', {}));
    ch.close(new Error('session ended'));
    await expect(p).rejects.toThrow('session ended');
    await expect(collect(ch.invoke('app', {}))).rejects.toThrow('session ended');
  });
});

describe('session API parsing', () => {
  function session() {
    const c = channel();
    return { ...c, session: createDifySession('s1', c.ch, new AbortController().signal) };
  }

  test('LLM chunks: prices as strings or numbers, null lists, keys in any order', async () => {
    const { session: s, invokes, respond } = session();
    const p = collect(s.invokeLlm({ provider: 'p', model: 'm', mode: 'chat', prompt_messages: [{ role: 'user', content: 'hi' }] }));
    const id = invokes()[0].backwards_request_id;
    expect(invokes()[0].request).toMatchObject({ model_type: 'llm', stream: true, provider: 'p' });
    respond(id, 'response', { prompt_messages: [], delta: { finish_reason: null, usage: null, message: { tool_calls: null, content: 'Hi', role: 'assistant' }, index: 0 }, model: 'm' });
    respond(id, 'response', {
      model: 'm',
      delta: { index: 1, message: { role: 'assistant', content: '', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'tool_calls', usage: { prompt_tokens: 1, completion_tokens: '2', total_tokens: 3, total_price: 0.0000048, prompt_unit_price: '0.6', currency: 'USD', latency: 0.1 } },
    });
    respond(id, 'end');
    const [a, b] = (await p) as any[];
    expect(a.delta.message.tool_calls).toEqual([]);
    expect(a.delta.message.content).toBe('Hi');
    expect(b.delta.message.tool_calls[0].function.name).toBe('f');
    expect(b.delta.usage).toMatchObject({ completion_tokens: 2, total_price: '0.0000048', prompt_unit_price: '0.6', completion_price: '0' });
  });

  test('text embedding and blocking app calls resolve to one object', async () => {
    const { session: s, invokes, respond } = session();
    const e = s.invokeTextEmbedding({ provider: 'p', model: 'e', texts: ['a'], input_type: 'document' });
    const a = s.invokeApp({ app_id: 'x', query: 'q', response_mode: 'blocking' });
    const [ie, ia] = invokes().map((i) => i.backwards_request_id);
    respond(ie, 'response', { model: 'e', embeddings: [[0.1, 0.2]], usage: { tokens: 1, total_price: '0.1' } });
    respond(ie, 'end');
    respond(ia, 'response', { event: 'message', answer: 'A' });
    respond(ia, 'end');
    expect(await e).toMatchObject({ embeddings: [[0.1, 0.2]], usage: { tokens: 1, total_price: '0.1' } });
    expect(await a).toEqual({ event: 'message', answer: 'A' });
    expect(invokes()[1].request).toEqual({ app_id: 'x', inputs: {}, query: 'q', response_mode: 'blocking', conversation_id: null, user: null });
  });

  test('storage keys are checked before anything is sent', async () => {
    const { session: s, sent } = session();
    for (const key of ['a..b', 'a//b', 'a\\b', 'x'.repeat(257), '']) await expect(s.storage.get(key)).rejects.toBeInstanceOf(StorageKeyError);
    expect(sent).toHaveLength(0);
  });
});

describe('line limit and finished sessions', () => {
  test('an invoke line over the limit is not written; the call rejects with ReverseInvocationTooLargeError (size, limit, no payload)', async () => {
    const sent: string[] = [];
    const ch = new ReverseChannel('s1', (line) => sent.push(line), 1000, 1000);
    const session = createDifySession('s1', ch, new AbortController().signal);
    const err = await session.invokeApp({ app_id: 'a', query: 'secret'.repeat(200), response_mode: 'blocking' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReverseInvocationTooLargeError);
    expect(err).toBeInstanceOf(ReverseInvocationError);
    const e = err as ReverseInvocationTooLargeError;
    expect(e.name).toBe('ReverseInvocationTooLargeError');
    expect(e.limit).toBe(1000);
    expect(e.size).toBeGreaterThan(1200);
    expect(e.message).toContain(`${e.size} bytes`);
    expect(e.message).toContain('1000-byte');
    expect(e.message).not.toContain('secret');
    expect(sent).toEqual([]);
    expect(ch.inFlight).toBe(0);
    // multi-byte text counts in UTF-8 bytes
    const streaming = ch.invoke('llm', { text: 'é'.repeat(450) });
    await expect(streaming.next()).rejects.toThrow(ReverseInvocationTooLargeError);
    ch.invoke('llm', { text: 'small' });
    expect(sent).toHaveLength(1);
  });

  test('PLUGIN_RUNTIME_MAX_LINE_BYTES sets the limit (default 5 MiB - 64 KiB, never above 5 MiB)', () => {
    expect(readConfig({}).maxLineBytes).toBe(5 * 1024 * 1024 - 64 * 1024);
    expect(readConfig({ PLUGIN_RUNTIME_MAX_LINE_BYTES: '1048576' }).maxLineBytes).toBe(1048576);
    expect(readConfig({ PLUGIN_RUNTIME_MAX_LINE_BYTES: '99999999' }).maxLineBytes).toBe(5 * 1024 * 1024);
    expect(readConfig({ PLUGIN_RUNTIME_MAX_LINE_BYTES: 'x' }).maxLineBytes).toBe(5 * 1024 * 1024 - 64 * 1024);
  });

  test('after refuseNew, new calls fail with SessionFinishedError and write nothing; calls in flight go on', async () => {
    const { ch, sent, respond } = channel();
    const first = collect(ch.invoke('app', {}));
    const id = sent[0].data.data.backwards_request_id;
    ch.refuseNew(new SessionFinishedError('the endpoint response has finished', 'session'));
    await expect(collect(ch.invoke('app', {}))).rejects.toThrow(SessionFinishedError);
    expect(sent).toHaveLength(1);
    respond(id, 'response', { a: 1 });
    respond(id, 'end');
    expect(await first).toEqual([{ a: 1 }]);
  });
});

