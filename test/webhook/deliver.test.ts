/**
 * The webhook group in process: express on loopback, a fake Dify app replaying the reference
 * fixtures, an in-memory store. What a sender and an operator would notice.
 */
import { createHmac } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { DifyError } from '../../src/backend/types.js';
import { ASYNC_UNAVAILABLE_NOTE } from '../../src/groups/webhook/index.js';
import { SECRET, fakeApp, fixtures, githubSignature, mount } from './helpers.js';

const pr = {
  action: 'opened',
  number: 42,
  pull_request: { title: 'Publish the approved article', labels: [{ name: 'approved' }], draft: false },
  sender: { login: 'octocat' },
};
const prBody = JSON.stringify(pr);

function signedPost(server: express.Express, body: string | Buffer, path = '/webhook', contentType = 'application/json') {
  return request(server).post(path).set('Content-Type', contentType).set('X-Hub-Signature-256', githubSignature(body)).send(body);
}

describe('signatures', () => {
  it('runs a GitHub-signed delivery and answers with the workflow outputs', async () => {
    const { server, app } = mount();
    const res = await signedPost(server, prBody).set('X-GitHub-Delivery', 'd-1');
    expect(res.status).toBe(200);
    expect(res.headers['x-webhook-response-mode']).toBe('sync');
    expect(res.body).toMatchObject({
      status: 'succeeded',
      workflow_run_id: '9be4bcfc-49b6-4a08-b2e6-cc3ababced20',
      outputs: { result: "Dify facilite la mise en production d'applications LLM." },
    });
    expect(res.body.run_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(app.runs).toHaveLength(1);
    expect(app.runs[0]!.inputs).toEqual({ payload: prBody });
    expect(app.runs[0]!.query).toBeUndefined();
  });

  it('refuses an unsigned delivery with 401 and does not run', async () => {
    const { server, app } = mount();
    const res = await request(server).post('/webhook').set('Content-Type', 'application/json').send(prBody);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ status: 'error', code: 'missing_signature' });
    expect(app.runs).toHaveLength(0);
  });

  it('refuses a tampered body (signature of the original) with 401', async () => {
    const { server, app } = mount();
    const tampered = prBody.replace('octocat', 'octocaT');
    const res = await request(server)
      .post('/webhook')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', githubSignature(prBody))
      .send(tampered);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_signature');
    expect(app.runs).toHaveLength(0);
  });

  it('checks the raw bytes, not a re-serialisation of the JSON', async () => {
    const { server, app } = mount();
    const spaced = '{ "action" : "opened",\n  "sender": {"login": "octocat"} }';
    const ok = await signedPost(server, spaced);
    expect(ok.status).toBe(200);
    // The same document, serialised differently, under the first body's signature: refused.
    const res = await request(server)
      .post('/webhook')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', githubSignature(spaced))
      .send(JSON.stringify(JSON.parse(spaced)));
    expect(res.status).toBe(401);
    expect(app.runs).toHaveLength(1);
    expect(app.runs[0]!.inputs.payload).toBe(spaced);
  });

  it('refuses a signature made with another secret, and a malformed header', async () => {
    const { server, app } = mount();
    const other = await request(server)
      .post('/webhook')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', githubSignature(prBody, 'not the secret'))
      .send(prBody);
    expect(other.status).toBe(401);
    const malformed = await request(server).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', 'sha256=zz').send(prBody);
    expect(malformed.status).toBe(401);
    expect(app.runs).toHaveLength(0);
  });

  it('uses the configured signature header and accepts bare hex and base64 digests', async () => {
    const { server, app } = mount({ settings: { signature_header: 'X-Signature' } });
    const hex = githubSignature(prBody).slice('sha256='.length);
    const base64 = Buffer.from(hex, 'hex').toString('base64');
    const a = await request(server).post('/webhook').set('Content-Type', 'application/json').set('X-Signature', hex).set('X-Request-Id', 'a').send(prBody);
    const b = await request(server).post('/webhook').set('Content-Type', 'application/json').set('X-Signature', base64).set('X-Request-Id', 'b').send(prBody);
    const wrongHeader = await signedPost(server, prBody).set('X-Request-Id', 'c');
    expect([a.status, b.status, wrongHeader.status]).toEqual([200, 200, 401]);
    expect(app.runs).toHaveLength(2);
  });

  it('bearer verification: right token runs, wrong or missing token is 401 with WWW-Authenticate', async () => {
    const { server, app } = mount({ settings: { verification: 'bearer' } });
    const ok = await request(server).post('/webhook').set('Authorization', `Bearer ${SECRET}`).set('Content-Type', 'application/json').send(prBody);
    const wrong = await request(server).post('/webhook').set('Authorization', 'Bearer nope').set('X-Request-Id', 'w').send(prBody);
    const missing = await request(server).post('/webhook').set('X-Request-Id', 'm').send(prBody);
    expect(ok.status).toBe(200);
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_token');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect(app.runs).toHaveLength(1);
  });

  it('Slack signing: events and slash commands signed with the Signing Secret run; a wrong, stale or missing signature is 401', async () => {
    const { server, app } = mount({ settings: { verification: 'slack' } });
    const slack = (body: string, type: string, { at = Math.floor(Date.now() / 1000), secret = SECRET } = {}) =>
      request(server)
        .post('/webhook')
        .set('Content-Type', type)
        .set('X-Slack-Request-Timestamp', String(at))
        .set('X-Slack-Signature', 'v0=' + createHmac('sha256', secret).update(`v0:${at}:${body}`).digest('hex'))
        .send(body);
    const event = JSON.stringify({ type: 'event_callback', event_id: 'Ev1', event: { type: 'app_mention', text: 'deploy please' } });
    expect((await slack(event, 'application/json')).status).toBe(200);
    const command = 'command=%2Fdeploy&text=prod&user_name=ada';
    expect((await slack(command, 'application/x-www-form-urlencoded')).status).toBe(200);
    expect(app.runs).toHaveLength(2);

    const wrong = await slack(JSON.stringify({ type: 'event_callback', event_id: 'Ev2' }), 'application/json', { secret: 'not-the-secret' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_signature');
    const stale = await slack(JSON.stringify({ type: 'event_callback', event_id: 'Ev3' }), 'application/json', { at: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe('stale_request');
    const unsigned = await request(server).post('/webhook').set('Content-Type', 'application/json').send(event);
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.code).toBe('missing_signature');
    expect(app.runs).toHaveLength(2);

    // Slack's url_verification handshake is signed too, and answered without a run.
    const handshake = await slack(JSON.stringify({ type: 'url_verification', challenge: 'abc123' }), 'application/json');
    expect(handshake.body).toEqual({ challenge: 'abc123' });
    expect(app.runs).toHaveLength(2);
  });

  it('verification none runs unsigned deliveries', async () => {
    const { server, app } = mount({ settings: { verification: 'none', secret: '' } });
    const res = await request(server).post('/webhook').set('Content-Type', 'application/json').send(prBody);
    expect(res.status).toBe(200);
    expect(app.runs).toHaveLength(1);
  });

  it('a verification mode without a secret is a setup error (500), not an open door', async () => {
    const { server, app } = mount({ settings: { secret: '' } });
    const res = await request(server).post('/webhook').set('Content-Type', 'application/json').send(prBody);
    expect(res.status).toBe(500);
    expect(res.body.code).toBe('endpoint_misconfigured');
    expect(app.runs).toHaveLength(0);
  });

  it('an app the host cannot resolve is a setup error (500) naming the app setting', async () => {
    const { server, context } = mount();
    context.app = () => {
      throw new Error('app "digest" is not configured');
    };
    const res = await signedPost(server, prBody);
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ code: 'endpoint_misconfigured', message: expect.stringContaining('app "digest" is not configured') });
  });

  it('never writes the secret or the received signature into logs or answers', async () => {
    const { server, logs } = mount();
    const bad = githubSignature(prBody, 'attacker');
    const res = await request(server).post('/webhook').set('Content-Type', 'application/json').set('X-Hub-Signature-256', bad).send(prBody);
    await signedPost(server, prBody);
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
    expect(logs.text()).not.toContain(SECRET);
    expect(logs.text()).not.toContain(bad.slice(7));
  });
});

