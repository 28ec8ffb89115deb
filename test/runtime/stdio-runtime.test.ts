// The runtime end to end over real pipes, driven by the daemon simulator.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildFixture } from './build-fixture.js';
import { startDaemon, type ReverseHandlers, type SimulatedDaemon } from '../daemon/simulator.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const reverse: ReverseHandlers = {
  async *app(request) {
    if (request['app_id'] === 'slow') {
      for (let i = 0; i < 50; i++) {
        yield { event: 'message', answer: `s${i}` };
        await sleep(20);
      }
      return;
    }
    if (request['response_mode'] === 'blocking') {
      yield { event: 'message', answer: `blocking answer to ${request['query']}`, conversation_id: 'c1', metadata: { usage: { total_tokens: 3 } } };
      return;
    }
    const n = Number(String(request['query']).match(/^n=(\d+)$/)?.[1] ?? 3);
    for (let i = 0; i < n; i++) {
      yield { event: 'message', answer: `a${i}`, conversation_id: 'c1', message_id: 'm1' };
      if (i % 7 === 0) await sleep(1);
    }
    yield { event: 'message_end', conversation_id: 'c1', metadata: { usage: { total_tokens: 5 } } };
  },
  async *llm(request) {
    if (request['model'] === 'broken') throw new Error('model broken is not configured');
    for (const piece of ['Hel', 'lo']) {
      await sleep(5);
      yield { model: 'm', delta: { index: 0, message: { role: 'assistant', content: piece, tool_calls: null }, usage: null, finish_reason: null }, prompt_messages: [] };
    }
    yield {
      model: 'm',
      delta: {
        index: 1,
        message: { role: 'assistant', content: '', tool_calls: null },
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, total_price: '0.0000048', prompt_unit_price: 0.15, currency: 'USD', latency: 0.5 },
        finish_reason: 'stop',
      },
      prompt_messages: [],
    };
  },
  async text_embedding(request) {
    await sleep(3);
    return { model: request['model'], embeddings: (request['texts'] as string[]).map((_, i) => [i, 0.5]), usage: { tokens: 2, total_tokens: 2, total_price: '0.00000008', currency: 'USD' } };
  },
  fetch_app: (request) => ({ data: { id: request['app_id'], name: 'App Nine', mode: 'chat' } }),
  upload_file: () => ({ url: 'https://files.example/upload?sig=1' }),
};

let daemon: SimulatedDaemon;
let bundle: string;

beforeAll(async () => {
  bundle = await buildFixture();
  daemon = await startDaemon({ command: process.execPath, args: [bundle], reverse, env: { HEARTBEAT_INTERVAL: '0.2' } });
  await daemon.waitForHeartbeat();
});

afterAll(async () => {
  await daemon?.close();
});

