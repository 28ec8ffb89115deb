/**
 * The webhook group in the standalone server, over the fake Dify Service API on loopback: the host
 * where async answers are possible because work may outlive the HTTP answer.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configFromYaml } from '../../src/standalone/config.js';
import { createStandaloneServer, type StandaloneServer } from '../../src/standalone/server.js';
import { startFakeDifyServiceApi, type FakeDifyServiceApi } from '../fakes/dify-service-api.js';
import { capturedLog, githubSignature, type CapturedLog } from './helpers.js';

const HOOK_SECRET = 'standalone-hook-secret';
let fake: FakeDifyServiceApi;
let server: StandaloneServer;
let logs: CapturedLog;
const dir = mkdtempSync(join(tmpdir(), 'webhook-standalone-'));

beforeAll(async () => {
  fake = await startFakeDifyServiceApi({
    apps: [
      { key: 'app-hookDigest0000000000000001', name: 'Digest', mode: 'workflow' },
      { key: 'app-hookSupport000000000000002', name: 'Support', mode: 'chat' },
    ],
  });
  const file = join(dir, 'bridge.yaml');
  writeFileSync(
    file,
    `server: { host: 127.0.0.1, port: 0 }
dify: { base: "${fake.baseUrl}" }
store: { sqlite_file: "${join(dir, 'db.sqlite')}" }
apps:
  digest: { key: app-hookDigest0000000000000001 }
  support: { key: app-hookSupport000000000000002 }
endpoints:
  - name: digest-async
    group: webhook
    prefix: /hooks/async
    app: digest
    settings: { verification: hmac_sha256, secret: ${HOOK_SECRET}, payload_input: query, response_mode: async }
  - name: digest-sync
    group: webhook
    prefix: /hooks/sync
    app: digest
    settings: { verification: hmac_sha256, secret: ${HOOK_SECRET}, payload_input: query, response_mode: sync }
  - name: support-hook
    group: webhook
    prefix: /hooks/chat
    app: support
    settings: { verification: none, response_mode: sync }
  # every optional setting present but empty (YAML null) or blank: the defaults apply
  - name: digest-unset
    group: webhook
    prefix: /hooks/unset
    app: digest
    settings:
      verification:
      secret: ${HOOK_SECRET}
      signature_header:
      payload_input:
      input_mapping: ""
      name_input:
      response_mode: ""
`,
  );
  logs = capturedLog();
  server = await createStandaloneServer({ config: configFromYaml(file, {}), log: logs.log });
  await server.listen();
});

afterAll(async () => {
  await server?.close(1000);
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  fake.reset();
  logs.lines.splice(0);
});

function post(path: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': githubSignature(body, HOOK_SECRET), ...headers },
    body,
  });
}

const workflowRuns = () => fake.requests.filter((r) => r.path === '/v1/workflows/run');

describe('webhook on the standalone server', () => {
  it('sync: waits for the workflow and answers with its outputs', async () => {
    const body = JSON.stringify({ article: { id: 7, title: 'Approved' } });
    const res = await post('/hooks/sync/webhook', body);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'succeeded', outputs: { answer: `Echo: ${body}` } });
    expect(workflowRuns()).toHaveLength(1);
  });

  it('async: 202 with our run id; the outcome is logged under it', async () => {
    const res = await post('/hooks/async/webhook', JSON.stringify({ article: { id: 9 } }));
    expect(res.headers.get('x-webhook-response-mode')).not.toBe('sync');
    expect(res.status).toBe(202);
    const answer = (await res.json()) as { status: string; run_id: string };
    expect(answer).toEqual({ status: 'accepted', run_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const done = await logs.waitFor('webhook run finished');
    expect(done).toMatchObject({ run_id: answer.run_id, status: 'succeeded' });
  });

  it('async: the answer does not wait for a workflow that is still streaming', async () => {
    const probe = await post('/hooks/async/webhook', JSON.stringify({ probe: true }));
    expect(probe.headers.get('x-webhook-response-mode')).not.toBe('sync');
    await logs.waitFor('webhook run finished');
    // Hold the workflow open after its first delta.
    fake.script({ hangAfterFirst: true });
    const res = await post('/hooks/async/webhook', JSON.stringify({ article: { id: 8 } }));
    expect(res.status).toBe(202);
    const deadline = Date.now() + 5000;
    while (fake.openStreams() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(fake.openStreams()).toBe(1);
    expect(logs.lines.filter((l) => l.msg === 'webhook run finished')).toHaveLength(1);
  });

  it('a chat app gets the payload as its query', async () => {
    const res = await fetch(`${server.url}/hooks/chat/webhook`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'Build 1138 failed on main' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'succeeded', answer: 'Echo: Build 1138 failed on main' });
    const run = fake.requests.find((r) => r.path === '/v1/chat-messages');
    expect(run?.body?.query).toBe('Build 1138 failed on main');
  });

  it('settings left empty (null or blank) take their defaults: HMAC on X-Hub-Signature-256, the payload in "payload", sync', async () => {
    const body = JSON.stringify({ article: { id: 11 } });
    const res = await post('/hooks/unset/webhook', body);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-webhook-response-mode')).not.toBe('async');
    expect(await res.json()).toMatchObject({ status: 'succeeded' });
    const run = workflowRuns();
    expect(run).toHaveLength(1);
    expect(run[0]!.body?.inputs).toMatchObject({ payload: expect.anything() });
    // verification defaulted to hmac_sha256: an unsigned delivery is refused
    const unsigned = await post('/hooks/unset/webhook', body, { 'x-hub-signature-256': '' });
    expect(unsigned.status).toBe(401);
  });

  it('a replay is answered duplicate from the SQLite store', async () => {
    const body = JSON.stringify({ article: { id: 10 } });
    const first = await post('/hooks/sync/webhook', body, { 'x-github-delivery': 'sqlite-replay' });
    const again = await post('/hooks/sync/webhook', body, { 'x-github-delivery': 'sqlite-replay' });
    expect(first.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: 'duplicate' });
    expect(workflowRuns()).toHaveLength(1);
  });
});
