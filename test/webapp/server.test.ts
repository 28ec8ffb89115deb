/**
 * The page's HTTP side without a browser: static assets and their caching, the page document, the
 * answer stream protocol, stop, and the password gate's cookie.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PageEvent } from '../../src/groups/webapp-skin/translate.js';
import { parseSettings } from '../../src/groups/webapp-skin/settings.js';
import { FakeChatApp } from './fake-app.js';
import { listen, mountGroup } from './mount.js';

const app = new FakeChatApp();
const servers: Array<{ close(): Promise<void> }> = [];
let url: string;
let gated: string;

beforeAll(async () => {
  const open = await listen(mountGroup({ settings: { app: { app_id: 'app-1' }, bot_name: '</script><script>alert(1)</script>' }, apps: [app] }));
  const closed = await listen(mountGroup({ settings: { app: { app_id: 'app-1' }, password: 's3cret' }, apps: [app], endpointId: 'gated-endpoint' }));
  servers.push(open, closed);
  url = open.url;
  gated = closed.url;
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function chat(body: Record<string, unknown>, base = url): Promise<PageEvent[]> {
  const res = await fetch(`${base}/api/chat`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((f) => f.startsWith('data: '))
    .map((f) => JSON.parse(f.slice(6)) as PageEvent);
}

const uid = 'browser-0123456789';
let runs = 0;
const runId = () => `run-${String(++runs).padStart(8, '0')}`;

describe('assets', () => {
  test('served with their content types; versioned URLs cache for a year, others revalidate', async () => {
    const page = await (await fetch(`${url}/`)).text();
    const js = /src="(assets\/app\.js\?v=[0-9a-f]+)"/.exec(page)![1]!;
    const css = /href="(assets\/skin-minimal\.css\?v=[0-9a-f]+)"/.exec(page)![1]!;
    const r1 = await fetch(`${url}/${js}`);
    expect(r1.status).toBe(200);
    expect(r1.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(r1.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const r2 = await fetch(`${url}/${css}`);
    expect(r2.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const svg = await fetch(`${url}/assets/favicon.svg`);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    expect(svg.headers.get('cache-control')).toBe('no-cache');
    const again = await fetch(`${url}/assets/favicon.svg`, { headers: { 'If-None-Match': svg.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  test('unknown files and paths outside the folder are 404', async () => {
    expect((await fetch(`${url}/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${url}/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${url}/assets/../../package.json`)).status).not.toBe(200);
  });
});

describe('the page document', () => {
  test('inline config cannot break out of its script element; strict CSP; not cached', async () => {
    const res = await fetch(`${url}/`);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('\\u003c/script\\u003e');
    expect(html.match(/<script/g)).toHaveLength(2); // the JSON config and app.js, nothing else
  });

  test('language follows the setting, else the browser', async () => {
    const zh = await (await fetch(`${url}/`, { headers: { 'Accept-Language': 'zh-CN,zh;q=0.9' } })).text();
    expect(zh).toContain('<html lang="zh-CN"');
    const en = await (await fetch(`${url}/`, { headers: { 'Accept-Language': 'en-GB' } })).text();
    expect(en).toContain('<html lang="en"');
  });
});

describe('answer stream', () => {
  test('reasoning and content arrive apart; the end carries the conversation', async () => {
    const events = await chat({ query: 'think please', uid, runId: runId() });
    expect(events[0]).toMatchObject({ t: 'meta' });
    const reasoning = events.filter((e) => e.t === 'reasoning').map((e) => (e as { text: string }).text).join('');
    const content = events.filter((e) => e.t === 'content').map((e) => (e as { text: string }).text).join('');
    expect(reasoning).toContain('17 × 20 = 340');
    expect(reasoning).not.toContain('<think>');
    expect(content).toBe('17 × 23 = **391**.');
    const end = events.at(-1)!;
    expect(end).toMatchObject({ t: 'end', conversationId: app.conversationIds.at(-1) });
  });

  test('agent tools and message files', async () => {
    const events = await chat({ query: 'draw something', uid, runId: runId() });
    const tools = events.filter((e) => e.t === 'tool');
    expect(tools.at(-1)).toMatchObject({ tool: 'dalle3', observation: '{"dalle3": "image created"}' });
    expect(events.filter((e) => e.t === 'file')).toEqual([expect.objectContaining({ kind: 'image' })]);
  });

  test('a Dify error mid-stream ends the stream with an error event', async () => {
    const events = await chat({ query: 'this will fail', uid, runId: runId() });
    expect(events.at(-1)).toEqual({ t: 'error', message: 'The model provider is rate limited.', code: 'completion_request_error' });
  });

  test('a conversation Dify no longer knows starts a new one instead of failing', async () => {
    const events = await chat({ query: 'hello', uid, runId: runId(), conversationId: 'gone-conversation' });
    expect(events.some((e) => e.t === 'meta' && e.reset)).toBe(true);
    expect(events.at(-1)).toMatchObject({ t: 'end', conversationId: app.conversationIds.at(-1) });
  });

  test('bad requests are 400 naming the field', async () => {
    const post = (body: unknown) => fetch(`${url}/api/chat`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const noQuery = await post({ uid, runId: runId() });
    expect(noQuery.status).toBe(400);
    expect((await noQuery.json()).error.param).toBe('query');
    const badUid = await post({ query: 'x', uid: 'a b', runId: runId() });
    expect((await badUid.json()).error.param).toBe('uid');
    const notJson = await fetch(`${url}/api/chat`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{nope' });
    expect(notJson.status).toBe(400);
  });

  test('stop ends a run only for the browser that started it', async () => {
    const id = runId();
    const res = await fetch(`${url}/api/chat`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query: 'forever', uid, runId: id }) });
    const reader = res.body!.getReader();
    await reader.read();
    const stop = (who: string) => fetch(`${url}/api/stop`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ uid: who, runId: id }) }).then((r) => r.json());
    await expect(stop('someone-else-123')).resolves.toEqual({ stopped: false });
    await expect(stop(uid)).resolves.toEqual({ stopped: true });
    let text = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    expect(text).toContain('"t":"end"');
    expect(text).toContain('"stopped":true');
  });
});

describe('after an answer', () => {
  const post = (path: string, body: unknown, base = url) => fetch(`${base}/${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const messageId = '3f2b8c1e-9a4d-4e6f-8b1a-2c3d4e5f6a7b';

  test('on a host that cannot ask Dify (the plugin daemon): no follow-ups, ratings answered 501, and the page offers neither', async () => {
    const config = await (await fetch(`${url}/api/config`)).json();
    expect(config).not.toHaveProperty('followUps');
    expect(config).not.toHaveProperty('feedback');
    await expect((await post('api/suggested', { uid, messageId })).json()).resolves.toEqual({ questions: [] });
    const rated = await post('api/feedback', { uid, messageId, rating: 'like' });
    expect(rated.status).toBe(501);
    expect((await rated.json()).error.code).toBe('not_supported');
    expect(config).not.toHaveProperty('speech');
    expect((await post('api/speech', { uid, messageId })).status).toBe(501);
    expect(config).not.toHaveProperty('dictation');
    expect((await post('api/transcribe', { uid, type: 'audio/wav', audio: Buffer.from('RIFF').toString('base64') })).status).toBe(501);
  });

  test('bad references get a 400 naming the field; the password gate applies', async () => {
    expect((await (await post('api/feedback', { uid, messageId: '../../admin', rating: 'like' })).json()).error.param).toBe('messageId');
    expect((await (await post('api/feedback', { uid: 'x', messageId, rating: 'like' })).json()).error.param).toBe('uid');
    expect((await (await post('api/feedback', { uid, messageId, rating: 'love' })).json()).error.param).toBe('rating');
    expect((await post('api/suggested', { uid, messageId }, gated)).status).toBe(401);
    expect((await post('api/speech', { uid, messageId }, gated)).status).toBe(401);
    expect((await (await post('api/speech', { uid, messageId: 'nope' })).json()).error.param).toBe('messageId');
    // Dify refuses WebM; the page records WAV.
    expect((await (await post('api/transcribe', { uid, type: 'audio/webm', audio: 'AAAA' })).json()).error.param).toBe('type');
    expect((await (await post('api/transcribe', { uid, type: 'audio/wav', audio: 'not base64!' })).json()).error.param).toBe('audio');
  });
});

describe('password gate', () => {
  test('everything but the login form and assets needs the cookie; one Set-Cookie, HttpOnly', async () => {
    const page = await (await fetch(`${gated}/`)).text();
    expect(page).toContain('type="password"');
    expect(page).not.toContain('dbw-config');
    expect((await fetch(`${gated}/api/config`)).status).toBe(401);
    expect((await fetch(`${gated}/assets/favicon.svg`)).status).toBe(200);

    const login = (password: string, headers: Record<string, string> = {}) =>
      fetch(`${gated}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers }, body: JSON.stringify({ password }) });
    const wrong = await login('s3cre');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const right = await login('s3cret');
    expect(right.status).toBe(200);
    const cookies = right.headers.getSetCookie();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(/^dbw_[0-9a-f]{12}=[A-Za-z0-9_-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    expect(cookies[0]).not.toContain('s3cret');
    const cookie = cookies[0]!.split(';')[0]!;
    expect((await fetch(`${gated}/api/config`, { headers: { Cookie: cookie } })).status).toBe(200);
    expect((await fetch(`${gated}/api/config`, { headers: { Cookie: cookie.slice(0, -2) + 'xx' } })).status).toBe(401);

    // Behind Dify: scoped to the hook's path, Secure on https.
    const hooked = await login('s3cret', { 'Dify-Hook-Id': 'abcd1234efgh5678', 'Dify-Hook-Url': 'https://dify.example.com/e/abcd1234efgh5678/api/login' });
    expect(hooked.headers.getSetCookie()[0]).toMatch(/; Path=\/e\/abcd1234efgh5678\/; .*; Secure$/);
  });

  test('the login form speaks the browser\'s language', async () => {
    const zh = await (await fetch(`${gated}/`, { headers: { 'Accept-Language': 'zh-CN' } })).text();
    expect(zh).toContain('请输入访问密码以继续。');
  });

  test('a form login redirects back to the page, with an error flag when wrong', async () => {
    const form = (password: string) =>
      fetch(`${gated}/api/login`, { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ password }) });
    const bad = await form('nope');
    expect(bad.status).toBe(303);
    expect(bad.headers.get('location')).toBe('/?login=failed');
    const good = await form('s3cret');
    expect(good.status).toBe(303);
    expect(good.headers.get('location')).toBe('/');
  });
});

test('settings: suggestions split on "|" or new lines; unknown skin falls back to minimal', () => {
  const s = parseSettings({ suggested_questions: ' a | b\nc ', skin: 'neon', language: 'zh', bot_name: '  ' });
  expect(s.suggestedQuestions).toEqual(['a', 'b', 'c']);
  expect(s.skin).toBe('minimal');
  expect(s.language).toBe('zh');
  expect(s.botName).toBeUndefined();
});

test('the committed page assets are what web/ builds to (run node scripts/build-webapp.mjs after editing web/)', () => {
  const root = resolve(import.meta.dirname, '../..');
  const out = mkdtempSync(join(tmpdir(), 'webapp-build-'));
  try {
    execFileSync(process.execPath, [join(root, 'scripts/build-webapp.mjs'), '--out', out], { cwd: root, stdio: 'ignore' });
    const committed = join(root, '_assets/webapp');
    expect(readdirSync(committed).sort()).toEqual(readdirSync(out).sort());
    for (const file of readdirSync(out)) expect(readFileSync(join(committed, file)).equals(readFileSync(join(out, file))), file).toBe(true);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