describe('endpoint requests', () => {
  test('a request is decoded and handed to the route with settings, endpoint id and params', async () => {
    const res = await daemon.invoke({
      method: 'POST',
      path: '/echo',
      query: 'b=2&a=1',
      headers: { Authorization: 'Bearer sk-1', 'Content-Type': 'application/octet-stream' },
      body: Buffer.from([0, 1, 2, 250]),
      settings: { api_key: 'k', app: { app_id: 'x' } },
    });
    expect(res.status).toBe(200);
    const echo = JSON.parse(res.body.toString());
    expect(echo.url).toBe('/echo?a=1&b=2');
    expect(echo.query).toEqual({ a: '1', b: '2' });
    expect(echo.headers.authorization).toBe('Bearer sk-1');
    expect(echo.headers['dify-hook-id']).toBe('abcd1234efgh5678');
    expect(echo.bodyHex).toBe('000102fa');
    expect(echo.settings).toEqual({ api_key: 'k', app: { app_id: 'x' } });
    expect(echo.endpointId).toBe('endpoint-simulated');
    expect(res.chunks).toBe(1);
    expect(res.headers['Content-Length']).toBe(String(res.body.length));
  });

  test('an empty POST body (sent chunked by the daemon) reaches the handler as empty', async () => {
    const res = await daemon.invoke({ method: 'POST', path: '/echo' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).bodyHex).toBe('');
  });

  test('a JSON body parses through express.json', async () => {
    const res = await daemon.invoke({ method: 'POST', path: '/json-in', headers: { 'Content-Type': 'application/json' }, body: '{"x":[1,2]}' });
    expect(JSON.parse(res.body.toString())).toEqual({ got: { x: [1, 2] } });
  });

  test('werkzeug params reach req.params and res.locals.dify.values', async () => {
    const items = JSON.parse((await daemon.invoke({ method: 'GET', path: '/items/42' })).body.toString());
    expect(items).toEqual({ params: { id: 42 }, values: { id: 42 } });
    const files = JSON.parse((await daemon.invoke({ method: 'GET', path: '/files/a/b/c.txt' })).body.toString());
    expect(files.values).toEqual({ rest: 'a/b/c.txt' });
    expect(JSON.parse((await daemon.invoke({ method: 'GET', path: '/users/me' })).body.toString())).toEqual({ me: true });
  });

  test('no match -> 404 text "Failed to dispatch endpoint request: ..."; strict slashes; wrong method', async () => {
    for (const [method, path] of [['GET', '/nope'], ['GET', '/strict'], ['GET', '/ping/'], ['POST', '/ping'], ['GET', '/items/x']] as const) {
      const res = await daemon.invoke({ method, path });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers['Content-Type']).toMatch(/^text\/plain/);
      expect(res.body.toString()).toMatch(/^Failed to dispatch endpoint request: /);
    }
    expect((await daemon.invoke({ method: 'GET', path: '/strict/' })).body.toString()).toBe('strict');
  });

  test('HEAD is served by the GET rule, without a body', async () => {
    const res = await daemon.invoke({ method: 'HEAD', path: '/ping' });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
    expect(res.headers['Content-Type']).toMatch(/json/);
  });

  test('a throwing handler -> 500 "Internal Server Error: <message>", sync or async', async () => {
    const sync = await daemon.invoke({ method: 'GET', path: '/throw' });
    expect(sync.status).toBe(500);
    expect(sync.body.toString()).toBe('Internal Server Error: boom');
    const asyncRes = await daemon.invoke({ method: 'POST', path: '/async-throw' });
    expect(asyncRes.status).toBe(500);
    expect(asyncRes.body.toString()).toBe('Internal Server Error: async boom');
  });

  test('invalid JSON for express.json keeps body-parser status 400', async () => {
    const res = await daemon.invoke({ method: 'POST', path: '/json-in', headers: { 'Content-Type': 'application/json' }, body: '{bad' });
    expect(res.status).toBe(400);
  });

  test('a 3 MiB body arrives byte-exact in <= 1 MiB chunks', async () => {
    const size = 3 * 1024 * 1024 + 17;
    const res = await daemon.invoke({ method: 'GET', path: '/big', query: `size=${size}` });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(size);
    for (let i = 0; i < size; i += 99_991) expect(res.body[i]).toBe(i % 251);
    expect(res.chunks).toBe(4);
    expect(res.truncated).toBe(false);
  });

  test('a 9 MiB request body (an 18 MiB stdin line) is read whole', async () => {
    const body = Buffer.alloc(9 * 1024 * 1024, 0x61);
    const res = await daemon.invoke({ method: 'POST', path: '/echo', body, headers: { 'Content-Type': 'application/octet-stream' } });
    expect(res.status).toBe(200);
    const echo = JSON.parse(res.body.toString());
    expect(echo.bodyHex.length).toBe(body.length * 2);
  });
});

describe('streaming responses', () => {
  test('a 2,000-event SSE answer arrives byte-exact in far fewer than 128 chunks', async () => {
    const res = await daemon.invoke({ method: 'GET', path: '/sse', query: 'n=2000' });
    expect(res.status).toBe(200);
    expect(res.headers['Content-Type']).toMatch(/^text\/event-stream/);
    const expected = Array.from({ length: 2000 }, (_, i) => `data: {"n":${i},"text":"token ${i}"}\n\n`).join('') + 'data: [DONE]\n\n';
    expect(res.body.toString()).toBe(expected);
    expect(res.chunks).toBeLessThan(64);
    expect(res.dropped).toBe(0);
  });

  test('a slowly streamed SSE answer read by a slow client loses nothing (no 128-chunk overflow)', async () => {
    const res = await daemon.invoke({ method: 'GET', path: '/sse', query: 'n=300&delay=1' }, { clientChunkDelayMs: 5 });
    expect(res.dropped).toBe(0);
    expect(res.body.toString().split('\n\n').filter(Boolean)).toHaveLength(301);
  });

  test('the first token leaves before the stream ends (its own chunk, 300 ms ahead of the rest)', async () => {
    const res = await daemon.invoke({ method: 'GET', path: '/slow' });
    expect(res.body.toString()).toBe('first;second');
    expect(res.chunks).toBe(2);
  });

  test('an instant upstream (3 writes + end within a few ticks) survives the truncation race', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await daemon.invoke({ method: 'GET', path: '/instant-stream' });
      expect(res.truncated).toBe(false);
      expect(res.body.toString()).toBe('data: 1\n\ndata: 2\n\ndata: 3\n\n');
    }
  });

  test('several sessions run concurrently and stay apart', async () => {
    const results = await Promise.all([
      daemon.invoke({ method: 'GET', path: '/slow' }),
      daemon.invoke({ method: 'GET', path: '/sse', query: 'n=500' }),
      ...Array.from({ length: 20 }, (_, i) => daemon.invoke({ method: 'GET', path: `/items/${i}` })),
    ]);
    expect(results[0]!.body.toString()).toBe('first;second');
    expect(results[1]!.body.toString().split('\n\n').filter(Boolean)).toHaveLength(501);
    results.slice(2).forEach((r, i) => expect(JSON.parse(r.body.toString()).values).toEqual({ id: i }));
  });
});

