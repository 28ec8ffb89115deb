// Bench child: the real standalone server (dist/standalone.mjs, configured by env) plus an IPC hook
// for CPU and RSS figures.
process.on('message', (m) => {
  if (m === 'stats' || m === 'stats-gc') {
    if (m === 'stats-gc') globalThis.gc?.();
    process.send({ cpu: process.cpuUsage(), rss: process.memoryUsage().rss });
  }
});
await import('../dist/standalone.mjs');
// main() has resolved once the server listens.
process.send({ ready: true });
