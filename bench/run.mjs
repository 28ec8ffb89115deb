// npm run bench: the standalone server against a minimal pass-through proxy, both in front of the
// same fake Dify upstream on loopback, measured in the same run. Prints a markdown table.
import { fork } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const QUICK = process.argv.includes('--quick');
const DURATION_MS = QUICK ? 1500 : 4000;
const here = new URL('.', import.meta.url).pathname;

function child(file, env = {}, execArgv = []) {
  const proc = fork(join(here, file), [], { env: { ...process.env, ...env }, execArgv: ['--expose-gc', ...execArgv], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const ready = new Promise((resolve, reject) => {
    proc.on('message', (m) => m?.ready && resolve(m));
    proc.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
  /** CPU and RSS of the child; `settle` runs a full GC first (memory figures only: a forced GC is not serving work). */
  const stats = (settle = false) =>
    new Promise((resolve) => {
      const on = (m) => {
        if (m?.cpu) {
          proc.off('message', on);
          resolve(m);
        }
      };
      proc.on('message', on);
      proc.send(settle ? 'stats-gc' : 'stats');
    });
  return { proc, ready, stats };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 2048 });

/** One request; resolves with timings and the number of SSE data frames received. */
function request(port, path, body, headers = {}, { onFirstToken, keepOpen } = {}) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const started = performance.now();
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers } }, (res) => {
      let frames = 0;
      let ttft;
      let tail = '';
      res.setEncoding('utf8');
      res.on('data', (text) => {
        const chunk = tail + text;
        let i = chunk.indexOf('data:');
        while (i !== -1) {
          frames++;
          i = chunk.indexOf('data:', i + 5);
        }
        tail = chunk.slice(-4);
        if (tail.includes('d')) tail = chunk.slice(chunk.lastIndexOf('\n') + 1).slice(-4);
        else tail = '';
        if (ttft === undefined && text.includes('tok')) {
          ttft = performance.now() - started;
          onFirstToken?.(req, res);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - started, frames, ttft }));
      res.on('error', () => resolve({ status: 0, ms: performance.now() - started, frames, ttft }));
      if (keepOpen) keepOpen(req, res);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `concurrency` loops of `one()` for `ms`. */
async function load(concurrency, one, ms) {
  const results = [];
  const deadline = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) results.push(await one());
    }),
  );
  return { seconds: (performance.now() - started) / 1000, results };
}

/**
 * Measures every target at one load point in ROUNDS short slices, alternating targets, so drifting
 * background load (this is a shared 2-CPU machine) hits both sides alike.
 */
