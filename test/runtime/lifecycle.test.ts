// Start-up and shutdown of the stdio runtime, and the daemon's HTTP front.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { buildFixture } from './build-fixture.js';
import { startDaemon, type SimulatedDaemon } from '../daemon/simulator.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let daemon: SimulatedDaemon | null = null;

afterEach(async () => {
  await daemon?.close();
  daemon = null;
});

async function spawnPlugin(env: Record<string, string> = {}) {
  daemon = await startDaemon({ command: process.execPath, args: [await buildFixture()], env });
  return daemon;
}

describe('start-up', () => {
  test('the first heartbeat comes within 1 s of launch, as the exact line the daemon expects', async () => {
    const d = await spawnPlugin();
    const ms = await d.waitForHeartbeat();
    // CPU time the plugin spent before its first heartbeat: wall time says more about a busy machine
    const stat = readFileSync(`/proc/${d.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const cpuMs = (Number(stat[11]) + Number(stat[12])) * 10;
    expect(cpuMs).toBeLessThan(1000);
    expect(ms).toBeLessThan(10_000);
    expect(d.heartbeats).toBeGreaterThanOrEqual(1);
    expect(d.protocolViolations).toEqual([]);
  });
});

describe('shutdown', () => {
  test('stdin EOF -> clean exit (code 0)', async () => {
    const d = await spawnPlugin();
    await d.waitForHeartbeat();
    expect((await d.invoke({ method: 'GET', path: '/ping' })).status).toBe(200);
    d.closeStdin();
    const exit = await Promise.race([d.exited, sleep(5000).then(() => null)]);
    expect(exit).toEqual({ code: 0, signal: null });
  });

  test('SIGTERM with an open session: the handler is aborted (req/res close, signal), the daemon told, exit 0', async () => {
    const d = await spawnPlugin({ SHUTDOWN_GRACE_MS: '200' });
    await d.waitForHeartbeat();
    const pending = d.invoke({ method: 'GET', path: '/wait-abort' });
    await sleep(100);
    d.child.kill('SIGTERM');
    const exit = await Promise.race([d.exited, sleep(5000).then(() => null)]);
    expect(exit).toEqual({ code: 0, signal: null });
    const res = await pending;
    // the body had started: the daemon appends the error text and ends the body
    expect(res.body.toString()).toMatch(/^waiting/);
    expect(res.error?.message).toMatch(/SIGTERM/);
    const messages = d.logs.map((l) => l.message);
    expect(messages).toContain('wait-abort: res close finished=false');
    expect(messages).toContain('wait-abort: signal aborted');
    expect(messages).toContain('wait-abort: req close');
    expect(d.protocolViolations).toEqual([]);
  });

  test('SIGTERM lets a response in progress finish before exiting', async () => {
    const d = await spawnPlugin({ SHUTDOWN_GRACE_MS: '3000' });
    await d.waitForHeartbeat();
    const pending = d.invoke({ method: 'GET', path: '/slow' });
    await sleep(100);
    d.child.kill('SIGTERM');
    const res = await pending;
    expect(res.body.toString()).toBe('first;second');
    expect(res.error).toBeNull();
    expect(await Promise.race([d.exited, sleep(5000).then(() => null)])).toEqual({ code: 0, signal: null });
  });

  test('stdin EOF while a handler waits on a reverse call: the call fails fast and the process exits', async () => {
    const d = await startDaemon({
      command: process.execPath,
      args: [await buildFixture()],
      env: { SHUTDOWN_GRACE_MS: '3000' },
      reverse: {
        async *app() {
          await sleep(60_000);
        },
      },
    });
    daemon = d;
    await d.waitForHeartbeat();
    void d.invoke({ method: 'POST', path: '/app', headers: { 'Content-Type': 'application/json' }, body: '{"query":"x"}' });
    await sleep(100);
    const started = performance.now();
    d.closeStdin();
    const exit = await Promise.race([d.exited, sleep(5000).then(() => null)]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(performance.now() - started).toBeLessThan(2500);
  });

  test('a closed stdout pipe does not crash the runtime into a loop; it exits on EOF', async () => {
    const d = await spawnPlugin();
    await d.waitForHeartbeat();
    d.child.stdout!.destroy();
    await sleep(50);
    d.closeStdin();
    const exit = await Promise.race([d.exited, sleep(5000).then(() => null)]);
    expect(exit).not.toBeNull();
  });
});

describe('routing options', () => {
  test('mergeSlashes and a notFound handler replace the SDK defaults when asked for', async () => {
    const d = await spawnPlugin({ TEST_MERGE_SLASHES: '1', TEST_NOT_FOUND_JSON: '1' });
    await d.waitForHeartbeat();
    expect((await d.invoke({ method: 'GET', path: '//items//5' })).status).toBe(200);
    const missing = await d.invoke({ method: 'POST', path: '/nope' });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString())).toEqual({ error: { message: 'no route POST /nope', endpoint: 'endpoint-simulated' } });
  });
});

describe('storage errors', () => {
  test('a storage quota failure from the daemon becomes a thrown error the handler can answer', async () => {
    const d = await startDaemon({ command: process.execPath, args: [await buildFixture()], storageQuota: 64 });
    daemon = d;
    await d.waitForHeartbeat();
    const small = await d.invoke({ method: 'PUT', path: '/storage-put/a', body: 'x'.repeat(10) });
    expect(JSON.parse(small.body.toString())).toEqual({ ok: true });
    const big = await d.invoke({ method: 'PUT', path: '/storage-put/b', body: 'x'.repeat(100) });
    expect(big.status).toBe(507);
    expect(JSON.parse(big.body.toString()).error).toMatch(/quota exceeded/);
  });
});

describe('HTTP front of the simulated daemon', () => {
  test('a real HTTP client gets the plugin response, streamed', async () => {
    const d = await spawnPlugin();
    await d.waitForHeartbeat();
    const base = await d.listen({ settings: (path) => ({ path }) });
    const echo = await fetch(`${base}/echo?z=1&a=2`, { method: 'POST', body: 'hi', headers: { 'X-Forwarded-For': '1.2.3.4', 'x-custom': 'v' } });
    expect(echo.status).toBe(200);
    const json = (await echo.json()) as { url: string; headers: Record<string, string>; settings: unknown; bodyHex: string };
    expect(json.url).toBe('/echo?a=2&z=1');
    expect(json.headers['x-forwarded-for']).toBeUndefined();
    expect(json.headers['x-custom']).toBe('v');
    expect(json.headers['dify-hook-url']).toMatch(/\/e\/abcd1234efgh5678\/echo$/);
    expect(json.settings).toEqual({ path: '/echo' });
    expect(Buffer.from(json.bodyHex, 'hex').toString()).toBe('hi');

    const sse = await fetch(`${base}/sse?n=1000`);
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await sse.text();
    expect(text.split('\n\n').filter(Boolean)).toHaveLength(1001);

    const err = await fetch(`${base}/nope`);
    expect(err.status).toBe(404);
    expect(await err.text()).toMatch(/^Failed to dispatch endpoint request/);
  });
});
