/**
 * The webhook group as installed: the real plugin entry (src/plugin/main.ts, bundled like
 * `npm run build`) serving DIFY_BRIDGE_GROUP=webhook over stdio to the daemon simulator, which
 * plays Dify through reverse invocations (app events from the reference fixtures, plugin storage).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { createPluginAppHandle } from '../../src/backend/plugin-apps.js';
import { startGroupPlugin } from '../daemon/plugin-bundle.js';
import type { InvokeRequest, SimulatedDaemon } from '../daemon/simulator.js';
import { SECRET, fixtures, githubSignature } from './helpers.js';


/** The apps the simulated Dify knows, by app_id. */
const APPS: Record<string, { events: Array<Record<string, any>>; form: Array<Record<string, any>> }> = {
  'wf-ok': {
    events: fixtures.F4_workflow,
    form: [
      { paragraph: { label: 'Payload', variable: 'payload', required: false, max_length: 100000, default: '' } },
      { 'text-input': { label: 'Title', variable: 'title', required: false, max_length: 256, default: '' } },
      { number: { label: 'Number', variable: 'number', required: false, default: '' } },
      { 'text-input': { label: 'Source', variable: 'source', required: false, max_length: 48, default: '' } },
    ],
  },
  'wf-fail': { events: fixtures.F5c_workflow_failure, form: [{ paragraph: { label: 'Payload', variable: 'payload', required: false, max_length: 100000 } }] },
  'chat-ok': { events: fixtures.F1_chat, form: [] },
};

/**
 * Runs need the plugin host's app backend (src/backend/plugin-apps.ts, chat-app's). While it is the
 * placeholder, the deliveries that reach an app are skipped; everything before the app still runs.
 */
const appBackendReady = (() => {
  try {
    createPluginAppHandle({} as never, { app_id: 'probe' }, pino({ level: 'silent' }));
    return true;
  } catch (error) {
    return !/not implemented/.test(String(error));
  }
})();

let daemon: SimulatedDaemon;

beforeAll(async () => {
  daemon = await startGroupPlugin('webhook', {
    app(request) {
      const app = APPS[request.app_id];
      if (!app) throw new Error(`read app failed: request failed: App not found`);
      return app.events;
    },
    fetch_app(request) {
      const app = APPS[request.app_id];
      if (!app) throw new Error('fetch app failed: App not found');
      return { data: { user_input_form: app.form, opening_statement: '', suggested_questions: [], file_upload: { enabled: false } } };
    },
  }, { LOG_LEVEL: 'info' });
});

afterAll(async () => {
  await daemon?.close();
});

const settings = {
  app: { app_id: 'wf-ok' },
  verification: 'hmac_sha256',
  secret: SECRET,
  signature_header: 'X-Hub-Signature-256',
  payload_input: 'payload',
  input_mapping: 'title=pull_request.title, number=number',
  name_input: 'source',
  response_mode: 'sync',
};

const pr = JSON.stringify({ action: 'opened', number: 42, pull_request: { title: 'Publish the approved article' }, sender: { login: 'octocat' } });

function deliver(body: string | Buffer, extra: Partial<InvokeRequest> & { signature?: string | null; delivery?: string } = {}) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'GitHub-Hookshot/5f0c9b1', ...extra.headers };
  const signature = extra.signature === undefined ? githubSignature(body) : extra.signature;
  if (signature !== null) headers['X-Hub-Signature-256'] = signature;
  if (extra.delivery) headers['X-GitHub-Delivery'] = extra.delivery;
  return daemon.invoke({ method: 'POST', path: extra.path ?? '/webhook', headers, body, settings: { ...settings, ...extra.settings } });
}

function json(result: { body: Buffer }): any {
  return JSON.parse(result.body.toString('utf8'));
}

let appCallsBefore = 0;
const appCalls = () => daemon.reverseCalls.filter((c) => c.type === 'app').length - appCallsBefore;
beforeEach(() => {
  appCallsBefore = daemon.reverseCalls.filter((c) => c.type === 'app').length;
});

