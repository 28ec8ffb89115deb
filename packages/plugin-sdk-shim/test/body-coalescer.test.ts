import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { BodyCoalescer, type ChunkSink } from '../src/body-coalescer.js';

interface Sent {
  at: number;
  status?: number;
  headers?: Record<string, string>;
  body?: Buffer;
  end?: true;
}

function recordingSink() {
  const sent: Sent[] = [];
  let writable = true;
  let drainListeners: Array<() => void> = [];
  const sink: ChunkSink = {
    sendChunk: (c, last) => {
      sent.push({ at: performance.now(), ...c });
      if (last) sent.push({ at: performance.now(), end: true });
    },
    sendEnd: () => void sent.push({ at: performance.now(), end: true }),
    get writable() {
      return writable;
    },
    onDrain: (l) => void drainListeners.push(l),
  };
  return {
    sink,
    sent,
    congest: () => (writable = false),
    drain: () => {
      writable = true;
      const ls = drainListeners;
      drainListeners = [];
      for (const l of ls) l();
    },
    body: () => Buffer.concat(sent.filter((s) => s.body).map((s) => s.body!)),
    ended: async () => {
      await vi.runAllTimersAsync();
      expect(sent.some((x) => x.end)).toBe(true);
    },
  };
}

// fake clock: the coalescer's deadlines are asserted exactly, whatever the machine's load
const sleep = (ms: number) => vi.advanceTimersByTimeAsync(ms);
const tick = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});
const head = { status: 200, headers: { 'Content-Type': 'application/json' } };

describe('body coalescer', () => {
  test('a body complete before it is sent leaves as ONE chunk with status, headers and Content-Length', async () => {
    const s = recordingSink();
    const c = new BodyCoalescer(s.sink);
    c.setHead(head);
    c.write(Buffer.from('{"a":'));
    c.write(Buffer.from('1}'));
    c.end();
    await s.ended();
    expect(s.sent).toHaveLength(2);
    expect(s.sent[0]).toMatchObject({ status: 200, headers: { 'Content-Type': 'application/json', 'Content-Length': '7' } });
    expect(s.sent[0]!.body!.toString()).toBe('{"a":1}');
    expect(s.sent[1]!.end).toBe(true);
  });

  test('an existing Content-Length is kept; a body-less response still sends status and headers', async () => {
    const s = recordingSink();
    const c = new BodyCoalescer(s.sink);
    c.setHead({ status: 204, headers: { 'X-A': '1' } });
    c.end();
    await s.ended();
    expect(s.sent[0]).toMatchObject({ status: 204, headers: { 'X-A': '1' } });
    expect(s.sent[0]!.headers!['Content-Length']).toBeUndefined();
    expect(s.sent[0]!.body!.length).toBe(0);
  });

  test('a complete body over 1 MiB is split into <= 1 MiB chunks; the tail waits out the hold', async () => {
    const s = recordingSink();
    const c = new BodyCoalescer(s.sink, { holdMs: 6 });
    const body = Buffer.alloc(2.5 * 1024 * 1024, 7);
    c.setHead(head);
    c.write(body);
    c.end();
    await s.ended();
    const chunks = s.sent.filter((x) => x.body);
    expect(chunks.length).toBe(3);
    for (const chunk of chunks) expect(chunk.body!.length).toBeLessThanOrEqual(1024 * 1024);
    expect(s.body().equals(body)).toBe(true);
    expect(chunks[1]!.at - chunks[0]!.at).toBeGreaterThanOrEqual(5);
  });

  test('a streamed body: first write leaves promptly, later writes are coalesced, end is held', async () => {
    const s = recordingSink();
    const c = new BodyCoalescer(s.sink);
    c.setHead({ status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    const firstWrite = performance.now();
    c.write(Buffer.from('data: 0\n\n'));
    await sleep(30);
    const expected: string[] = ['data: 0\n\n'];
    for (let i = 1; i < 2000; i++) {
      const line = `data: {"n":${i}}\n\n`;
      expected.push(line);
      c.write(Buffer.from(line));
      if (i % 100 === 0) await sleep(1);
    }
    c.end();
    await s.ended();
    const chunks = s.sent.filter((x) => x.body);
    expect(chunks[0]!.at - firstWrite).toBeLessThan(25);
    expect(chunks[0]!.status).toBe(200);
    expect(chunks.slice(1).every((x) => x.status === undefined && x.headers === undefined)).toBe(true);
    expect(chunks.length).toBeLessThan(64);
    expect(s.body().toString()).toBe(expected.join(''));
  });

  test('end right after the first body chunk is held >= 5 ms (truncation race)', async () => {
    const s = recordingSink();
    const c = new BodyCoalescer(s.sink);
    c.setHead(head);
    c.write(Buffer.from('a'));
    await sleep(4);
    expect(s.sent).toHaveLength(1);
    c.write(Buffer.from('b'));
    c.end();
    await s.ended();
    const first = s.sent.find((x) => x.body)!;
    const end = s.sent.find((x) => x.end)!;
    const later = s.sent.filter((x) => x !== first);
    expect(later.every((x) => x.at - first.at >= 5)).toBe(true);
    expect(end.at - first.at).toBeGreaterThanOrEqual(5);
    expect(s.body().toString()).toBe('ab');
  });

  test('a response that completes within the first window leaves as one chunk', async () => {
    const s = recordingSink();
    const c = new BodyCoalescer(s.sink);
    c.setHead({ status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    c.write(Buffer.from('data: 1\n\n'));
    await tick();
    c.write(Buffer.from('data: 2\n\n'));
    c.end();
    await s.ended();
    expect(s.sent.filter((x) => x.body)).toHaveLength(1);
    expect(s.body().toString()).toBe('data: 1\n\ndata: 2\n\n');
    // still a stream to its client: no Content-Length on an event stream
    expect(s.sent[0]!.headers!['Content-Length']).toBeUndefined();
  });

  test('flushHeaders without a body sends status and headers with an empty result', async () => {
    const s = recordingSink();
    const c = new BodyCoalescer(s.sink);
    c.setHead({ status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    await sleep(40);
    expect(s.sent).toHaveLength(1);
    expect(s.sent[0]).toMatchObject({ status: 200 });
    expect(s.sent[0]!.body!.length).toBe(0);
    c.abort();
  });

  test('while the transport is congested nothing is sent; on drain the backlog leaves as one chunk', async () => {
    const s = recordingSink();
    const c = new BodyCoalescer(s.sink);
    c.setHead(head);
    c.write(Buffer.from('first'));
    await sleep(20);
    s.congest();
    for (let i = 0; i < 100; i++) {
      c.write(Buffer.from(`${i},`));
      await sleep(1);
    }
    expect(s.sent.filter((x) => x.body)).toHaveLength(1);
    s.drain();
    c.end();
    await s.ended();
    expect(s.sent.filter((x) => x.body)).toHaveLength(2);
    expect(s.body().toString()).toBe('first' + Array.from({ length: 100 }, (_, i) => `${i},`).join(''));
  });

  test('abort stops everything', async () => {
    const s = recordingSink();
    const c = new BodyCoalescer(s.sink);
    c.setHead(head);
    c.write(Buffer.from('x'));
    c.abort();
    c.end();
    await sleep(20);
    expect(s.sent).toHaveLength(0);
  });
});