describe('replays', () => {
  it('runs a repeated X-GitHub-Delivery once; the repeat gets 200 duplicate', async () => {
    const { server, app } = mount();
    const first = await signedPost(server, prBody).set('X-GitHub-Delivery', '72d3162e-cc78-11e3-81ab-4c9367dc0958');
    const again = await signedPost(server, prBody).set('X-GitHub-Delivery', '72d3162e-cc78-11e3-81ab-4c9367dc0958');
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ status: 'duplicate', run_id: first.body.run_id });
    expect(app.runs).toHaveLength(1);
  });

  it('without delivery ids, the same body is a replay and a different body is not', async () => {
    const { server, app } = mount();
    await signedPost(server, prBody);
    const same = await signedPost(server, prBody);
    const other = await signedPost(server, JSON.stringify({ ...pr, number: 43 }));
    expect(same.body.status).toBe('duplicate');
    expect(other.body.status).toBe('succeeded');
    expect(app.runs).toHaveLength(2);
  });

  it('X-Request-Id identifies deliveries when there is no X-GitHub-Delivery', async () => {
    const { server, app } = mount();
    await signedPost(server, prBody).set('X-Request-Id', 'r-1');
    const differentId = await signedPost(server, prBody).set('X-Request-Id', 'r-2');
    const sameId = await signedPost(server, prBody).set('X-Request-Id', 'r-1');
    expect(differentId.body.status).toBe('succeeded');
    expect(sameId.body.status).toBe('duplicate');
    expect(app.runs).toHaveLength(2);
  });

  it('concurrent copies of one delivery start one run, even with a slow store', async () => {
    const { server, app, store } = mount();
    // Plugin storage is a round trip through the daemon: give get/set real latency so requests interleave.
    const { get, set } = store;
    store.get = async (key) => (await new Promise((r) => setTimeout(r, 20)), get(key));
    store.set = async (key, value, ttl) => (await new Promise((r) => setTimeout(r, 20)), set(key, value, ttl));
    const results = await Promise.all(
      Array.from({ length: 5 }, () => signedPost(server, prBody).set('X-GitHub-Delivery', 'burst')),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(results.filter((r) => r.body.status === 'duplicate')).toHaveLength(4);
    expect(app.runs).toHaveLength(1);
  });

  it('a bad-signature replay does not burn the delivery id', async () => {
    const { server, app } = mount();
    const forged = await request(server)
      .post('/webhook')
      .set('Content-Type', 'application/json')
      .set('X-GitHub-Delivery', 'd-forged')
      .set('X-Hub-Signature-256', githubSignature(prBody, 'x'))
      .send(prBody);
    const real = await signedPost(server, prBody).set('X-GitHub-Delivery', 'd-forged');
    expect(forged.status).toBe(401);
    expect(real.body.status).toBe('succeeded');
    expect(app.runs).toHaveLength(1);
  });

  it('a delivery answered 502 is forgotten, so the sender retry runs again', async () => {
    const { server, app } = mount({ app: fakeApp({ events: fixtures.F5c_workflow_failure }) });
    const first = await signedPost(server, prBody).set('X-GitHub-Delivery', 'retry-me');
    const retry = await signedPost(server, prBody).set('X-GitHub-Delivery', 'retry-me');
    expect(first.status).toBe(502);
    expect(retry.status).toBe(502);
    expect(app.runs).toHaveLength(2);
  });

  it('the replay record expires after five minutes', async () => {
    const { server, app, store } = mount();
    await signedPost(server, prBody).set('X-GitHub-Delivery', 'old');
    // Age the stored record past the window, as the store's TTL would.
    for (const entry of store.entries.values()) entry.expires = Date.now() - 1;
    const later = await signedPost(server, prBody).set('X-GitHub-Delivery', 'old');
    expect(later.body.status).toBe('succeeded');
    expect(app.runs).toHaveLength(2);
    const ttl = [...store.entries.values()][0]!.expires - Date.now();
    expect(ttl).toBeGreaterThan(290_000);
    expect(ttl).toBeLessThanOrEqual(300_000);
  });

  it('answers 503 (and does not run) when the replay store fails', async () => {
    const { server, app, store } = mount();
    store.get = async () => {
      throw new Error('storage down');
    };
    const res = await signedPost(server, prBody);
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('replay_store_unavailable');
    expect(app.runs).toHaveLength(0);
  });
});

