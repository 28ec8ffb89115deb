// The simulator's own fidelity: the daemon traps it must reproduce so runtime tests can fail.
import { describe, expect, test } from 'vitest';
import { DaemonCore, buildRawHttpRequest, goEncodeQuery, canonicalHeaderKey } from './simulator.js';

/** `send(line, at)`: `at` fixes the arrival time (hand-timed races); default now. */
function fakePlugin(respond: (sessionId: string, send: (line: object, at?: number) => void) => void) {
  const out: string[] = [];
  let core!: DaemonCore;
  core = new DaemonCore(
    (line) => {
      out.push(line);
      const msg = JSON.parse(line);
      if (msg.event === 'request') respond(msg.session_id, (m, at) => core.handleLine(Buffer.from(JSON.stringify(m)), at ?? performance.now()));
    },
    {},
    undefined,
    false,
  );
  return core;
}

const chunk = (id: string, data: object) => ({ event: 'session', session_id: id, data: { type: 'stream', data } });
const end = (id: string) => ({ event: 'session', session_id: id, data: { type: 'end', data: {} } });
const hex = (s: string) => Buffer.from(s).toString('hex');

describe('daemon simulator fidelity', () => {
  test('chunks + end arriving within ~1 ms are truncated to the first chunk', async () => {
    const core = fakePlugin((id, send) => {
      const t = performance.now();
      send(chunk(id, { status: 200, headers: { 'Content-Type': 'text/plain' }, result: hex('a') }), t);
      send(chunk(id, { result: hex('b') }), t + 0.2);
      send(chunk(id, { result: hex('c') }), t + 0.3);
      send(end(id), t + 0.5);
    });
    const res = await core.invoke({ method: 'GET', path: '/' });
    expect(res.truncated).toBe(true);
    expect(res.body.toString()).toBe('a');
  });

  test('the same chunks with end >= 1 ms after the first body chunk arrive whole', async () => {
    const core = fakePlugin((id, send) => {
      const t = performance.now();
      send(chunk(id, { status: 200, result: hex('a') }), t);
      send(chunk(id, { result: hex('b') }), t + 0.2);
      send(end(id), t + 5);
    });
    const res = await core.invoke({ method: 'GET', path: '/' });
    expect(res.truncated).toBe(false);
    expect(res.body.toString()).toBe('ab');
  });

  test('chunks beyond 128 pending are dropped when the client reads slowly', async () => {
    const core = fakePlugin((id, send) => {
      send(chunk(id, { status: 200, result: hex('first') }));
      setTimeout(() => {
        for (let i = 0; i < 200; i++) send(chunk(id, { result: hex('x') }));
        send(end(id));
      }, 5);
    });
    const res = await core.invoke({ method: 'GET', path: '/' }, { clientChunkDelayMs: 1 });
    expect(res.dropped).toBe(200 - 128);
    expect(res.body.length).toBe(5 + 128);
  });

  test('status defaults to 100, headers keep one value per name, error before body -> 500 JSON', async () => {
    const noStatus = fakePlugin((id, send) => {
      send(chunk(id, { headers: { 'X-A': '1' }, result: '' }));
      setTimeout(() => send(end(id)), 5);
    });
    expect((await noStatus.invoke({ method: 'GET', path: '/' })).status).toBe(100);
    const failing = fakePlugin((id, send) => {
      send({ event: 'session', session_id: id, data: { type: 'error', data: { error_type: 'X', message: 'nope', args: {} } } });
      send(end(id));
    });
    const res = await failing.invoke({ method: 'GET', path: '/' });
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body.toString())).toMatchObject({ message: 'nope' });
  });

  test('non-JSON stdout lines are flagged as protocol violations', () => {
    const core = new DaemonCore(() => {});
    core.handleLine(Buffer.from('hello world'));
    core.handleLine(Buffer.from('{"event":"heartbeat","session_id":null,"data":{}}'));
    expect(core.protocolViolations).toHaveLength(1);
    expect(core.heartbeats).toBe(1);
  });

  test('requests are rebuilt like Go Request.Write', () => {
    const raw = buildRawHttpRequest({
      method: 'POST',
      path: '/chat/completions',
      query: 'b=2&a=1 2',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x', 'X-Real-IP': '1.1.1.1', 'user-agent': 'curl/8' },
      body: '{"x":1}',
      host: 'dify.example.com',
    }).toString();
    expect(raw).toBe(
      'POST /chat/completions?a=1+2&b=2 HTTP/1.1\r\nHost: dify.example.com\r\nUser-Agent: curl/8\r\nContent-Length: 7\r\n' +
        'Authorization: Bearer x\r\nContent-Type: application/json\r\nDify-Hook-Id: abcd1234efgh5678\r\n' +
        'Dify-Hook-Url: http://dify.example.com/e/abcd1234efgh5678/chat/completions\r\n\r\n{"x":1}',
    );
    expect(buildRawHttpRequest({ method: 'POST', path: '/x' }).toString()).toContain('Transfer-Encoding: chunked\r\n');
    expect(buildRawHttpRequest({ method: 'POST', path: '/x' }).toString().endsWith('\r\n\r\n0\r\n\r\n')).toBe(true);
    expect(buildRawHttpRequest({ method: 'GET', path: '/x' }).toString()).not.toMatch(/Content-Length|Transfer-Encoding/);
    expect(goEncodeQuery('z=1&a=%2F&a=b')).toBe('a=%2F&a=b&z=1');
    expect(canonicalHeaderKey('x-custom-HEADER')).toBe('X-Custom-Header');
  });

  test('no backwards_response after the session finished (plugin end) or was cancelled (client gone); later plugin lines for it are dropped', async () => {
    const written: any[] = [];
    let release!: () => void;
    const parked = new Promise<void>((resolve) => (release = resolve));
    let core!: DaemonCore;
    core = new DaemonCore(
      (line) => written.push(JSON.parse(line)),
      {
        async *app() {
          yield { event: 'message', answer: 'first' };
          await parked;
          yield { event: 'message', answer: 'late' };
        },
      },
      undefined,
      false,
    );
    const outputs = () => ({ start() {}, write() {}, end() {}, fail() {} });
    const invokeLine = (id: string, rid: string) =>
      Buffer.from(JSON.stringify({ event: 'session', session_id: id, data: { type: 'invoke', data: { type: 'app', backwards_request_id: rid, request: { app_id: 'a' } } } }));
    const ended = core.startSession({ method: 'GET', path: '/' }, outputs());
    const cancelled = core.startSession({ method: 'GET', path: '/' }, outputs());
    core.handleLine(invokeLine(ended.sessionId, 'r1'));
    core.handleLine(invokeLine(cancelled.sessionId, 'r2'));
    await new Promise((r) => setTimeout(r, 5));
    core.handleLine(Buffer.from(JSON.stringify(chunk(ended.sessionId, { status: 200, result: hex('x') }))));
    core.handleLine(Buffer.from(JSON.stringify(end(ended.sessionId))));
    core.cancelSession(cancelled.sessionId);
    await cancelled.finished;
    release();
    await new Promise((r) => setTimeout(r, 5));
    const backwards = (rid: string) => written.filter((m) => m.event === 'backwards_response' && m.data.backwards_request_id === rid).map((m) => m.data.data?.answer ?? m.data.event);
    expect(backwards('r1')).toEqual(['first']);
    expect(backwards('r2')).toEqual(['first']);
    // a later invoke for the cancelled session is dropped: no reverse call, nothing written
    const calls = core.reverseCalls.length;
    core.handleLine(invokeLine(cancelled.sessionId, 'r3'));
    await new Promise((r) => setTimeout(r, 5));
    expect(core.reverseCalls.length).toBe(calls);
    expect(backwards('r3')).toEqual([]);
  });
});
