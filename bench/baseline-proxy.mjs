// Bench child: the baseline. A minimal pass-through proxy on node:http: reads the OpenAI request,
// sends the equivalent Dify request over a keep-alive pool, and pipes Dify's body back untouched.
import http from 'node:http';

const upstream = new URL(process.env.UPSTREAM);
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const last = body.messages[body.messages.length - 1];
    const payload = JSON.stringify({ inputs: {}, query: last.content, response_mode: body.stream ? 'streaming' : 'blocking', conversation_id: '', user: body.user ?? 'bench' });
    const up = http.request(
      { host: upstream.hostname, port: upstream.port, path: `${upstream.pathname}/chat-messages`, method: 'POST', agent, headers: { authorization: 'Bearer app-bench', 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (upRes) => {
        res.writeHead(upRes.statusCode, { 'content-type': upRes.headers['content-type'] });
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    up.end(payload);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.send({ ready: true, port: server.address().port }));
process.on('message', (m) => {
  if (m === 'stats' || m === 'stats-gc') {
    if (m === 'stats-gc') globalThis.gc?.();
    process.send({ cpu: process.cpuUsage(), rss: process.memoryUsage().rss });
  }
});