describe('inputs', () => {
  const declared = [
    { variable: 'payload', type: 'paragraph', required: false },
    { variable: 'title', type: 'text-input', required: true, maxLength: 256 },
    { variable: 'author', type: 'text-input', required: false },
    { variable: 'number', type: 'number', required: false },
    { variable: 'labels', type: 'json', required: false },
    { variable: 'draft', type: 'checkbox', required: false },
    { variable: 'sender_name', type: 'text-input', required: false },
  ];

  it('maps json paths into inputs, converted to the declared types; missing paths are left out', async () => {
    const app = fakeApp({ inputs: declared });
    const { server } = mount({
      app,
      settings: {
        input_mapping:
          'title=pull_request.title, author=sender.login\nnumber=number, labels=pull_request.labels, draft=pull_request.draft, missing=no.such.path',
        name_input: 'sender_name',
      },
    });
    const res = await signedPost(server, prBody, '/webhook/github');
    expect(res.status).toBe(200);
    expect(app.runs[0]!.inputs).toEqual({
      payload: prBody,
      title: 'Publish the approved article',
      author: 'octocat',
      number: 42,
      labels: [{ name: 'approved' }],
      draft: false,
      sender_name: 'github',
    });
    expect(app.runs[0]!.user).toBe('webhook:github');
  });

  it('file inputs take URLs from the payload (Dify fetches them); a value that is not a URL is a 422 naming the input', async () => {
    const app = fakeApp({ inputs: [{ variable: 'report', type: 'file', required: false }, { variable: 'photos', type: 'file-list', required: false }] });
    const { server } = mount({ app, settings: { payload_input: '', input_mapping: 'report=form.attachment, photos=form.images' } });
    const delivery = (form: unknown) => JSON.stringify({ form });
    const ok = await signedPost(server, delivery({ attachment: 'https://files.example.com/q3/report.PDF?sig=1', images: [{ url: 'https://cdn.example.com/a.jpg' }, 'https://cdn.example.com/b'] }));
    expect(ok.status).toBe(200);
    expect(app.runs[0]!.inputs).toEqual({
      report: { type: 'document', transfer_method: 'remote_url', url: 'https://files.example.com/q3/report.PDF?sig=1' },
      photos: [
        { type: 'image', transfer_method: 'remote_url', url: 'https://cdn.example.com/a.jpg' },
        { type: 'custom', transfer_method: 'remote_url', url: 'https://cdn.example.com/b' },
      ],
    });
    for (const [form, input] of [[{ attachment: 'report.pdf' }, 'report'], [{ attachment: ['https://x.example/a.pdf'] }, 'report'], [{ images: [42] }, 'photos']] as const) {
      const bad = await signedPost(server, delivery(form));
      expect(bad.status).toBe(422);
      expect(bad.body.message).toContain(`App input "${input}"`);
    }
    expect(app.runs).toHaveLength(1);
  });

  it('objects picked into text inputs arrive as JSON text; array indexes work', async () => {
    const app = fakeApp({ inputs: declared });
    const { server } = mount({ app, settings: { input_mapping: 'author=sender, title=pull_request.labels[0].name' } });
    await signedPost(server, prBody);
    expect(app.runs[0]!.inputs.author).toBe('{"login":"octocat"}');
    expect(app.runs[0]!.inputs.title).toBe('approved');
  });

  it('a JSON-typed payload input receives the parsed object', async () => {
    const app = fakeApp({ inputs: [{ variable: 'event', type: 'json', required: true }] });
    const { server } = mount({ app, settings: { payload_input: 'event' } });
    await signedPost(server, prBody);
    expect(app.runs[0]!.inputs).toEqual({ event: pr });
  });

  it('a value too long for a text input is refused with 422 naming the input, before any run', async () => {
    const app = fakeApp({ inputs: [{ variable: 'payload', type: 'text-input', required: true, maxLength: 48 }] });
    const { server } = mount({ app });
    const res = await signedPost(server, prBody);
    expect(res.status).toBe(422);
    expect(res.body.message).toContain('"payload"');
    expect(res.body.message).toContain('48');
    expect(app.runs).toHaveLength(0);
  });

  it('a non-numeric value for a number input is refused with 422', async () => {
    const app = fakeApp({ inputs: declared });
    const { server } = mount({ app, settings: { input_mapping: 'number=sender.login' } });
    const res = await signedPost(server, prBody);
    expect(res.status).toBe(422);
    expect(app.runs).toHaveLength(0);
  });

  it('an empty payload_input passes no payload', async () => {
    const app = fakeApp({ inputs: declared });
    const { server } = mount({ app, settings: { payload_input: '', input_mapping: 'title=pull_request.title' } });
    await signedPost(server, prBody);
    expect(app.runs[0]!.inputs).toEqual({ title: 'Publish the approved article' });
  });

  it('a broken input_mapping is a setup error naming the entry', async () => {
    const { server, app } = mount({ settings: { input_mapping: 'title pull_request.title' } });
    const res = await signedPost(server, prBody);
    expect(res.status).toBe(500);
    expect(res.body.message).toContain('title pull_request.title');
    expect(app.runs).toHaveLength(0);
  });

  it('still runs when the app parameters cannot be read (values sent unconverted)', async () => {
    const app = fakeApp({ parametersFail: true });
    const { server } = mount({ app, settings: { input_mapping: 'number=number, author=sender' } });
    const res = await signedPost(server, prBody);
    expect(res.status).toBe(200);
    expect(app.runs[0]!.inputs).toEqual({ payload: prBody, number: 42, author: '{"login":"octocat"}' });
  });
});

