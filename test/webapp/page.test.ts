/**
 * The chat page in a real browser, mounted standalone-like on a plain express app (the plugin path
 * runs in plugin.test.ts). One Chromium for the file; each test its own browser context.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser } from './browser.js';
import { FakeChatApp } from './fake-app.js';
import { listen, mountGroup } from './mount.js';

let browser: Browser;
const servers: Array<{ close(): Promise<void> }> = [];
const app = new FakeChatApp();
let url: string;

beforeAll(async () => {
  browser = await launchBrowser();
  const server = await listen(mountGroup({ settings: { app: { app_id: 'app-1' }, skin: 'minimal', language: 'auto' }, apps: [app] }));
  servers.push(server);
  url = server.url + '/';
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => s.close()));
});

/** A fresh context that fails the test on any request leaving loopback. */
async function open(target = url, options: Parameters<Browser['newContext']>[0] = {}): Promise<{ context: BrowserContext; page: Page; foreign: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, ...options });
  context.setDefaultTimeout(8000);
  const page = await context.newPage();
  const foreign: string[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.hostname !== '127.0.0.1') foreign.push(r.url());
  });
  await page.goto(target);
  await page.waitForSelector('.composer-input');
  return { context, page, foreign };
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

describe('chat page (standalone mount)', () => {
  test("lists the app's cited documents under the answer, folded, and keeps them after a reload", async () => {
    const { context, page } = await open();
    await page.click('.new-chat');
    await ask(page, 'cite the leave policy');
    await lastAnswerDone(page);
    const sources = page.locator('.msg-bot:not(.msg-welcome) details.sources').last();
    await expect(sources.locator('summary').textContent()).resolves.toBe('Sources (2)');
    await expect(sources.locator('blockquote').first().isVisible()).resolves.toBe(false);
    await sources.locator('summary').click();
    await expect(sources.locator('.source-name').allTextContents()).resolves.toEqual(['Leave policy.pdf', '<b>FAQ</b>.md']);
    await expect(sources.locator('.source-dataset').first().textContent()).resolves.toBe('HR handbook');
    await expect(sources.locator('blockquote').first().textContent()).resolves.toContain('25 days of paid leave per calendar year');
    // A document name is text, never markup.
    await expect(sources.locator('b').count()).resolves.toBe(0);
    // The answer text itself stays the app's: the page draws sources, it does not append them.
    await expect(page.locator('.msg-bot:not(.msg-welcome) .content').last().textContent()).resolves.toMatch(/^Employees get 25 days of paid leave.\s*$/);

    await page.reload();
    await page.waitForSelector('.msg-bot:not(.msg-welcome) details.sources');
    await expect(page.locator('details.sources summary').last().textContent()).resolves.toBe('Sources (2)');
    await context.close();
  });

  test('shows the welcome and suggestions from the app, then streams an answer token by token', async () => {
    const { context, page, foreign } = await open();
    await expect(page.locator('.welcome-title').textContent()).resolves.toBe('Aurora Assistant');
    await expect(page.locator('.welcome-text').textContent()).resolves.toContain('plans, pricing and code');
    await expect(page.locator('.chip').count()).resolves.toBe(3);

    app.resetGate();
    await ask(page, 'a slow question');
    // The first part is on screen while the app still holds the rest back.
    await page.waitForSelector('.msg-bot .content:has-text("First part of the answer")');
    await expect(page.locator('.msg-bot .bubble.streaming').count()).resolves.toBe(1);
    await expect(page.locator('.msg-bot:not(.msg-welcome) .content').textContent()).resolves.not.toContain('the rest of it');
    await expect(page.locator('.send-btn').getAttribute('aria-label')).resolves.toBe('Stop answering');
    app.slowGate.open();
    await page.waitForSelector('.msg-bot .content:has-text("and the rest of it.")');
    await lastAnswerDone(page);
    await expect(page.locator('.send-btn').getAttribute('aria-label')).resolves.toBe('Send message');

    // A suggestion chip asks its question; the answer renders markdown, a table and highlighted code.
    await page.goto(url);
    await page.locator('.msg-user').first().waitFor();
    await page.click('.new-chat');
    await page.click('.chip >> nth=1');
    await lastAnswerDone(page);
    const answer = page.locator('.msg-bot:not(.msg-welcome)').last();
    await expect(answer.locator('strong').textContent()).resolves.toBe('quick summary');
    await expect(answer.locator('table td').allTextContents()).resolves.toContain('Starter');
    await expect(answer.locator('code.language-python .hljs-keyword').first().textContent()).resolves.toBe('def');
    await expect(answer.locator('.code-lang').textContent()).resolves.toBe('python');
    expect(foreign).toEqual([]);
    await context.close();
  });

  test('an answer carrying <img onerror>, <script>, javascript: links and handlers runs nothing', async () => {
    const { context, page } = await open();
    await ask(page, 'xss please');
    await lastAnswerDone(page);
    const answer = page.locator('.msg-bot:not(.msg-welcome)').last();
    await expect(answer.textContent()).resolves.toContain('done.');
    await answer.locator('a', { hasText: 'click' }).click({ trial: false }).catch(() => undefined);
    await answer.locator('a', { hasText: 'x' }).first().click().catch(() => undefined);
    await page.waitForTimeout(200);
    await expect(page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned)).resolves.toBeUndefined();
    const html = await answer.innerHTML();
    expect(html).not.toMatch(/onerror|onclick|onload|<script|<iframe|javascript:/i);
    await context.close();
  });

  test('stop halts the stream on screen and the run upstream', async () => {
    const { context, page } = await open();
    const before = app.aborted.length;
    await ask(page, 'go on forever');
    await page.waitForSelector('.msg-bot .content:has-text("tick 3.")');
    await page.click('.send-btn');
    await page.waitForSelector('.msg-bot .msg-note:has-text("Stopped")');
    const frozen = await page.locator('.msg-bot .content').last().textContent();
    await page.waitForTimeout(300);
    await expect(page.locator('.msg-bot .content').last().textContent()).resolves.toBe(frozen);
    await expect.poll(() => app.aborted.length).toBe(before + 1);
    // The composer is usable again right away.
    await expect(page.locator('.send-btn').getAttribute('aria-label')).resolves.toBe('Send message');
    await context.close();
  });

  test('a reload keeps the chat and the next question continues the same Dify conversation', async () => {
    const { context, page } = await open();
    await ask(page, 'hello there');
    await lastAnswerDone(page);
    const first = app.runs[app.runs.length - 1]!;
    expect(first.conversationId).toBeUndefined();
    const conversationId = app.conversationIds[app.conversationIds.length - 1];

    await page.reload();
    await page.waitForSelector('.msg-user:has-text("hello there")');
    await expect(page.locator('.msg-bot:not(.msg-welcome) table').count()).resolves.toBe(1);
    await ask(page, 'and a follow-up');
    await lastAnswerDone(page);
    const second = app.runs[app.runs.length - 1]!;
    expect(second.query).toBe('and a follow-up');
    expect(second.conversationId).toBe(conversationId);
    expect(second.user).toBe(first.user);

    // New chat forgets the conversation.
    await page.click('.new-chat');
    await page.waitForSelector('.welcome');
    await ask(page, 'fresh start');
    await lastAnswerDone(page);
    expect(app.runs[app.runs.length - 1]!.conversationId).toBeUndefined();
    await context.close();
  });

  test('reasoning sits in a collapsed block; agent tools and message files show; regenerate and errors', async () => {
    const { context, page } = await open();
    await ask(page, 'think about 17 × 23');
    await lastAnswerDone(page);
    const answer = page.locator('.msg-bot:not(.msg-welcome)').last();
    await expect(answer.locator('.content').innerText()).resolves.toBe('17 × 23 = 391.');
    await expect(answer.locator('details.reasoning').evaluate((d) => (d as HTMLDetailsElement).open)).resolves.toBe(false);
    await expect(answer.locator('details.reasoning .reasoning-body').textContent()).resolves.toContain('17 × 20 = 340');

    await ask(page, 'draw a cat');
    await lastAnswerDone(page);
    const drawn = page.locator('.msg-bot:not(.msg-welcome)').last();
    await expect(drawn.locator('.files img').count()).resolves.toBe(1);
    await expect(drawn.locator('.tool-head').textContent()).resolves.toContain('dalle3');
    await expect(drawn.locator('.content').innerText()).resolves.toBe("I've drawn a cat for you — check the image above.");

    const runs = app.runs.length;
    await drawn.locator('.regenerate').click();
    await lastAnswerDone(page);
    expect(app.runs.length).toBe(runs + 1);
    expect(app.runs[app.runs.length - 1]!.query).toBe('draw a cat');
    await expect(page.locator('.msg-user').count()).resolves.toBe(2);

    await ask(page, 'this will fail');
    await page.waitForSelector('.msg-error:has-text("rate limited")');
    await expect(page.locator('.msg-bot').last().locator('.regenerate').getAttribute('aria-label')).resolves.toBe('Try again');
    await context.close();
  });

  test('a phone viewport (in Chinese) has no horizontal overflow, even with a table and code', async () => {
    const { context, page } = await open(url, { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, locale: 'zh-CN' });
    await expect(page.locator('.composer-input').getAttribute('placeholder')).resolves.toBe('给 Aurora Assistant 发消息…');
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('zh-CN');
    await ask(page, 'wide content please');
    await lastAnswerDone(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const threadOverflow = await page.evaluate(() => {
      const s = document.querySelector('.scroller')!;
      return s.scrollWidth - s.clientWidth;
    });
    expect(threadOverflow).toBeLessThanOrEqual(0);
    // Every control has a name a screen reader can announce.
    const unnamed = await page.$$eval('button, textarea, select', (els) =>
      els.filter((el) => !(el.getAttribute('aria-label') || el.textContent?.trim())).map((el) => el.outerHTML.slice(0, 80)),
    );
    expect(unnamed).toEqual([]);
    await context.close();
  });

  test('Shift+Enter makes a new line instead of sending', async () => {
    const { context, page } = await open();
    const runs = app.runs.length;
    await page.click('.composer-input');
    await page.keyboard.type('line one');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('line two');
    await expect(page.locator('.composer-input').inputValue()).resolves.toBe('line one\nline two');
    expect(app.runs.length).toBe(runs);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.msg-user:has-text("line two")');
    await lastAnswerDone(page);
    expect(app.runs[app.runs.length - 1]!.query).toBe('line one\nline two');
    await context.close();
  });
});

