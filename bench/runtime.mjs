// Runtime benchmark: the plugin runtime over real stdio pipes, driven by the daemon simulator.
// Endpoint invocations/s and latency at concurrency 4 for a trivial endpoint, a blocking app-chat
// relay and 20- / 1,000-event app stream relays; chunks per response; first-heartbeat time; RSS.
// Run with `npm run bench:runtime` (BENCH_SECONDS=<n> per scenario, default 3).
import { build } from 'esbuild';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'node_modules/.cache/bench-runtime');
mkdirSync(out, { recursive: true });
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node22', logLevel: 'warning' };
const banner = { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" };
await Promise.all([
  build({ ...common, entryPoints: [join(root, 'test/daemon/simulator.ts')], outfile: join(out, 'simulator.mjs'), packages: 'external' }),
  build({
    ...common,
    banner,
    minify: true,
    entryPoints: [join(root, 'test/runtime/fixtures/test-plugin.ts')],
    outfile: join(out, 'plugin.mjs'),
    define: { 'import.meta.url': JSON.stringify('file://' + join(root, 'test/runtime/fixtures/test-plugin.ts')) },
  }),
]);
const { startDaemon } = await import(join(out, 'simulator.mjs'));
const pluginPath = join(out, 'plugin.mjs');
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const loadAtStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const CONCURRENCY = 4;
// e.g. BENCH_NODE_FLAGS=--optimize-for-size to try V8 flags on the plugin process
const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

const reverse = {
  *app(request) {
    if (request.response_mode === 'blocking') {
      yield { event: 'message', task_id: 't', id: 'm1', message_id: 'm1', conversation_id: 'c1', mode: 'chat', answer: 'Hello! How can I help you today?', metadata: { usage: { prompt_tokens: 10, completion_tokens: 9, total_tokens: 19, total_price: '0.000019', currency: 'USD', latency: 0.4 } }, created_at: 1767225600 };
      return;
    }
    const n = Number(/^n=(\d+)$/.exec(String(request.query))?.[1] ?? 20);
    for (let i = 0; i < n; i++) yield { event: 'message', task_id: 't', id: 'm1', message_id: 'm1', conversation_id: 'c1', answer: `tok${i} `, created_at: 1767225600 };
    yield { event: 'message_end', task_id: 't', id: 'm1', message_id: 'm1', conversation_id: 'c1', metadata: { usage: { total_tokens: n } } };
  },
};

const rss = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { rss: get('VmRSS'), hwm: get('VmHWM') };
};

/** user+system CPU ms of a process so far (/proc/<pid>/stat, clock ticks of 10 ms) */
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function scenario(daemon, name, request, check) {
  // warm-up
  for (let i = 0; i < 50; i++) check(await daemon.invoke(request));
  const latencies = [];
  let chunks = 0;
  let count = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const pluginCpuStart = cpuMs(daemon.child.pid);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        const res = await daemon.invoke(request);
        latencies.push(performance.now() - t);
        check(res);
        chunks += res.chunks;
        count++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const pluginCpu = cpuMs(daemon.child.pid) - pluginCpuStart;
  latencies.sort((a, b) => a - b);
  return { name, rps: count / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), chunks: chunks / count, count, cpuPerCall: (pluginCpu * 1000) / count };
}

// first heartbeat: median of 5 fresh launches
const heartbeats = [];
const heartbeatCpu = [];
for (let i = 0; i < 5; i++) {
  const d = await startDaemon({ command: process.execPath, args: [...nodeFlags, pluginPath] });
  heartbeats.push(await d.waitForHeartbeat());
  heartbeatCpu.push(cpuMs(d.child.pid));
  await d.close();
}
heartbeats.sort((a, b) => a - b);
heartbeatCpu.sort((a, b) => a - b);

const daemon = await startDaemon({ command: process.execPath, args: [...nodeFlags, pluginPath], reverse });
await daemon.waitForHeartbeat();
await new Promise((r) => setTimeout(r, 300));
const idle = rss(daemon.child.pid);

const ok = (res) => {
  if (res.status !== 200 || res.truncated || res.dropped) throw new Error(`bad response ${res.status} ${res.body.toString().slice(0, 200)}`);
};
const json = { 'Content-Type': 'application/json' };
const results = [];
const mark = (label) => (rssAfter[label] = rss(daemon.child.pid).hwm);
const rssAfter = {};
results.push(await scenario(daemon, 'trivial endpoint (GET /ping)', { method: 'GET', path: '/ping' }, ok));
mark('trivial');
results.push(await scenario(daemon, 'blocking app-chat relay', { method: 'POST', path: '/app', headers: json, body: '{"query":"hi","blocking":true}' }, ok));
mark('blocking');
results.push(
  await scenario(daemon, '20-event app stream relay (SSE)', { method: 'POST', path: '/app', headers: json, body: '{"query":"n=20"}' }, (res) => {
    ok(res);
    if (res.body.toString().split('\n\n').length !== 23) throw new Error('lost events');
  }),
);
mark('20-event');
results.push(
  await scenario(daemon, '1,000-event app stream relay (SSE)', { method: 'POST', path: '/app', headers: json, body: '{"query":"n=1000"}' }, (res) => {
    ok(res);
    if (res.body.toString().split('\n\n').length !== 1003) throw new Error('lost events');
  }),
);
const peak = rss(daemon.child.pid);
const heap = JSON.parse((await daemon.invoke({ method: 'GET', path: '/memory' })).body.toString());
if (daemon.protocolViolations.length) throw new Error(`protocol violations: ${daemon.protocolViolations.slice(0, 3).join('; ')}`);
await daemon.close();

const f = (n, d = 1) => n.toFixed(d);
console.log(`\n## Plugin runtime over stdio (Node ${process.version}${nodeFlags.length ? ' ' + nodeFlags.join(' ') : ''}, concurrency ${CONCURRENCY}, ${seconds} s per scenario)\n`);
console.log(`load average at start: ${loadAtStart}; the simulator runs in this process and shares the 2 cores`);
console.log('');
console.log('| scenario | invocations/s | p50 ms | p99 ms | chunks/response | plugin CPU µs/invocation |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) console.log(`| ${r.name} | ${f(r.rps, 0)} | ${f(r.p50, 2)} | ${f(r.p99, 2)} | ${f(r.chunks, 2)} | ${f(r.cpuPerCall, 0)} |`);
console.log('');
console.log('| start-up and memory | value |');
console.log('| --- | ---: |');
console.log(`| first heartbeat after spawn (median of 5) | ${f(heartbeats[2], 0)} ms wall, ${f(heartbeatCpu[2], 0)} ms plugin CPU |`);
console.log(`| idle RSS | ${f(idle.rss)} MiB |`);
console.log(`| peak RSS (VmHWM) | ${f(peak.hwm)} MiB |`);
console.log(`| peak RSS after each scenario (trivial, blocking, 20-event) | ${Object.values(rssAfter).map((v) => f(v)).join(' / ')} MiB |`);
console.log(`| V8 heap total / used at the end | ${f(heap.heapTotal / 1048576)} / ${f(heap.heapUsed / 1048576)} MiB |`);