describe('bodies', () => {
  it('form-encoded fields can be mapped, and the signature covers the raw form bytes', async () => {
    const app = fakeApp({ inputs: [{ variable: 'payload', type: 'paragraph', required: false }, { variable: 'text', type: 'text-input', required: false }] });
    const { server } = mount({ app, settings: { input_mapping: 'text=text, tags=tag' } });
    const form = 'text=hello+world&tag=a&tag=b&user_name=Steve';
    const res = await signedPost(server, form, '/webhook', 'application/x-www-form-urlencoded');
    expect(res.status).toBe(200);
    expect(app.runs[0]!.inputs).toEqual({
      payload: JSON.stringify({ text: 'hello world', tag: ['a', 'b'], user_name: 'Steve' }),
      text: 'hello world',
      tags: '["a","b"]',
    });
  });

  it('a GitHub form delivery (payload=<json>) is read as its JSON document', async () => {
    const app = fakeApp({ inputs: [{ variable: 'payload', type: 'paragraph', required: false }, { variable: 'author', type: 'text-input', required: false }] });
    const { server } = mount({ app, settings: { input_mapping: 'author=sender.login' } });
    const form = `payload=${encodeURIComponent(prBody)}`;
    const res = await signedPost(server, form, '/webhook', 'application/x-www-form-urlencoded');
    expect(res.status).toBe(200);
    expect(app.runs[0]!.inputs).toEqual({ payload: prBody, author: 'octocat' });
  });

  it('a text body goes to the payload input as it is', async () => {
    const { server, app } = mount();
    const text = 'Article 1138 was approved by the editor.\nPublish it.';
    const res = await signedPost(server, text, '/webhook', 'text/plain; charset=utf-8');
    expect(res.status).toBe(200);
    expect(app.runs[0]!.inputs).toEqual({ payload: text });
  });

  it('invalid JSON under a JSON content type is a 400 and no run', async () => {
    const { server, app } = mount();
    const res = await signedPost(server, '{"broken":', '/webhook');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_json');
    expect(app.runs).toHaveLength(0);
  });

  it('a body over 10 MiB is refused with 413 and no run', async () => {
    const { server, app } = mount({ settings: { verification: 'none', secret: '' } });
    const big = Buffer.alloc(10 * 1024 * 1024 + 1, 'a');
    const res = await request(server).post('/webhook').set('Content-Type', 'text/plain').send(big);
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
    expect(app.runs).toHaveLength(0);
  });

  it('a chunked body (no Content-Length) over 10 MiB is also refused with 413', async () => {
    const { server, app } = mount({ settings: { verification: 'none', secret: '' } });
    const listening = server.listen(0, '127.0.0.1');
    await new Promise((r) => listening.once('listening', r));
    const { port } = listening.address() as { port: number };
    try {
      const chunk = new Uint8Array(1024 * 1024).fill(97);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 11; i++) controller.enqueue(chunk);
          controller.close();
        },
      });
      const res = await fetch(`http://127.0.0.1:${port}/webhook`, { method: 'POST', body, headers: { 'content-type': 'text/plain' }, duplex: 'half' } as RequestInit);
      expect(res.status).toBe(413);
      expect(app.runs).toHaveLength(0);
    } finally {
      listening.closeAllConnections();
      await new Promise((r) => listening.close(r));
    }
  });

  it('a host that parsed the body first gets a clear 500; express.raw() upstream works', async () => {
    const parsed = mount({ before: [express.json()] });
    const res = await signedPost(parsed.server, prBody);
    expect(res.status).toBe(500);
    expect(res.body.code).toBe('body_already_parsed');
    expect(parsed.app.runs).toHaveLength(0);

    const raw = mount({ before: [express.raw({ type: '*/*', limit: '11mb' })] });
    const ok = await signedPost(raw.server, prBody);
    expect(ok.status).toBe(200);
    expect(raw.app.runs[0]!.inputs.payload).toBe(prBody);
  });
});

