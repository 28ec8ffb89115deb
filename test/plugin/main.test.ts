// dist/plugin.mjs (src/plugin/main.ts) under the daemon simulator, run from the repo root the way
// `npm run dev:remote` and local debugging do: group choice, /v1 aliases, the endpoint context, and
// start-up errors that name the file, the field and the rule.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type SimulatedDaemon } from '../daemon/simulator.js';
import { repoRoot } from '../package/packaged-plugin.js';

const bundle = join(repoRoot, 'dist/plugin.mjs');
const llmSettings = { api_key: 'sk-test', llm: { provider: 'langgenius/openai/openai', model: 'gpt-4o-mini', model_type: 'llm', mode: 'chat' } };
const running: SimulatedDaemon[] = [];

beforeAll(() => {
  if (!existsSync(bundle)) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'pipe' });
}, 120_000);

afterEach(async () => {
  for (const daemon of running.splice(0)) await daemon.close();
});

async function run(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<SimulatedDaemon> {
  const daemon = await startDaemon({ command: process.execPath, args: [bundle, ...args], cwd: options.cwd ?? repoRoot, env: { DIFY_BRIDGE_GROUP: '', ...options.env } });
  running.push(daemon);
  return daemon;
}

describe('dist/plugin.mjs from the repo root', () => {
  it('--group picks the group; every /v1 route also answers without /v1', async () => {
    const daemon = await run(['--group', 'llm']);
    await daemon.waitForHeartbeat();
    const headers = { Authorization: 'Bearer sk-test' };
    const v1 = await daemon.invoke({ method: 'GET', path: '/v1/models', headers, settings: llmSettings });
    expect(v1.status).toBe(200);
    expect(JSON.parse(v1.body.toString())).toMatchObject({ object: 'list', data: [{ id: 'dify-gpt-4o-mini', object: 'model' }] }); // gpt-* names are listed dify-prefixed (conformance #60)
    const bare = await daemon.invoke({ method: 'GET', path: '/models', headers, settings: llmSettings });
    expect(bare.status).toBe(200);
    expect(bare.body.toString()).toBe(v1.body.toString());
    // the settings reached the handler through the endpoint context: a wrong key is refused
    const refused = await daemon.invoke({ method: 'GET', path: '/models', headers: { Authorization: 'Bearer wrong' }, settings: llmSettings });
    expect(refused.status).toBe(401);
    expect(refused.body.toString()).not.toContain('sk-test');
    expect(daemon.protocolViolations).toEqual([]);
  });

  it('unknown routes answer the OpenAI envelope (404 not_found, 405 with Allow) with CORS and x-request-id; doubled slashes route', async () => {
    const daemon = await run(['--group', 'llm']);
    await daemon.waitForHeartbeat();
    const headers = { Authorization: 'Bearer sk-test', Origin: 'https://chat.example' };
    const unknown = await daemon.invoke({ method: 'GET', path: '/v1/nope', headers, settings: llmSettings });
    expect(unknown.status).toBe(404);
    expect(unknown.headers['Content-Type']).toMatch(/^application\/json/);
    expect(JSON.parse(unknown.body.toString())).toEqual({ error: { message: expect.stringContaining('/v1/nope'), type: 'invalid_request_error', param: null, code: 'not_found' } });
    expect(unknown.headers['Access-Control-Allow-Origin']).toMatch(/^(\*|https:\/\/chat\.example)$/);
    expect(unknown.headers['X-Request-Id']).toMatch(/\S/);
    const wrong = await daemon.invoke({ method: 'DELETE', path: '/v1/models', headers, settings: llmSettings });
    expect(wrong.status).toBe(405);
    expect(wrong.headers['Allow']).toContain('GET');
    expect(JSON.parse(wrong.body.toString()).error).toMatchObject({ type: 'invalid_request_error', param: null });
    expect(wrong.headers['X-Request-Id']).toMatch(/\S/);
    expect((await daemon.invoke({ method: 'GET', path: '/v1//models', headers, settings: llmSettings })).status).toBe(200);
    expect(daemon.protocolViolations).toEqual([]);
  });

  it('DIFY_BRIDGE_GROUP picks the group too', async () => {
    const daemon = await run([], { env: { DIFY_BRIDGE_GROUP: 'webhook' } });
    await daemon.waitForHeartbeat();
    const answer = await daemon.invoke({ method: 'GET', path: '/webhook', query: 'challenge=env-ok', settings: { app: { app_id: 'a' }, verification: 'none' } });
    expect(answer.body.toString()).toBe('env-ok');
  });

  it('without a group choice: one line naming the groups and how to choose, exit 1, no heartbeat', async () => {
    const daemon = await run([]);
    expect((await daemon.exited).code).toBe(1);
    expect(daemon.stderr).toBe(
      'dify-bridge: manifest.yaml: plugins.endpoints: lists 4 endpoint groups (chat-app, llm, webapp-skin, webhook) but the daemon serves one per plugin: choose one (DIFY_BRIDGE_GROUP=<group> or --group <group>)\n',
    );
    expect(daemon.heartbeats).toBe(0);
  });
});

describe('start-up errors in a plugin folder', () => {
  /** A copy of the repo's webhook plugin files with one file replaced. */
  function folderWith(files: Record<string, unknown>): string {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-bad-'));
    for (const path of ['manifest.yaml', 'settings', 'endpoints', '_assets']) cpSync(join(repoRoot, path), join(dir, path), { recursive: true });
    for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), typeof content === 'string' ? content : stringify(content));
    return dir;
  }

  it('an endpoint bound to a handler the group does not have', async () => {
    const cwd = folderWith({ 'endpoints/webhook/deliver.yaml': { path: '/webhook', method: 'POST', extra: { node: { handler: 'nope' } } } });
    const daemon = await run(['--group', 'webhook'], { cwd });
    expect((await daemon.exited).code).toBe(1);
    expect(daemon.stderr).toBe('dify-bridge: endpoints/webhook/deliver.yaml: extra.node.handler: "nope" is not a handler of the webhook group (handlers: deliver, challenge)\n');
  });

  it('a bad setting scope', async () => {
    const cwd = folderWith({
      'settings/llm.yaml': { settings: [{ name: 'llm', type: 'model-selector', scope: 'chat', label: { en_US: 'Model' } }], endpoints: [] },
    });
    const daemon = await run(['--group', 'llm'], { cwd });
    expect((await daemon.exited).code).toBe(1);
    expect(daemon.stderr).toBe(
      'dify-bridge: settings/llm.yaml: settings[0].scope: "chat" is not a valid model-selector scope (llm, text-embedding, rerank, tts, speech2text, moderation, vision, document, tool-call; join several with &)\n',
    );
    expect(daemon.protocolViolations).toEqual([]);
  });
});
