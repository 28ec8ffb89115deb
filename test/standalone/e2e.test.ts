/**
 * End to end: the built bundle (`node dist/standalone.mjs`, what `npm start` runs) as a real process,
 * configured by an OpenDify .env file left unchanged, driven by the real openai client.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDifyServiceApi, type FakeDifyServiceApi } from '../fakes/dify-service-api.js';
import { freePort, tempDir, waitFor } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BUNDLE = join(ROOT, 'dist/standalone.mjs');
const KEYS = ['app-E2Echat000000000000000001', 'app-E2Eflow000000000000000002'];

let fake: FakeDifyServiceApi;
const dirs: string[] = [];

function run(cwd: string, env: Record<string, string> = {}, args: string[] = []) {
  const child = spawn(process.execPath, [BUNDLE, ...args], { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (out.stdout += String(d)));
  child.stderr!.on('data', (d) => (out.stderr += String(d)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out, exited };
}

beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--standalone'], { cwd: ROOT, stdio: 'inherit' });
  fake = await startFakeDifyServiceApi({
    apps: [
      { key: KEYS[0]!, name: 'Helpdesk', mode: 'chat' },
      { key: KEYS[1]!, name: 'Research Flow', mode: 'advanced-chat' },
    ],
  });
}, 60_000);
afterAll(async () => {
  await fake?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('npm start (dist/standalone.mjs as a process)', () => {
  let proc: ReturnType<typeof run>;
  let port: number;
  let cwd: string;
  beforeAll(async () => {
    cwd = tempDir('bridge-e2e-');
    dirs.push(cwd);
    port = await freePort();
    // OpenDify's .env, as its users have it (comments, quotes and all).
    writeFileSync(
      join(cwd, '.env'),
      `# Dify API Keys Configuration
# Format: Comma-separated list of API keys
DIFY_API_KEYS=${KEYS.join(',')}

# Dify API Base URL
DIFY_API_BASE="${fake.baseUrl}"

# Valid API keys for clients
VALID_API_KEYS="sk-e2e-1,sk-e2e-2"

# Server Configuration
SERVER_HOST="127.0.0.1"
SERVER_PORT=${port}
TIMEOUT=30
CONVERSATION_MEMORY_MODE=2
`,
    );
    proc = run(cwd);
    await waitFor(() => proc.out.stdout.includes('listening') || proc.child.exitCode !== null, 15_000, 'server start');
    expect(proc.child.exitCode, proc.out.stderr).toBeNull();
  }, 30_000);
  afterAll(async () => {
    if (proc.child.exitCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  });

  it('serves the OpenAI API to the real client with the .env unchanged', async () => {
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-e2e-2', maxRetries: 0 });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual(['Helpdesk', 'Research Flow']);
    const answer = await client.chat.completions.create({ model: 'Helpdesk', messages: [{ role: 'user', content: '¿Qué tal? 你好' }] });
    expect(answer.choices[0]?.message.content).toBe('Echo: ¿Qué tal? 你好');
    fake.script({ chunking: 'split-utf8' });
    const stream = await client.chat.completions.create({ model: 'Research Flow', stream: true, messages: [{ role: 'user', content: 'ünïcödé 流' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Echo: ünïcödé 流');
    fake.reset();
    expect(existsSync(join(cwd, 'data', 'dify-bridge.sqlite'))).toBe(true);
    const logs = proc.out.stdout + proc.out.stderr;
    for (const secret of [...KEYS, 'sk-e2e-1', 'sk-e2e-2']) expect(logs).not.toContain(secret);
  });

  it('finishes an open stream on SIGTERM, then exits 0', async () => {
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-e2e-1', maxRetries: 0 });
    fake.script({ deltas: ['a', 'b', 'c', 'd', 'e'], delayMs: 100 });
    const stream = await client.chat.completions.create({ model: 'Helpdesk', stream: true, messages: [{ role: 'user', content: 'slow' }] });
    const it = stream[Symbol.asyncIterator]();
    let text = '';
    const first = await it.next();
    text += first.value?.choices[0]?.delta.content ?? '';
    proc.child.kill('SIGTERM');
    for (let r = await it.next(); !r.done; r = await it.next()) text += r.value.choices[0]?.delta.content ?? '';
    expect(text).toBe('abcde');
    expect(await proc.exited).toBe(0);
    fake.reset();
  });
});

describe('start-up without usable configuration', () => {
  it('prints what to set and exits non-zero when nothing is configured', async () => {
    const cwd = tempDir('bridge-e2e-empty-');
    dirs.push(cwd);
    const p = run(cwd);
    expect(await p.exited).toBe(2);
    expect(p.out.stderr).toContain('DIFY_API_BASE');
    expect(p.out.stderr).toContain('DIFY_API_KEYS');
  });

  it('names the bad setting and exits 1', async () => {
    const cwd = tempDir('bridge-e2e-bad-');
    dirs.push(cwd);
    const p = run(cwd, { DIFY_API_BASE: 'http://127.0.0.1:1/v1', DIFY_API_KEYS: 'app-x', SERVER_PORT: 'abc' });
    expect(await p.exited).toBe(1);
    expect(p.out.stderr).toMatch(/configuration error: SERVER_PORT/);
  });

  it('reports a bad --config file by name and field', async () => {
    const cwd = tempDir('bridge-e2e-yaml-');
    dirs.push(cwd);
    writeFileSync(join(cwd, 'bridge.yaml'), 'dify: { base: http://127.0.0.1:1 }\napps: { a: { key: app-a } }\nendpoints: [{ name: x, group: chat-app, app: zzz }]\n');
    const p = run(cwd, {}, ['--config', 'bridge.yaml']);
    expect(await p.exited).toBe(1);
    expect(p.out.stderr).toMatch(/bridge\.yaml: endpoints\[0\]\.app: "zzz" is not declared/);
  });
});