describe('challenges', () => {
  it('GET echoes challenge and hub.challenge as text', async () => {
    const { server, app } = mount();
    const plain = await request(server).get('/webhook?challenge=abc123');
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toMatch(/^text\/plain/);
    expect(plain.text).toBe('abc123');
    const hub = await request(server).get('/webhook/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=' + encodeURIComponent(SECRET));
    expect(hub.text).toBe('1158201444');
    expect(app.runs).toHaveLength(0);
  });

  it('GET with a wrong hub.verify_token is 403', async () => {
    const { server } = mount();
    const res = await request(server).get('/webhook?hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong');
    expect(res.status).toBe(403);
  });

  it('GET without a challenge says the endpoint is ready', async () => {
    const { server } = mount();
    const res = await request(server).get('/webhook');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
  });

  it('answers a Slack url_verification POST with its challenge and does not run', async () => {
    const { server, app } = mount({ settings: { verification: 'none', secret: '' } });
    const body = JSON.stringify({ token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' });
    const res = await request(server).post('/webhook').set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
    expect(app.runs).toHaveLength(0);
  });

  it('a url_verification POST still has to pass verification when one is configured', async () => {
    const { server } = mount();
    const res = await request(server).post('/webhook').set('Content-Type', 'application/json').send({ type: 'url_verification', challenge: 'x' });
    expect(res.status).toBe(401);
  });
});

describe('sync outcomes', () => {
  it('a failed workflow answers 502 with the workflow error message', async () => {
    const { server, logs } = mount({ app: fakeApp({ events: fixtures.F5c_workflow_failure }) });
    const res = await signedPost(server, prBody);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({
      status: 'failed',
      code: 'workflow_failed',
      message: 'Code execution failed: division by zero',
      workflow_run_id: '2b9e7c41-85d3-4f6a-a0c2-9d1e3f4b5a67',
    });
    expect((await logs.waitFor('webhook run failed')).error).toBe('Code execution failed: division by zero');
  });

  it('a chatflow failure (workflow_finished failed, then error) answers 502 with the workflow error', async () => {
    const { server } = mount({ app: fakeApp({ mode: 'advanced-chat', events: fixtures.F5b_chatflow_failure }) });
    const res = await signedPost(server, prBody);
    expect(res.status).toBe(502);
    expect(res.body.message).toContain('Incorrect API key provided');
    expect(res.body.message).not.toMatch(/^Run failed/);
  });

  it('Dify refusing the run answers 502 with its message; a rate limit answers 503 with Retry-After', async () => {
    const refused = mount({ app: fakeApp({ failWith: new DifyError('title is required in input form', 'invalid_param', 400) }) });
    const res = await signedPost(refused.server, prBody);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ status: 'failed', code: 'invalid_param', message: 'title is required in input form' });

    const limited = mount({ app: fakeApp({ failWith: new DifyError('Too many requests', 'too_many_requests', 429, 7) }) });
    const busy = await signedPost(limited.server, prBody);
    expect(busy.status).toBe(503);
    expect(busy.headers['retry-after']).toBe('7');
  });

  it('a chat app gets the payload as its message and the answer comes back', async () => {
    const app = fakeApp({ mode: 'chat', events: fixtures.F1_chat, inputs: [] });
    const { server } = mount({ app });
    const text = 'Hi, how are you?';
    const res = await signedPost(server, text, '/webhook', 'text/plain');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'succeeded',
      answer: "Hello! I'm doing well, thanks for asking. How can I help you today?",
      message_id: 'd23f0824-128b-4f33-8c5c-7fd0a6a3a450',
      conversation_id: '6513270e-269e-4d37-b2a7-4de452e6b438',
    });
    expect(app.runs[0]!.query).toBe(text);
  });

  it('the outcome follows the events, not the reported mode (the plugin host cannot always tell it)', async () => {
    // A workflow app that the host reports as a chatflow: it gets a query (Dify ignores it for
    // workflows) and the answer still carries the workflow outputs.
    const app = fakeApp({ mode: 'advanced-chat', events: fixtures.F4_workflow });
    const { server } = mount({ app });
    const res = await signedPost(server, prBody);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'succeeded', outputs: { result: "Dify facilite la mise en production d'applications LLM." } });
    expect(app.runs[0]!.query).toBe(prBody);
  });

  it('a chat app with a JSON delivery gets the JSON text as its message', async () => {
    const app = fakeApp({ mode: 'advanced-chat', events: fixtures.F1_chat, inputs: [] });
    const { server } = mount({ app });
    await signedPost(server, prBody);
    expect(app.runs[0]!.query).toBe(prBody);
  });
});