describe('password gate', () => {
  let gated: string;
  beforeAll(async () => {
    const server = await listen(mountGroup({ settings: { app: { app_id: 'app-1' }, skin: 'cute', password: 'open sesame', language: 'en' }, apps: [app], endpointId: 'gated' }));
    servers.push(server);
    gated = server.url + '/';
  });

  test('serves nothing but the login form until the password is given', async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(8000);
    const page = await context.newPage();
    await page.goto(gated);
    await expect(page.locator('form.login-card').count()).resolves.toBe(1);
    const html = await page.content();
    expect(html).not.toContain('Aurora');
    expect(html).not.toContain('dbw-config');
    expect(html).not.toContain('app.js');
    const api = await page.evaluate(async () => (await fetch('api/config')).status);
    expect(api).toBe(401);

    await page.fill('#password', 'wrong');
    await page.click('.login-button');
    await page.waitForSelector('.login-error');
    await expect(page.locator('.composer-input').count()).resolves.toBe(0);

    await page.fill('#password', 'open sesame');
    await page.click('.login-button');
    await page.waitForSelector('.composer-input');
    await expect(page.locator('.welcome-title').textContent()).resolves.toBe('Aurora Assistant');
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]!.httpOnly).toBe(true);
    expect(cookies[0]!.value).not.toContain('sesame');
    await ask(page, 'hello behind the gate');
    await lastAnswerDone(page);
    await context.close();
  });
});

