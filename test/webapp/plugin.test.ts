/**
 * The chat page as an installed plugin: the bundled runtime under the daemon simulator, a real
 * Chromium on the daemon's /e/<hook>/ front, the app answered through the `app` reverse invocation.
 * Checks what only this path can break: relative URLs under /e/<hook>/, streaming through the
 * daemon's chunked body, the cookie surviving its one-value-per-header rule, stop without a disconnect signal.
 */
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startGroupPlugin } from '../daemon/plugin-bundle.js';
import type { SimulatedDaemon } from '../daemon/simulator.js';
import { silentWav } from '../fakes/dify-service-api.js';
import { chatStream, messageEvent } from '../fakes/dify-apps.js';
import { audioEnded, countEndedAudio, launchBrowser } from './browser.js';
import { RICH_ANSWER } from './fake-app.js';

const APP_ID = 'app-webapp-0001';

let daemon: SimulatedDaemon;
let browser: Browser;
let base: string;
let gatedBase: string;
let voiceBase: string;

/** A short silent WAV, as a TTS provider plugin would stream it (hex, in two pieces). */
function silentWavHex(seconds: number): string[] {
  const hex = silentWav(seconds).toString('hex');
  return [hex.slice(0, 1000), hex.slice(1000)];
}

/** Opened by the streaming test to let the held-back part of an answer through. */
let release: () => void = () => undefined;
let held = new Promise<void>((r) => (release = r));
const owners = new Map<string, string>();

async function* appReverse(request: Record<string, any>): AsyncIterable<Record<string, any>> {
  const query = String(request.query ?? '');
  if (request.conversation_id && owners.get(request.conversation_id) !== request.user) {
    throw new Error('read app failed: request failed: {"code": "not_found", "message": "Conversation Not Exists.", "status": 404}');
  }
  const conversationId = request.conversation_id || randomUUID();
  owners.set(conversationId, request.user);
  const ids = { conversationId, messageId: randomUUID(), taskId: randomUUID() };
  if (query.includes('slow')) {
    const events = chatStream({ ...ids, chunks: ['Streaming through ', 'the daemon', ' — and done.'] });
    yield events[0]!;
    yield events[1]!;
    await held;
    yield* events.slice(2);
    return;
  }
  if (query.includes('forever')) {
    const i = { ...ids, workflowRunId: randomUUID(), createdAt: 1776052800 };
    for (let n = 0; n < 2000; n++) {
      yield messageEvent(i, `tick ${n}. `);
      await new Promise((r) => setTimeout(r, 40));
    }
    return;
  }
  yield* chatStream({ ...ids, chunks: RICH_ANSWER });
}

beforeAll(async () => {
  browser = await launchBrowser();
  daemon = await startGroupPlugin('webapp-skin', {
    app: appReverse,
    tts: function* () {
      for (const result of silentWavHex(0.3)) yield { result };
    },
    speech2text: (request) => {
      const wav = Buffer.from(String(request.file), 'hex');
      const seconds = wav.readUInt32LE(40) / wav.readUInt32LE(28);
      return { result: `Heard ${seconds.toFixed(1)} seconds through the daemon` };
    },
    fetch_app: () => ({
      name: 'Plugin Helper',
      mode: 'chat',
      opening_statement: 'Hello from inside Dify.',
      suggested_questions: ['What can you do?'],
      user_input_form: [],
    }),
  });
  base = await daemon.listen({ settings: { app: { app_id: APP_ID }, skin: 'korean', language: 'en' } });
  gatedBase = await daemon.listen({ settings: { app: { app_id: APP_ID }, skin: 'classic', language: 'en', password: 'hunter2' } });
  voiceBase = await daemon.listen({
    settings: {
      app: { app_id: APP_ID },
      skin: 'minimal',
      language: 'en',
      tts_model: { provider: 'langgenius/openai/openai', model: 'tts-1', model_type: 'tts', voice: 'alloy' },
      stt_model: { provider: 'langgenius/openai/openai', model: 'whisper-1', model_type: 'speech2text' },
    },
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await daemon?.close();
});

async function openPage(url: string): Promise<{ page: Page; close(): Promise<void>; foreign: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const foreign: string[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.hostname !== '127.0.0.1') foreign.push(r.url());
  });
  await page.goto(url);
  return { page, close: () => context.close(), foreign };
}

async function ask(page: Page, text: string): Promise<void> {
  await page.fill('.composer-input', text);
  await page.press('.composer-input', 'Enter');
}

async function lastAnswerDone(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const bots = document.querySelectorAll('.msg-bot:not(.msg-welcome)');
    const last = bots[bots.length - 1];
    return !!last && !last.querySelector('.bubble.streaming');
  });
}

const appCalls = () => daemon.reverseCalls.filter((c) => c.type === 'app');