describe('reverse invocation', () => {
  test('an app stream is relayed event by event', async () => {
    const res = await daemon.invoke({ method: 'POST', path: '/app', headers: { 'Content-Type': 'application/json' }, body: '{"query":"n=20"}', settings: { app: { app_id: 'app-7' } } });
    const events = res.body.toString().split('\n\n').filter(Boolean);
    expect(events).toHaveLength(22);
    expect(JSON.parse(events[0]!.slice(6))).toEqual({ answer: 'a0', conversation_id: 'c1', event: 'message', message_id: 'm1' });
    expect(events.at(-1)).toBe('data: [DONE]');
    const call = daemon.reverseCalls.findLast((c) => c.type === 'app')!;
    expect(call.request).toMatchObject({ app_id: 'app-7', query: 'n=20', response_mode: 'streaming', inputs: {}, conversation_id: null, user: null });
  });

  test('a blocking app call resolves to the single object', async () => {
    const res = await daemon.invoke({ method: 'POST', path: '/app', headers: { 'Content-Type': 'application/json' }, body: '{"query":"hi","blocking":true}' });
    expect(JSON.parse(res.body.toString())).toMatchObject({ answer: 'blocking answer to hi', conversation_id: 'c1' });
  });

  test('several calls in flight on one session are correlated by backwards_request_id', async () => {
    const res = await daemon.invoke({ method: 'POST', path: '/multi' });
    expect(res.status).toBe(200);
    const out = JSON.parse(res.body.toString());
    expect(out.llm.text).toBe('Hello');
    expect(out.llm.usage).toMatchObject({ total_tokens: 5, total_price: '0.0000048', prompt_unit_price: '0.15', completion_price: '0' });
    expect(out.app).toBe('a0a1a2message_end');
    expect(out.embedding).toMatchObject({ model: 'e', embeddings: [[0, 0.5], [1, 0.5]], usage: { tokens: 2, total_price: '0.00000008' } });
  });

  test('storage: hex on the wire, Buffer/string in the API, missing keys are null, del of a missing key is fine', async () => {
    const res = await daemon.invoke({ method: 'POST', path: '/storage' });
    expect(JSON.parse(res.body.toString())).toEqual({
      missingGet: null,
      existBefore: false,
      get1: 'hello ✓',
      get2: '000102ff',
      existAfter: true,
      existDeleted: false,
      badKey: 'StorageKeyError',
    });
    expect(daemon.storage.get('k2')).toEqual(Buffer.from([0, 1, 2, 255]));
    const set = daemon.reverseCalls.find((c) => c.type === 'storage' && c.request['opt'] === 'set')!;
    expect(set.request['value']).toBe(Buffer.from('hello ✓').toString('hex'));
    expect(daemon.reverseCalls.some((c) => c.request['key'] === '../escape')).toBe(false);
  });

  test('a daemon error event becomes a thrown error with its message', async () => {
    const res = await daemon.invoke({ method: 'POST', path: '/reverse-error' });
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body.toString())).toEqual({ error: 'model broken is not configured', name: 'ReverseInvocationError' });
  });

  test('aborting the signal stops the iteration', async () => {
    const res = await daemon.invoke({ method: 'POST', path: '/reverse-abort' });
    expect(JSON.parse(res.body.toString())).toMatchObject({ seen: ['s0', 's1'], aborted: true, name: 'AbortError' });
  });

  test('fetch_app and upload_file', async () => {
    const res = await daemon.invoke({ method: 'POST', path: '/misc' });
    expect(JSON.parse(res.body.toString())).toEqual({ app: { id: 'app-9', name: 'App Nine', mode: 'chat' }, file: { url: 'https://files.example/upload?sig=1' } });
  });
});