describe('several apps (standalone, mounted below /)', () => {
  test('offers an app picker and talks to the chosen app; a URL without the slash still works', async () => {
    const other = new FakeChatApp('app-2', 'Billing Helper', { openingStatement: 'Questions about invoices?', suggestedQuestions: [] });
    const server = await listen(mountGroup({ settings: { skin: 'classic' }, apps: [app, other], at: '/chat', endpointId: 'multi' }));
    servers.push(server);
    const { context, page } = await open(server.url + '/chat');
    expect(page.url()).toBe(server.url + '/chat/');
    await expect(page.locator('.app-picker option').allTextContents()).resolves.toEqual(['Aurora Assistant', 'Billing Helper']);
    await page.selectOption('.app-picker', 'app-2');
    await page.waitForSelector('.welcome-text:has-text("invoices")');
    await expect(page.locator('.bot-name').textContent()).resolves.toBe('Billing Helper');
    await ask(page, 'where is my invoice');
    await lastAnswerDone(page);
    expect(other.runs.map((r) => r.query)).toEqual(['where is my invoice']);
    // The choice and its chat survive a reload.
    await page.reload();
    await page.waitForSelector('.msg-user:has-text("where is my invoice")');
    await expect(page.locator('.bot-name').textContent()).resolves.toBe('Billing Helper');
    await context.close();
  });
});