describe('chat page behind the daemon (/e/<hook>/)', () => {
  test('loads with its assets under the hook path and streams an answer before it ends', async () => {
    const { page, close, foreign } = await openPage(`${base}/`);
    await page.waitForSelector('.welcome');
    await expect(page.locator('.welcome-title').textContent()).resolves.toBe('Plugin Helper');
    await expect(page.locator('.welcome-text').textContent()).resolves.toContain('Hello from inside Dify.');
    // The skin's stylesheet came through the daemon: the Kakao-yellow send button is styled.
    const skinned = await page.evaluate(() => getComputedStyle(document.querySelector('.app')!).backgroundColor);
    expect(skinned).toBe('rgb(186, 206, 224)');

    held = new Promise<void>((r) => (release = r));
    await ask(page, 'a slow one');
    await page.waitForSelector('.msg-bot .content:has-text("Streaming through the daemon")');
    await expect(page.locator('.msg-bot .bubble.streaming').count()).resolves.toBe(1);
    release();
    await page.waitForSelector('.msg-bot .content:has-text("and done.")');
    await lastAnswerDone(page);
    const call = appCalls().at(-1)!;
    expect(call.request).toMatchObject({ app_id: APP_ID, query: 'a slow one', response_mode: 'streaming' });
    expect(call.request.user).toMatch(/^webapp-/);
    expect(foreign).toEqual([]);
    await close();
  });

  test("with a TTS and a speech-to-text model chosen in the settings, answers are read in that voice and voice input is transcribed by that model", async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
    context.setDefaultTimeout(10_000);
    await countEndedAudio(context);
    const page = await context.newPage();
    await page.goto(`${voiceBase}/`);
    await ask(page, 'hello there');
    await lastAnswerDone(page);
    await page.locator('.msg-bot:not(.msg-welcome) .read').last().click();
    await audioEnded(page, 1);
    const tts = daemon.reverseCalls.filter((c) => c.type === 'tts').at(-1)!;
    expect(tts.request).toMatchObject({ provider: 'langgenius/openai/openai', model: 'tts-1', model_type: 'tts', voice: 'alloy' });
    expect(tts.request.content_text).toContain('quick summary');

    await page.click('.mic');
    await page.waitForSelector('.mic[aria-pressed="true"]');
    await page.waitForTimeout(700);
    await page.click('.mic');
    await page.waitForFunction(() => (document.querySelector('.composer-input') as HTMLTextAreaElement).value.includes('through the daemon'));
    const stt = daemon.reverseCalls.filter((c) => c.type === 'speech2text').at(-1)!;
    expect(stt.request).toMatchObject({ provider: 'langgenius/openai/openai', model: 'whisper-1', model_type: 'speech2text' });
    expect(Buffer.from(String(stt.request.file), 'hex').subarray(0, 4).toString('latin1')).toBe('RIFF');
    await context.close();
  });

  test('markdown renders, and a reload continues the same Dify conversation', async () => {
    const { page, close } = await openPage(`${base}/`);
    await page.waitForSelector('.composer-input');
    await ask(page, 'show me the plans');
    await lastAnswerDone(page);
    await expect(page.locator('.msg-bot:not(.msg-welcome) table td').first().textContent()).resolves.toBe('Starter');
    await expect(page.locator('.msg-bot:not(.msg-welcome) .hljs-keyword').first().textContent()).resolves.toBe('def');
    const first = appCalls().at(-1)!.request;
    expect(first.conversation_id ?? '').toBe('');

    await page.reload();
    await page.waitForSelector('.msg-user:has-text("show me the plans")');
    await ask(page, 'and the next question');
    await lastAnswerDone(page);
    const second = appCalls().at(-1)!.request;
    expect(second.query).toBe('and the next question');
    expect(second.user).toBe(first.user);
    expect(second.conversation_id).toBeTruthy();
    expect(owners.get(second.conversation_id)).toBe(first.user);
    await close();
  });

  test('stop halts the answer even though the daemon never reports the disconnect', async () => {
    const { page, close } = await openPage(`${base}/`);
    await page.waitForSelector('.composer-input');
    const stops: number[] = [];
    page.on('response', async (r) => {
      if (r.url().endsWith('/api/stop')) stops.push(((await r.json()) as { stopped: boolean }).stopped ? 1 : 0);
    });
    await ask(page, 'go forever');
    await page.waitForSelector('.msg-bot .content:has-text("tick 2.")');
    await page.click('.send-btn');
    await page.waitForSelector('.msg-bot .msg-note:has-text("Stopped")');
    await expect.poll(() => stops).toEqual([1]);
    await close();
  });

  test('password gate: login form only, wrong password refused, the single cookie lets the page in', async () => {
    const { page, close } = await openPage(`${gatedBase}/`);
    await page.waitForSelector('form.login-card');
    expect(await page.content()).not.toContain('Plugin Helper');
    await expect(page.evaluate(async () => (await fetch('api/chat', { method: 'POST', body: '{}' })).status)).resolves.toBe(401);
    await page.fill('#password', 'hunter3');
    await page.click('.login-button');
    await page.waitForSelector('.login-error');
    await page.fill('#password', 'hunter2');
    await page.click('.login-button');
    await page.waitForSelector('.welcome-title:has-text("Plugin Helper")');
    expect(new URL(page.url()).pathname).toBe(new URL(`${gatedBase}/`).pathname);
    await ask(page, 'hello after login');
    await lastAnswerDone(page);
    await close();
  });
});