const ROUNDS = 4;
async function compare(targets, concurrency, makeOne) {
  const acc = Object.fromEntries(Object.keys(targets).map((name) => [name, { seconds: 0, results: [], cpuMs: 0 }]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? Object.keys(targets) : Object.keys(targets).reverse();
    for (const name of order) {
      const t = targets[name];
      const before = await t.stats();
      const r = await load(concurrency, () => makeOne(t), DURATION_MS / ROUNDS);
      const after = await t.stats();
      acc[name].seconds += r.seconds;
      acc[name].results.push(...r.results);
      acc[name].cpuMs += cpuMs(before, after);
    }
  }
  const out = {};
  for (const [name, a] of Object.entries(acc)) {
    const lat = a.results.map((r) => r.ms).sort((x, y) => x - y);
    const frames = a.results.reduce((n, r) => n + r.frames, 0);
    out[name] = { seconds: a.seconds, count: a.results.length, rps: a.results.length / a.seconds, p50: percentile(lat, 50), p99: percentile(lat, 99), frames, errors: a.results.filter((r) => r.status !== 200).length, cpuPerChunkUs: (a.cpuMs * 1000) / Math.max(1, frames), cpuPerRequestUs: (a.cpuMs * 1000) / Math.max(1, a.results.length) };
  }
  return out;
}

const cpuMs = (a, b) => (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1000;

async function main() {
  const loadAtStart = (await import('node:os')).loadavg()[0].toFixed(1);
  const data = mkdtempSync(join(tmpdir(), 'bridge-bench-'));
  const up = child('upstream.mjs');
  const { baseUrl } = await up.ready;
  const upstreamPort = Number(new URL(baseUrl).port);
  const base = child('baseline-proxy.mjs', { UPSTREAM: baseUrl });
  const { port: basePort } = await base.ready;
  const serverPort = 20000 + Math.floor(Math.random() * 20000);
  const srv = child('server-child.mjs', { DIFY_API_BASE: baseUrl, DIFY_API_KEYS: 'app-bench', VALID_API_KEYS: 'sk-bench', SERVER_HOST: '127.0.0.1', SERVER_PORT: String(serverPort), DATA_DIR: data, LOG_LEVEL: 'info', REDIS_URL: '' });
  await srv.ready;

  const targets = {
    baseline: { port: basePort, stats: base.stats, headers: {} },
    server: { port: serverPort, stats: srv.stats, headers: { authorization: 'Bearer sk-bench' } },
  };
  const chat = (stream, query, user) => ({ model: 'Bench', stream, user, messages: [{ role: 'user', content: query }] });
  let seq = 0;
  const rows = [];
  const figures = {};

  // Memory first, on fresh processes: 1,000 slow streams held open.
  const SLOW = QUICK ? 200 : 1000;
  const mem = {};
  for (const [name, t] of Object.entries(targets)) {
    const idle = await t.stats(true);
    let peak = idle.rss;
    const open = [];
    let firstTokens = 0;
    const done = [];
    for (let i = 0; i < SLOW; i++) {
      done.push(
        request(t.port, '/v1/chat/completions', chat(true, `slow ${seq++}`, `m${i}`), t.headers, {
          onFirstToken: () => firstTokens++,
          keepOpen: (req) => open.push(req),
        }).catch(() => undefined),
      );
      if (i % 100 === 99) await sleep(20);
    }
    const deadline = Date.now() + 60_000;
    while (firstTokens < SLOW && Date.now() < deadline) {
      await sleep(100);
      peak = Math.max(peak, (await t.stats(true)).rss);
    }
    await sleep(300);
    const held = await t.stats(true);
    peak = Math.max(peak, held.rss);
    mem[name] = { idle: idle.rss, held: held.rss, peak, perStream: (held.rss - idle.rss) / SLOW, opened: firstTokens };
    for (const req of open) req.destroy();
    await Promise.all(done);
    await sleep(500);
  }

  // Warm-up (JIT, pools, app info cache).
  for (const t of Object.values(targets)) {
    for (let i = 0; i < 200; i++) await request(t.port, '/v1/chat/completions', chat(i % 2 === 0, 'bench:20', `w${i}`), t.headers);
  }

  // Non-streaming requests/s and latency.
  for (const c of [1, 16, 64]) {
    const r = await compare(targets, c, (t) => request(t.port, '/v1/chat/completions', chat(false, `hello ${seq++}`, `u${seq % 50}`), t.headers));
    figures[`rps${c}`] = r;
    rows.push([`non-streaming req/s, c=${c}`, r.baseline.rps.toFixed(0), r.server.rps.toFixed(0), (r.server.rps / r.baseline.rps).toFixed(2)]);
    rows.push([`non-streaming p50 / p99 ms, c=${c}`, `${r.baseline.p50.toFixed(2)} / ${r.baseline.p99.toFixed(2)}`, `${r.server.p50.toFixed(2)} / ${r.server.p99.toFixed(2)}`, '']);
    rows.push([`proxy CPU per request (µs), c=${c}`, r.baseline.cpuPerRequestUs.toFixed(0), r.server.cpuPerRequestUs.toFixed(0), (r.server.cpuPerRequestUs / r.baseline.cpuPerRequestUs).toFixed(2)]);
  }

  // Streaming: 200-event answers.
  for (const c of [16, 256]) {
    const r = await compare(targets, c, (t) => request(t.port, '/v1/chat/completions', chat(true, `bench:200 ${seq++}`, `s${seq % 50}`), t.headers));
    figures[`stream${c}`] = r;
    rows.push([`streams/s (200 events), c=${c}`, (r.baseline.count / r.baseline.seconds).toFixed(1), (r.server.count / r.server.seconds).toFixed(1), (r.server.count / r.server.seconds / (r.baseline.count / r.baseline.seconds)).toFixed(2)]);
    rows.push([`chunks/s, c=${c}`, (r.baseline.frames / r.baseline.seconds).toFixed(0), (r.server.frames / r.server.seconds).toFixed(0), (r.server.frames / r.server.seconds / (r.baseline.frames / r.baseline.seconds)).toFixed(2)]);
    rows.push([`proxy CPU per chunk (µs), c=${c}`, r.baseline.cpuPerChunkUs.toFixed(1), r.server.cpuPerChunkUs.toFixed(1), (r.server.cpuPerChunkUs / r.baseline.cpuPerChunkUs).toFixed(2)]);
    if (r.baseline.errors + r.server.errors > 0) rows.push([`errors, c=${c}`, String(r.baseline.errors), String(r.server.errors), '']);
  }

  // Time to first token, sequential, against the upstream's own.
  const ttft = {};
  const ttftRuns = QUICK ? 40 : 150;
  const upstreamTtft = [];
  // Interleaved, one request per target in turn, so background load hits all three alike.
  const samples = { baseline: [], server: [] };
  for (let i = 0; i < ttftRuns; i++) {
    const payload = { inputs: {}, query: `bench:5 ${i}`, response_mode: 'streaming', conversation_id: '', user: 'ttft' };
    upstreamTtft.push((await request(upstreamPort, '/v1/chat-messages', payload, { authorization: 'Bearer app-bench' })).ttft);
    for (const [name, t] of Object.entries(targets)) samples[name].push((await request(t.port, '/v1/chat/completions', chat(true, `bench:5 t${i}`, `t${i % 20}`), t.headers)).ttft);
  }
  for (const name of Object.keys(samples)) ttft[name] = percentile(samples[name].sort((a, b) => a - b), 50);
  upstreamTtft.sort((a, b) => a - b);
  const upTtft = percentile(upstreamTtft, 50);
  rows.push(['TTFT p50 ms (upstream alone: ' + upTtft.toFixed(2) + ')', ttft.baseline.toFixed(2), ttft.server.toFixed(2), '']);
  rows.push(['TTFT added over upstream, p50 ms', (ttft.baseline - upTtft).toFixed(2), (ttft.server - upTtft).toFixed(2), '']);

  rows.push([`RSS idle / with ${SLOW} open streams (MB)`, `${(mem.baseline.idle / 1e6).toFixed(1)} / ${(mem.baseline.held / 1e6).toFixed(1)}`, `${(mem.server.idle / 1e6).toFixed(1)} / ${(mem.server.held / 1e6).toFixed(1)}`, '']);
  rows.push([`peak RSS (MB)`, (mem.baseline.peak / 1e6).toFixed(1), (mem.server.peak / 1e6).toFixed(1), '']);
  rows.push([`RSS per open stream (KB)`, (mem.baseline.perStream / 1024).toFixed(1), (mem.server.perStream / 1024).toFixed(1), '']);
  if (mem.server.opened < SLOW || mem.baseline.opened < SLOW) rows.push(['streams that got a first token', String(mem.baseline.opened), String(mem.server.opened), '']);


  const lines = ['| measure | baseline proxy | dify-bridge | ratio |', '|---|---:|---:|---:|', ...rows.map((r) => `| ${r.join(' | ')} |`)];
  console.log(`\ndify-bridge standalone vs a minimal pass-through proxy (same fake Dify upstream, loopback, ${process.version}, ${(await import('node:os')).cpus().length} CPUs, load average at start ${loadAtStart}, ${DURATION_MS / 1000} s per load point in ${ROUNDS} interleaved slices)\n`);
  console.log(lines.join('\n'));
  const targetsMet = [
    ['chunks/s >= 0.8x baseline (c=16, c=256)', figures.stream16.server.frames / figures.stream16.server.seconds >= 0.8 * (figures.stream16.baseline.frames / figures.stream16.baseline.seconds) && figures.stream256.server.frames / figures.stream256.server.seconds >= 0.8 * (figures.stream256.baseline.frames / figures.stream256.baseline.seconds)],
    ['relay CPU per chunk <= 1.5x baseline (c=16, c=256)', [16, 256].every((c) => figures[`stream${c}`].server.cpuPerChunkUs <= 1.5 * figures[`stream${c}`].baseline.cpuPerChunkUs)],
    ['req/s >= 0.8x baseline (c=1, 16, 64)', [1, 16, 64].every((c) => figures[`rps${c}`].server.rps >= 0.8 * figures[`rps${c}`].baseline.rps)],
    ['added TTFT <= 2 ms at p50', ttft.server - upTtft <= 2],
    ['RSS per open stream <= 50 KB', mem.server.perStream <= 50 * 1024],
  ];
  console.log('\nTargets: ' + targetsMet.map(([name, ok]) => `${ok ? 'met' : 'MISSED'}: ${name}`).join('; '));

  for (const c of [up, base, srv]) c.proc.kill('SIGTERM');
  await sleep(300);
  rmSync(data, { recursive: true, force: true });
  process.exit(0);
}

await main();