describe("the app's form (apps with input variables)", () => {
  test('asks for the variables before the first message, sends them with every turn, and offers them again for a new chat', async () => {
    const formApp = new FakeChatApp('app-form', 'Travel Planner', {
      suggestedQuestions: [],
      inputs: [
        { variable: 'language', type: 'select', label: 'Language', required: true, options: ['English', 'Français'] },
        { variable: 'name', type: 'text-input', label: 'Your name', required: true, maxLength: 20 },
        { variable: 'notes', type: 'paragraph', label: 'Notes', required: false },
        { variable: 'photo', type: 'file', label: 'Photo', required: false },
      ],
    });
    const server = await listen(mountGroup({ settings: { app: { app_id: 'app-form' }, skin: 'cute' }, apps: [formApp], endpointId: 'form' }));
    servers.push(server);
    const { context, page } = await open(server.url + '/');
    await expect(page.locator('.inputs-form label').allTextContents()).resolves.toEqual(['Language', 'Your name', 'Notes · optional']);
    await expect(page.locator('.inputs-form select').inputValue()).resolves.toBe('English');

    // A required field left empty: nothing is sent, the field says so, the question stays in the composer.
    await ask(page, 'plan a weekend');
    await page.waitForSelector('.form-error:has-text("Please fill in “Your name” first.")');
    await expect(page.locator('#dbw-input-1').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.locator('.composer-input').inputValue()).resolves.toBe('plan a weekend');
    expect(formApp.runs).toHaveLength(0);

    await page.selectOption('.inputs-form select', 'Français');
    await page.fill('#dbw-input-1', 'Ada');
    await page.press('.composer-input', 'Enter');
    await lastAnswerDone(page);
    expect(formApp.runs[0]!.inputs).toEqual({ language: 'Français', name: 'Ada' });
    await expect(page.locator('.inputs-form').count()).resolves.toBe(0);
    await expect(page.locator('.inputs-summary').textContent()).resolves.toBe('Language: Français · Your name: Ada');

    await ask(page, 'and on Sunday?');
    await lastAnswerDone(page);
    expect(formApp.runs[1]!.inputs).toEqual({ language: 'Français', name: 'Ada' });
    expect(formApp.runs[1]!.conversationId).toBe(formApp.conversationIds[0]);

    // A reload keeps what the chat started with; a new chat offers the last values again.
    await page.reload();
    await page.waitForSelector('.inputs-summary:has-text("Your name: Ada")');
    await page.click('.new-chat');
    await expect(page.locator('#dbw-input-1').inputValue()).resolves.toBe('Ada');

    // The server checks what a page sends against the app's form.
    const bad = await page.evaluate(async () => {
      const r = await fetch('api/chat', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query: 'x', uid: 'uid-12345678', runId: 'run-12345678', inputs: { language: 'Deutsch' } }) });
      return { status: r.status, body: await r.json() };
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('inputs.language');
    expect(formApp.runs).toHaveLength(2);
    await context.close();
  });
});

/** Width and height from a JPEG's start-of-frame segment. */
function jpegSize(b: Buffer): { width: number; height: number } | undefined {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    if (marker >= 0xc0 && marker <= 0xc3) return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    i += 2 + b.readUInt16BE(i + 2);
  }
  return undefined;
}

