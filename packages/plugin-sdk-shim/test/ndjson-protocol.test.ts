import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { LineSplitter, StreamLineSink } from '../src/ndjson.js';
import { MAX_CHUNK_BYTES, streamChunkLine, sessionLine, errorData, HEARTBEAT_LINE, endLine, logLine, pluginEventSchema } from '../src/protocol.js';
import { readConfig } from '../src/config.js';

describe('NDJSON framing', () => {
  test('lines split across reads, several per read, empty lines skipped', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l.toString()));
    s.push(Buffer.from('{"a":1}\n{"b"'));
    s.push(Buffer.from(':2}\n\n\r\n{"c":3}'));
    s.push(Buffer.from('\n'));
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  test('no line limit: a 24 MiB line read in 64 KiB pieces comes out whole', () => {
    const big = Buffer.alloc(24 * 1024 * 1024, 0x61);
    let got: Buffer | null = null;
    const s = new LineSplitter((l) => (got = l));
    for (let i = 0; i < big.length; i += 65536) s.push(big.subarray(i, i + 65536));
    expect(got).toBeNull();
    s.push(Buffer.from('\n'));
    expect(got!.length).toBe(big.length);
  });

  test('one write() per line', () => {
    const out = new PassThrough();
    const writes: string[] = [];
    const sink = new StreamLineSink(out, (chunk) => (writes.push(chunk), true));
    sink.write(HEARTBEAT_LINE);
    sink.write(sessionLine('s', 'error', errorData('E', 'm')));
    expect(writes).toHaveLength(2);
    expect(writes.every((w) => w.endsWith('\n') && w.indexOf('\n') === w.length - 1)).toBe(true);
  });
});

describe('protocol lines', () => {
  test('the largest stream chunk stays well under the daemon 5 MiB line limit', () => {
    const line = streamChunkLine('0c8a5b8e-6a0b-4f1e-9d9c-1f2e3d4c5b6a', { status: 200, headers: { 'Content-Type': 'x' }, body: Buffer.alloc(MAX_CHUNK_BYTES, 1) });
    expect(Buffer.byteLength(line)).toBeLessThan(5 * 1024 * 1024);
    const parsed = JSON.parse(line);
    expect(parsed).toMatchObject({ event: 'session', data: { type: 'stream', data: { status: 200, headers: { 'Content-Type': 'x' } } } });
    expect(parsed.data.data.result).toMatch(/^(01)+$/);
  });

  test('every line the runtime builds is a valid plugin event', () => {
    const lines = [
      HEARTBEAT_LINE,
      logLine('INFO', 'hello'),
      endLine('s'),
      streamChunkLine('s', { status: 200, headers: { A: 'b' }, body: Buffer.from('x') }),
      streamChunkLine('s', { body: Buffer.alloc(0) }),
      sessionLine('s', 'error', errorData('E', 'm', { a: 1 })),
      sessionLine('s', 'invoke', { type: 'app', backwards_request_id: 'r', request: { app_id: 'a' } }),
    ];
    for (const line of lines) {
      expect(line.endsWith('\n')).toBe(true);
      expect(pluginEventSchema.safeParse(JSON.parse(line)).success, line).toBe(true);
    }
    expect(pluginEventSchema.safeParse({ event: 'session', session_id: 's', data: { type: 'stream', data: { headers: { A: 1 } } } }).success).toBe(false);
  });

  test('error args are cut to 10 keys (the daemon ignores errors with more)', () => {
    const args = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i]));
    expect(Object.keys(errorData('E', 'm', args).args)).toHaveLength(10);
  });
});

describe('environment', () => {
  test('SDK names and defaults', () => {
    expect(readConfig({})).toMatchObject({ installMethod: 'local', heartbeatIntervalMs: 10_000, reverseTimeoutMs: 250_000, remote: null, reconnectDelayMs: 5000, reconnectAttempts: 3 });
    expect(readConfig({ HEARTBEAT_INTERVAL: '2.5', MAX_REQUEST_TIMEOUT: '30' })).toMatchObject({ heartbeatIntervalMs: 2500, reverseTimeoutMs: 30_000 });
    expect(readConfig({ INSTALL_METHOD: 'remote', REMOTE_INSTALL_URL: 'debug.dify.ai:5003', REMOTE_INSTALL_KEY: 'k' }).remote).toEqual({ host: 'debug.dify.ai', port: 5003, key: 'k' });
    expect(readConfig({ INSTALL_METHOD: 'remote', REMOTE_INSTALL_HOST: 'h', REMOTE_INSTALL_PORT: '7', REMOTE_INSTALL_KEY: 'k' }).remote).toEqual({ host: 'h', port: 7, key: 'k' });
    expect(readConfig({ INSTALL_METHOD: 'remote' }).remote).toEqual({ host: 'localhost', port: 5003, key: '' });
  });
});
