// Bench child: the fake Dify Service API (test/fakes, loaded through Node's type stripping).
// Scripts by query: "bench:<n>" -> n answer events as fast as possible; "slow" -> one event, then
// the stream stays open until the client leaves.
import { startFakeDifyServiceApi } from '../test/fakes/dify-service-api.ts';

const fake = await startFakeDifyServiceApi({ apps: [{ key: 'app-bench', name: 'Bench', mode: 'chat' }] });
fake.script((request) => {
  const query = String(request.body?.query ?? '');
  const m = /bench:(\d+)/.exec(query);
  if (m) return { deltas: Array.from({ length: Number(m[1]) }, (_, i) => `tok${i} `) };
  if (query.includes('slow')) return { hangAfterFirst: true, deltas: ['tok0 ', 'tok1 '] };
  return undefined;
});
// Recorded requests would grow without bound over a bench run.
setInterval(() => {
  fake.requests.length = 0;
  fake.stops.length = 0;
  fake.clientClosedStreams.length = 0;
}, 500).unref();
process.on('message', (m) => {
  if (m === 'stats' || m === 'stats-gc') process.send({ cpu: process.cpuUsage(), rss: process.memoryUsage().rss });
});
process.send({ ready: true, baseUrl: fake.baseUrl });