describe('webhook plugin through the daemon', () => {
  it('refuses unsigned and tampered deliveries with 401 and never calls the app', async () => {
    const unsigned = await deliver(pr, { signature: null });
    const tampered = await deliver(pr.replace('42', '43'), { signature: githubSignature(pr) });
    expect(unsigned.status).toBe(401);
    expect(json(unsigned).code).toBe('missing_signature');
    expect(tampered.status).toBe(401);
    expect(json(tampered).code).toBe('invalid_signature');
    expect(appCalls()).toBe(0);
    expect(daemon.protocolViolations).toEqual([]);
  });

  it('echoes GET challenges (query re-encoded by the daemon) and answers url_verification', async () => {
    const get = await daemon.invoke({ method: 'GET', path: '/webhook/meta', query: 'hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=' + encodeURIComponent(SECRET), settings });
    expect(get.status).toBe(200);
    expect(get.body.toString()).toBe('1158201444');
    const slack = JSON.stringify({ type: 'url_verification', challenge: 'slack-challenge-3eZbrw1a' });
    const post = await deliver(slack, { settings: { verification: 'none', secret: '' } });
    expect(json(post)).toEqual({ challenge: 'slack-challenge-3eZbrw1a' });
    expect(appCalls()).toBe(0);
  });

  it('a body the daemon cut at 10 MiB is refused with 413, not run on', async () => {
    const big = Buffer.alloc(11 * 1024 * 1024, 'a');
    const result = await deliver(big, { signature: githubSignature(big), headers: { 'Content-Type': 'text/plain' } });
    expect(result.status).toBe(413);
    expect(appCalls()).toBe(0);
  });

});

describe.skipIf(!appBackendReady)('webhook plugin runs through the daemon (needs the plugin app backend)', () => {
  it('runs a signed delivery with mapped inputs and answers with the workflow outputs (sync)', async () => {
    const result = await deliver(pr, { path: '/webhook/github', delivery: 'plugin-d-1' });
    expect(result.status).toBe(200);
    expect(result.headers['X-Webhook-Response-Mode'] ?? result.headers['x-webhook-response-mode']).toBe('sync');
    expect(json(result)).toMatchObject({
      status: 'succeeded',
      workflow_run_id: '9be4bcfc-49b6-4a08-b2e6-cc3ababced20',
      outputs: { result: "Dify facilite la mise en production d'applications LLM." },
    });
    const call = daemon.reverseCalls.filter((c) => c.type === 'app').at(-1)!;
    expect(call.request.app_id).toBe('wf-ok');
    expect(call.request.inputs).toEqual({ payload: pr, title: 'Publish the approved article', number: 42, source: 'github' });
  });

  it('a replayed delivery id is answered 200 duplicate without a second app call (plugin storage)', async () => {
    const first = await deliver(pr, { delivery: 'plugin-replay' });
    const again = await deliver(pr, { delivery: 'plugin-replay' });
    expect(first.status).toBe(200);
    expect(json(again)).toEqual({ status: 'duplicate', run_id: json(first).run_id });
    expect(appCalls()).toBe(1);
  });

  it('a failed workflow answers 502 with its error message, and the sender retry runs again', async () => {
    const failed = { settings: { app: { app_id: 'wf-fail' }, input_mapping: '' }, delivery: 'plugin-fail' };
    const result = await deliver(pr, failed);
    expect(result.status).toBe(502);
    expect(json(result)).toMatchObject({ status: 'failed', message: 'Code execution failed: division by zero' });
    // The delivery id was forgotten before the answer ended the session (and its storage).
    const retry = await deliver(pr, failed);
    expect(retry.status).toBe(502);
    expect(appCalls()).toBe(2);
  });

  it('async is answered synchronously in plugin mode, and says so', async () => {
    const result = await deliver(pr, { settings: { response_mode: 'async' }, delivery: 'plugin-async' });
    expect(result.status).toBe(200);
    expect(json(result)).toMatchObject({ status: 'succeeded', note: expect.stringContaining('plugin mode') });
    expect(appCalls()).toBe(1);
  });

  it('a chat app gets the payload as its query and the answer comes back', async () => {
    const text = 'Hi, how are you?';
    const result = await deliver(text, { settings: { app: { app_id: 'chat-ok' }, input_mapping: '' }, headers: { 'Content-Type': 'text/plain' }, delivery: 'plugin-chat' });
    expect(result.status).toBe(200);
    expect(json(result)).toMatchObject({ status: 'succeeded', answer: "Hello! I'm doing well, thanks for asking. How can I help you today?" });
    const call = daemon.reverseCalls.filter((c) => c.type === 'app').at(-1)!;
    expect(call.request.query).toBe(text);
  });

  it('form deliveries are verified over their raw bytes and mapped', async () => {
    const form = `payload=${encodeURIComponent(pr)}`;
    const result = await deliver(form, { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, delivery: 'plugin-form' });
    expect(result.status).toBe(200);
    const call = daemon.reverseCalls.filter((c) => c.type === 'app').at(-1)!;
    expect(call.request.inputs).toMatchObject({ payload: pr, title: 'Publish the approved article' });
  });
});