describe('line limit (the daemon kills the plugin on a stdout line over 5 MiB)', () => {
  const bigLine = (body: Record<string, unknown>) =>
    daemon.invoke({ method: 'POST', path: '/big-line', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  test('a reverse invocation over the limit is not sent: ReverseInvocationTooLargeError with size and limit, the process lives on', async () => {
    const callsBefore = daemon.reverseCalls.length;
    const res = await bigLine({ size: 5 * 1024 * 1024 });
    expect(res.status).toBe(413);
    const err = JSON.parse(res.body.toString());
    expect(err).toMatchObject({ name: 'ReverseInvocationTooLargeError', isError: true, limit: 5 * 1024 * 1024 - 64 * 1024 });
    expect(err.size).toBeGreaterThan(5 * 1024 * 1024);
    expect(err.message).toContain(String(err.size));
    expect(err.message).toContain(String(err.limit));
    expect(err.message).not.toContain('qqqq');
    expect(daemon.reverseCalls.length).toBe(callsBefore);
    expect(daemon.child.exitCode).toBeNull();
    expect((await daemon.invoke({ method: 'GET', path: '/ping' })).status).toBe(200);
  });

  test('a reverse invocation just under the limit is sent', async () => {
    const res = await bigLine({ size: 4 * 1024 * 1024 });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({ sent: true });
    expect(daemon.reverseCalls.at(-1)!.request['query']).toHaveLength(4 * 1024 * 1024);
  });

  test('a 6 MiB console.log becomes a shortened log event, not a fatal line', async () => {
    const res = await bigLine({ kind: 'log', size: 6 * 1024 * 1024 });
    expect(res.status).toBe(200);
    const log = daemon.logs.findLast((l) => l.message.startsWith('xxxx'))!;
    expect(log.message.length).toBeLessThan(100 * 1024);
    expect(log.message).toMatch(/characters cut\]$/);
    expect(daemon.child.exitCode).toBeNull();
  });

  test('a response head over the limit fails that session only', async () => {
    const res = await bigLine({ kind: 'header', size: 6 * 1024 * 1024 });
    expect(res.status).toBe(500);
    expect(res.error?.message).toMatch(/exceeds the \d+-byte line limit/);
    expect((await daemon.invoke({ method: 'GET', path: '/ping' })).status).toBe(200);
    expect(daemon.protocolViolations).toEqual([]);
  });
});

describe('hostile input', () => {
  test('bad hex -> session error then end; the runtime keeps serving', async () => {
    const res = await daemon.invoke({ method: 'GET', path: '/' }, { rawHex: 'zz12' });
    expect(res.status).toBe(500);
    expect(res.error).toMatchObject({ error_type: 'InvalidHTTPRequest' });
    expect((await daemon.invoke({ method: 'GET', path: '/ping' })).status).toBe(200);
  });

  test('malformed HTTP and ambiguous framing -> error then end', async () => {
    for (const raw of ['NOT HTTP\r\n\r\n', 'POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'GET / HTTP/1.1\r\nBad Header: x\r\n\r\n']) {
      const res = await daemon.invoke({ method: 'GET', path: '/' }, { rawHex: Buffer.from(raw).toString('hex') });
      expect(res.status).toBe(500);
      expect(res.error?.error_type).toBe('InvalidHTTPRequest');
    }
  });

  test('an unknown type/action -> error then end', async () => {
    const res = await daemon.invoke({ method: 'GET', path: '/' }, { rawData: { type: 'tool', action: 'invoke_tool', user_id: '' } });
    expect(res.error).toMatchObject({ error_type: 'NotSupportedError' });
  });

  test('garbage lines on stdin are ignored', async () => {
    daemon.writeRaw('this is not json\n{"event":"mystery"}\n\n{"event":"backwards_response","session_id":"nope","data":{}}\n');
    expect((await daemon.invoke({ method: 'GET', path: '/ping' })).status).toBe(200);
  });

  test('a stray exception or rejection outside a handler is logged, not fatal', async () => {
    expect((await daemon.invoke({ method: 'GET', path: '/stray' })).status).toBe(200);
    await sleep(30);
    expect((await daemon.invoke({ method: 'GET', path: '/ping' })).status).toBe(200);
    const messages = daemon.logs.map((l) => l.message);
    expect(messages).toContain('uncaught exception: Error: stray timer error');
    expect(messages).toContain('unhandled rejection: Error: stray rejection');
  });

  test('a reverse invocation for an unsupported type fails the call, not the runtime', async () => {
    const res = await daemon.invoke({ method: 'POST', path: '/reverse-error' });
    expect(res.status).toBe(502);
  });
});

describe('process hygiene', () => {
  test('console.* and process.stdout.write never reach stdout as raw text', async () => {
    const res = await daemon.invoke({ method: 'GET', path: '/console' });
    expect(res.body.toString()).toBe('ok');
    await sleep(50);
    expect(daemon.logs.some((l) => l.level === 'INFO' && l.message === 'hello from console.log')).toBe(true);
    expect(daemon.logs.some((l) => l.level === 'ERROR' && l.message === 'hello from console.error')).toBe(true);
    expect(daemon.stderr).toContain('raw stdout write');
    expect(daemon.protocolViolations).toEqual([]);
  });

  test('heartbeats keep coming at HEARTBEAT_INTERVAL', async () => {
    const before = daemon.heartbeats;
    await sleep(700);
    expect(daemon.heartbeats - before).toBeGreaterThanOrEqual(2);
  });

  test('the whole run produced no protocol violations', () => {
    expect(daemon.protocolViolations).toEqual([]);
  });
});