describe('async', () => {
  it('standalone: 202 at once with our run id while the run goes on; its outcome is logged', async () => {
    const app = fakeApp({ gate: true });
    const { server, logs } = mount({ app, backgroundWork: true, settings: { response_mode: 'async' } });
    const res = await signedPost(server, prBody);
    expect(res.status).toBe(202);
    expect(res.headers['x-webhook-response-mode']).toBe('async');
    expect(res.body).toEqual({ status: 'accepted', run_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    // The run is still waiting for its last event: the answer did not wait for it.
    expect(logs.lines.some((l) => l.msg === 'webhook run finished')).toBe(false);
    app.release();
    const done = await logs.waitFor('webhook run finished');
    expect(done).toMatchObject({ run_id: res.body.run_id, workflow_run_id: '9be4bcfc-49b6-4a08-b2e6-cc3ababced20', status: 'succeeded' });
  });

  it('standalone: a failing async run is logged with the workflow error', async () => {
    const { server, logs } = mount({ app: fakeApp({ events: fixtures.F5c_workflow_failure }), backgroundWork: true, settings: { response_mode: 'async' } });
    const res = await signedPost(server, prBody);
    expect(res.status).toBe(202);
    const failed = await logs.waitFor('webhook run failed');
    expect(failed).toMatchObject({ run_id: res.body.run_id, error: 'Code execution failed: division by zero', level: 50 });
  });

  it('standalone: a run Dify refuses outright is logged too, not thrown into the void', async () => {
    const { server, logs } = mount({
      app: fakeApp({ failWith: new DifyError('app_unavailable', 'app_unavailable', 400) }),
      backgroundWork: true,
      settings: { response_mode: 'async' },
    });
    const res = await signedPost(server, prBody);
    expect(res.status).toBe(202);
    expect((await logs.waitFor('webhook run failed')).code).toBe('app_unavailable');
  });

  it('plugin host (no background work): async runs synchronously and says so', async () => {
    const { server, app } = mount({ settings: { response_mode: 'async' } });
    const res = await signedPost(server, prBody);
    expect(res.status).toBe(200);
    expect(res.headers['x-webhook-response-mode']).toBe('sync');
    expect(res.body).toMatchObject({ status: 'succeeded', note: ASYNC_UNAVAILABLE_NOTE });
    expect(app.runs).toHaveLength(1);
  });
});