describe('images from the page (apps with vision)', () => {
  const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

  test('picked images are scaled down, sent once with the message, shown in it; apps without vision get no button', async () => {
    const vision = new FakeChatApp('app-vision', 'Vision Bot', { fileUpload: { enabled: true, allowedTypes: ['image'], transferMethods: ['local_file', 'remote_url'], numberLimits: 2 } }, { fileTransfer: 'remote_url_and_upload' });
    const server = await listen(mountGroup({ settings: { app: { app_id: 'app-vision' }, skin: 'korean' }, apps: [vision], endpointId: 'vision' }));
    servers.push(server);
    const { context, page } = await open(server.url + '/');
    await page.waitForSelector('.attach:not([hidden])');

    // A large photo (drawn in the page) and a one-pixel PNG; a third is over the app's limit of two.
    const big = Buffer.from(
      await page.evaluate(() => {
        const c = document.createElement('canvas');
        c.width = 2400;
        c.height = 1200;
        const g = c.getContext('2d')!;
        for (let i = 0; i < 200; i++) {
          g.fillStyle = `hsl(${i * 7}, 70%, 50%)`;
          g.fillRect((i * 37) % 2400, (i * 53) % 1200, 300, 200);
        }
        return c.toDataURL('image/png').split(',')[1]!;
      }),
      'base64',
    );
    const attachments = (n: number) => page.waitForFunction((n) => document.querySelectorAll('.attachment').length === n, n);
    await page.setInputFiles('.file-input', [
      { name: 'pixel.png', mimeType: 'image/png', buffer: PIXEL },
      { name: 'photo.png', mimeType: 'image/png', buffer: big },
    ]);
    await attachments(2);
    await page.setInputFiles('.file-input', [{ name: 'third.png', mimeType: 'image/png', buffer: PIXEL }]);
    await page.waitForFunction(() => document.querySelector('.sr-only')?.textContent === 'Up to 2 images per message.');
    await expect(page.locator('.attachment').count()).resolves.toBe(2);
    await page.click('.attachment >> nth=0 >> .attachment-remove');
    await expect(page.locator('.attachment').count()).resolves.toBe(1);

    await ask(page, 'what is in this photo?');
    await lastAnswerDone(page);
    expect(vision.uploads).toHaveLength(1);
    expect(vision.uploads[0]!.mimeType).toBe('image/jpeg');
    expect(jpegSize(vision.uploads[0]!.bytes)).toEqual({ width: 1600, height: 800 });
    expect(vision.runs[0]!.files).toEqual([{ type: 'image', transfer_method: 'local_file', upload_file_id: vision.uploads[0]!.id }]);
    await expect(page.locator('.msg-user .msg-images img').count()).resolves.toBe(1);
    await expect(page.locator('.attachments').isHidden()).resolves.toBe(true);

    // Small pictures go as they are; the next message without images sends none.
    await page.setInputFiles('.file-input', [{ name: 'pixel.png', mimeType: 'image/png', buffer: PIXEL }]);
    await attachments(1);
    await ask(page, 'and this one?');
    await lastAnswerDone(page);
    expect(vision.uploads[1]!.bytes.equals(PIXEL)).toBe(true);
    await ask(page, 'thanks');
    await lastAnswerDone(page);
    expect(vision.runs[2]!.files).toBeUndefined();
    await page.reload();
    await page.waitForSelector('.msg-user .msg-images img');
    await expect(page.locator('.msg-user .msg-images img').count()).resolves.toBe(2);
    await context.close();

    // An app without vision: no button, and the server refuses images sent anyway.
    const plain = await open();
    await expect(plain.page.locator('.attach').isHidden()).resolves.toBe(true);
    const refused = await plain.page.evaluate(async (data) => {
      const r = await fetch('api/chat', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query: 'x', uid: 'uid-12345678', runId: 'run-12345678', images: [{ type: 'image/png', data }] }) });
      return { status: r.status, body: await r.json() };
    }, PIXEL.toString('base64'));
    expect(refused).toMatchObject({ status: 400, body: { error: { param: 'images' } } });
    await plain.context.close();
  });
});

