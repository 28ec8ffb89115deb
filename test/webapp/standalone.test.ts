/**
 * The chat page on the real standalone server (the bundled `dist/standalone.mjs` code, run as a
 * process with OpenDify-style env), in front of the fake Dify Service API: the page at `/`, an app
 * picker for the DIFY_API_KEYS apps, and stop reaching Dify's stop endpoint.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startFakeDifyServiceApi, type FakeDifyServiceApi } from '../fakes/dify-service-api.js';
import { freePort, waitFor } from '../standalone/helpers.js';
import { audioEnded, countEndedAudio, launchBrowser } from './browser.js';

const ROOT = resolve(import.meta.dirname, '../..');
const KEYS = ['app-WEBchat000000000000000001', 'app-WEBflow000000000000000002'];

let fake: FakeDifyServiceApi;
let browser: Browser;
let child: ChildProcess;
let url: string;
let bundle: string;

beforeAll(async () => {
  // Our own bundle of the standalone entry (dist/ is shared with other suites building at the same time).
  const outDir = join(ROOT, 'node_modules/.cache/webapp-standalone');
  mkdirSync(outDir, { recursive: true });
  bundle = join(outDir, `standalone-${process.pid}.mjs`);
  const [, b, f, port] = await Promise.all([
    build({ entryPoints: [join(ROOT, 'src/standalone/main.ts')], outfile: bundle, bundle: true, platform: 'node', format: 'esm', target: 'node22', packages: 'external', logLevel: 'warning' }),
    launchBrowser(),
    startFakeDifyServiceApi({
      apps: [
        { key: KEYS[0]!, name: 'Helpdesk', mode: 'chat', parameters: { opening_statement: 'How can I help you today?', suggested_questions: [], suggested_questions_after_answer: { enabled: true }, text_to_speech: { enabled: true, voice: 'alloy' }, speech_to_text: { enabled: true }, user_input_form: [], file_upload: { image: { enabled: false } } } },
        { key: KEYS[1]!, name: 'Research Flow', mode: 'advanced-chat' },
      ],
    }),
    freePort(),
  ]);
  browser = b;
  fake = f;
  child = spawn(process.execPath, [bundle], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DIFY_API_KEYS: KEYS.join(','), DIFY_API_BASE: fake.baseUrl, SERVER_HOST: '127.0.0.1', SERVER_PORT: String(port), CONVERSATION_MEMORY_MODE: 'history', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    try {
      return (await fetch(`${url}/`)).ok;
    } catch {
      return false;
    }
  }, 20_000, 'the standalone server');
}, 60_000);

afterAll(async () => {
  child?.kill();
  await browser?.close();
  await fake?.close();
  if (bundle) for (const f of [bundle, `${bundle}.map`]) rmSync(f, { force: true });
});

test('page at /, app picker over DIFY_API_KEYS, the chosen app answers, stop reaches Dify', async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  await page.goto(`${url}/`);
  await expect(page.locator('.app-picker option').allTextContents()).resolves.toEqual(['Helpdesk', 'Research Flow']);
  await expect(page.locator('.welcome-text').textContent()).resolves.toContain('How can I help you today?');

  await page.selectOption('.app-picker', { label: 'Research Flow' });
  await page.waitForSelector('.bot-name:has-text("Research Flow")');
  await page.fill('.composer-input', 'what is new?');
  await page.press('.composer-input', 'Enter');
  await page.waitForSelector('.msg-bot .content:has-text("Echo: what is new?")');
  const run = fake.requests.filter((r) => r.path.endsWith('/chat-messages')).at(-1)!;
  expect(run.authorization).toBe(`Bearer ${KEYS[1]}`);
  expect(run.body).toMatchObject({ query: 'what is new?', response_mode: 'streaming' });
  expect(String(run.body!.user)).toMatch(/^webapp-/);

  fake.script({ hangAfterFirst: true });
  await page.fill('.composer-input', 'take your time');
  await page.press('.composer-input', 'Enter');
  await page.waitForSelector('.msg-bot .bubble.streaming .content');
  await page.click('.send-btn');
  await page.waitForSelector('.msg-bot .msg-note');
  // The standalone backend turns the page's stop into Dify's POST /chat-messages/:task_id/stop.
  await waitFor(() => fake.stops.length === 1, 5000, 'a stop call to Dify');
  expect(fake.stops[0]!.user).toBe(run.body!.user);
  await context.close();
});

test("follow-up questions the app suggests appear under the latest answer, ratings reach Dify as the page's end user, and answers are read in the app's voice", async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
  // A browser without speech recognition of its own (Firefox): voice input only where the app transcribes.
  await context.addInitScript(() => {
    delete (window as unknown as { webkitSpeechRecognition?: unknown }).webkitSpeechRecognition;
    delete (window as unknown as { SpeechRecognition?: unknown }).SpeechRecognition;
  });
  await countEndedAudio(context);
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  await page.goto(`${url}/`);
  await page.waitForSelector('.bot-name:has-text("Helpdesk")');
  fake.script({ answer: 'You get 25 days.', followUps: ['What about sick leave?', 'Can I carry days over?'] });
  await page.fill('.composer-input', 'how much leave?');
  await page.press('.composer-input', 'Enter');
  await page.waitForSelector('.follow-ups .chip');
  await expect(page.locator('.follow-ups .chip').allTextContents()).resolves.toEqual(['What about sick leave?', 'Can I carry days over?']);
  const run = fake.requests.filter((r) => r.path.endsWith('/chat-messages')).at(-1)!;
  const asked = fake.requests.filter((r) => r.path.includes('/suggested'));
  expect(asked.at(-1)!.path).toContain(`user=${encodeURIComponent(String(run.body!.user))}`);

  // Like, then take it back: Dify gets both, for this browser's end user.
  await page.click('.msg-bot:not(.msg-welcome) .rate-like');
  await waitFor(() => fake.feedbacks.length === 1, 5000, 'a like');
  await page.waitForSelector('.msg-bot:not(.msg-welcome) .rate-like[aria-pressed="true"]');
  await page.click('.msg-bot:not(.msg-welcome) .rate-like');
  await waitFor(() => fake.feedbacks.length === 2, 5000, 'the like withdrawn');
  expect(fake.feedbacks.map((f) => [f.rating, f.user])).toEqual([['like', run.body!.user], [null, run.body!.user]]);

  // Read aloud in the app's voice: the page plays what Dify's text-to-audio made for this answer.
  const answerEl = page.locator('.msg-bot:not(.msg-welcome)').last();
  await answerEl.locator('.read').click();
  await waitFor(() => fake.requests.some((r) => r.path === '/v1/text-to-audio'), 5000, 'a text-to-audio call');
  const tts = fake.requests.find((r) => r.path === '/v1/text-to-audio')!;
  expect(tts.body).toEqual({ message_id: expect.stringMatching(/^[0-9a-f-]{36}$/), user: run.body!.user });
  // The short clip plays to its end and the button offers reading again.
  await audioEnded(page, 1);
  await expect(answerEl.locator('.read').getAttribute('aria-label')).resolves.toBe('Read aloud');

  // Voice input through the app's speech to text: record, stop, the text lands in the composer.
  await page.click('.mic');
  await page.waitForSelector('.mic[aria-pressed="true"]');
  await page.waitForTimeout(800);
  await page.click('.mic');
  await page.waitForFunction(() => (document.querySelector('.composer-input') as HTMLTextAreaElement).value.startsWith('Heard'));
  const heard = fake.transcriptions.at(-1)!;
  expect(heard).toMatchObject({ user: run.body!.user, mimeType: 'audio/wav' });
  expect(heard.seconds).toBeGreaterThan(0.5);
  await page.fill('.composer-input', '');

  // A chip asks its question; the earlier answer's chips go away.
  fake.script({ answer: 'Ten sick days.' });
  await page.click('.follow-ups .chip >> nth=0');
  await page.waitForSelector('.msg-bot .content:has-text("Ten sick days.")');
  await expect(page.locator('.msg-user').last().textContent()).resolves.toContain('What about sick leave?');
  await expect(page.locator('.follow-ups').count()).resolves.toBe(0);

  // The other app has no speech to text, and this browser recognizes none: no mic there.
  await expect(page.locator('.mic').isVisible()).resolves.toBe(true);
  await page.selectOption('.app-picker', { label: 'Research Flow' });
  await page.waitForSelector('.bot-name:has-text("Research Flow")');
  await page.waitForSelector('.mic', { state: 'hidden' });
  await context.close();
});
