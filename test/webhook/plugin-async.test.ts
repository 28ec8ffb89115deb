/**
 * The experiment behind "async in plugin mode": can a reverse invocation still run after the HTTP
 * answer is complete? Run through the real runtime (a probe plugin, test/webhook/probe) and the
 * daemon simulator. Findings and daemon source citations: src/groups/webhook/README.md.
 */
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type SimulatedDaemon } from '../daemon/simulator.js';
import { fixtures } from './helpers.js';

let dir: string;
let daemon: SimulatedDaemon;
let baseUrl: string;
/** Runs parked in the reverse `app` handler, waiting for releaseRun(). */
const parked: Array<() => void> = [];
const releaseRun = (): void => parked.splice(0).forEach((go) => go());
let appStreams = 0;
/** Settles when the simulated Dify has sent the last event of the current app stream. */
let appStreamDone: Promise<void> = Promise.resolve();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'webhook-probe-'));
  const outfile = join(dir, 'probe.mjs');
  await build({
    entryPoints: [new URL('./probe/async-probe-plugin.ts', import.meta.url).pathname],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __probeRequire } from 'node:module'; const require = __probeRequire(import.meta.url);" },
  });
  daemon = await startDaemon({
    command: process.execPath,
    args: [outfile],
    reverse: {
      async *app() {
        appStreams++;
        let done!: () => void;
        appStreamDone = new Promise<void>((resolve) => (done = resolve));
        try {
          const events = fixtures.F4_workflow;
          yield events[0]!;
          await new Promise<void>((resolve) => parked.push(resolve));
          yield events[events.length - 1]!;
        } finally {
          done();
        }
      },
    },
  });
  await daemon.waitForHeartbeat();
  baseUrl = await daemon.listen({ settings: {} });
});

afterAll(async () => {
  await daemon?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A client that reads the answer by its Content-Length and then closes the connection (curl, most webhook senders, nginx's upstream side). */
function post(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}${path}`, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        res.socket?.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end('{}');
  });
}

async function logLine(prefix: string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = daemon.logs.find((l) => l.message.startsWith(prefix));
    if (line) return line.message;
    if (Date.now() > deadline) throw new Error(`no log "${prefix}"; logs: ${daemon.logs.map((l) => l.message).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('async answers in plugin mode (experiment)', () => {
  it('a reverse invocation started after the answer never reaches the daemon: the session has ended', async () => {
    const res = await post('/probe/after-end');
    expect(res.status).toBe(202);
    // The plugin gets no app event: the runtime fails the call when it sends `end`.
    expect(await logLine('probe run failed (after-end)')).toMatch(/SessionClosed|ended/i);
    // (The `invoke` line itself can still slip out before the coalescer's held-back `end`; the daemon
    // then starts the call into Dify and cancels it when `end` arrives. Nothing comes back either way.)
    releaseRun();
  });

  it('with `end` held back, the client has the complete 202 (Content-Length) while the run is still going', async () => {
    const res = await post('/probe/deferred-end');
    expect(res).toEqual({ status: 202, body: '{"status":"accepted"}' });
    // The client is done; the run is parked in the reverse app stream, not finished.
    expect(appStreams).toBeGreaterThan(0);
    expect(daemon.logs.some((l) => l.message.startsWith('probe run finished (deferred-end)'))).toBe(false);
    releaseRun();
    await logLine('probe run f');
  });

  // The daemon cancels the session when the HTTP client goes away (CloseNotify and the request
  // context: internal/service/endpoint.go:222-227, internal/core/io_tunnel/generic.go:89-92): the
  // session's listener closes and its stdin mapping goes (internal/core/local_runtime/io.go:49-52), so
  // nothing more is written to the plugin for it (io.go:72-76), and the call into Dify, made on the same
  // context (session_manager/session.go:271, calldify/http_request.go:58), is cancelled. So the run's
  // last event never reaches the plugin and the run does not finish. The simulator models this
  // (DaemonCore.cancelSession on the client's close; no backwards_response after a session ends).
  it('with `end` held back, a client that closes after the body cuts the run off (daemon semantics)', async () => {
    // the previous test's run (released at its end, possibly before its client's close arrived) logs first
    await fetch(`${baseUrl}/probe/ping`);
    daemon.logs.splice(0);
    const res = await post('/probe/deferred-end');
    expect(res.status).toBe(202);
    // Let the close reach the daemon (a ping round trip), then let Dify finish the run.
    await fetch(`${baseUrl}/probe/ping`);
    releaseRun();
    await appStreamDone;
    await fetch(`${baseUrl}/probe/ping`); // whatever the plugin did with Dify's last events is logged by now
    expect(daemon.logs.some((l) => l.message.startsWith('probe run finished (deferred-end)'))).toBe(false);
  });
});