describe('earlier chats', () => {
  test('each chat keeps its own Dify conversation; the list opens, continues and deletes them, and survives a reload', async () => {
    const histApp = new FakeChatApp('app-hist', 'History Bot', { suggestedQuestions: [] });
    const server = await listen(mountGroup({ settings: { app: { app_id: 'app-hist' }, skin: 'minimal' }, apps: [histApp], endpointId: 'hist' }));
    servers.push(server);
    const { context, page } = await open(server.url + '/');
    await page.click('.history-btn');
    await page.waitForSelector('.history-empty:has-text("No earlier chats yet.")');
    await page.keyboard.press('Escape');
    await expect(page.locator('.history-panel').isHidden()).resolves.toBe(true);

    await ask(page, 'first topic');
    await lastAnswerDone(page);
    await page.click('.new-chat');
    await ask(page, 'second topic');
    await lastAnswerDone(page);
    expect(histApp.conversationIds).toHaveLength(2);

    await page.click('.history-btn');
    await expect(page.locator('.history-title').allTextContents()).resolves.toEqual(['second topic', 'first topic']);
    await expect(page.locator('.history-open[aria-current="true"] .history-title').textContent()).resolves.toBe('second topic');
    await page.click('.history-open:has-text("first topic")');
    await expect(page.locator('.history-panel').isHidden()).resolves.toBe(true);
    await expect(page.locator('.msg-user .user-text').allTextContents()).resolves.toEqual(['first topic']);
    await ask(page, 'more on that');
    await lastAnswerDone(page);
    expect(histApp.runs.at(-1)!.conversationId).toBe(histApp.conversationIds[0]);

    await page.click('.history-btn');
    await expect(page.locator('.history-title').allTextContents()).resolves.toEqual(['first topic', 'second topic']);
    await page.click('.history-item:has-text("second topic") .history-delete');
    await expect(page.locator('.history-title').allTextContents()).resolves.toEqual(['first topic']);

    await page.reload();
    await page.waitForSelector('.msg-user');
    await expect(page.locator('.msg-user .user-text').allTextContents()).resolves.toEqual(['first topic', 'more on that']);
    await page.click('.history-btn');
    await expect(page.locator('.history-title').allTextContents()).resolves.toEqual(['first topic']);
    // Deleting the open chat leaves a new one open and the list in place.
    await page.click('.history-item:has-text("first topic") .history-delete');
    await page.waitForSelector('.history-empty');
    await expect(page.locator('.history-panel').isVisible()).resolves.toBe(true);
    await expect(page.locator('.msg-user').count()).resolves.toBe(0);
    await context.close();
  });

  test('a chat kept by an earlier version of the page is listed and open', async () => {
    const server = await listen(mountGroup({ settings: { app: { app_id: 'app-1' }, skin: 'classic' }, apps: [app], endpointId: 'legacy' }));
    servers.push(server);
    const config = await (await fetch(server.url + '/api/config')).json();
    const context = await browser.newContext();
    context.setDefaultTimeout(8000);
    const old = { conversationId: 'c-old', messages: [{ id: 'u1', role: 'user', content: 'kept from before', ts: Date.now() }, { id: 'b1', role: 'bot', content: 'An answer.', ts: Date.now() }] };
    await context.addInitScript(([key, value]) => localStorage.setItem(key!, value!), [`dbw:${config.storageKey}:chat:app-1`, JSON.stringify(old)]);
    const page = await context.newPage();
    await page.goto(server.url + '/');
    await page.waitForSelector('.msg-user:has-text("kept from before")');
    await page.click('.history-btn');
    await expect(page.locator('.history-title').allTextContents()).resolves.toEqual(['kept from before']);
    await context.close();
  });
});

describe('apps without a conversation', () => {
  test('a workflow app: each message goes into its text input (not asked in the form), the answer streams, no conversation is kept', async () => {
    const workflow = new FakeChatApp(
      'app-wf',
      'Trip Planner',
      {
        openingStatement: '',
        suggestedQuestions: [],
        inputs: [
          { variable: 'request', type: 'paragraph', label: 'Request', required: true },
          { variable: 'days', type: 'number', label: 'Days', required: false, default: 2 },
        ],
      },
      { mode: 'workflow' },
    );
    const server = await listen(mountGroup({ settings: { app: { app_id: 'app-wf' }, skin: 'minimal' }, apps: [workflow], endpointId: 'wf' }));
    servers.push(server);
    const { context, page } = await open(server.url + '/');
    await expect(page.locator('.inputs-form label').allTextContents()).resolves.toEqual(['Days · optional']);
    await page.fill('#dbw-input-0', '3');
    await ask(page, 'a weekend in Lyon');
    await lastAnswerDone(page);
    expect((await page.locator('.msg-bot:not(.msg-welcome) .content').last().textContent())?.trim()).toBe('Planned: days=3, request=a weekend in Lyon');
    expect(workflow.runs[0]).toMatchObject({ inputs: { days: 3, request: 'a weekend in Lyon' } });
    expect(workflow.runs[0]!.conversationId).toBeUndefined();
    await ask(page, 'and Paris?');
    await lastAnswerDone(page);
    expect(workflow.runs[1]).toMatchObject({ inputs: { request: 'and Paris?' } });
    expect(workflow.runs[1]!.conversationId).toBeUndefined();
    await context.close();
  });
});
