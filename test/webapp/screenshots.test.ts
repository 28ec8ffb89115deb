/**
 * Screenshots of every skin, desktop and phone, written to docs/screenshots/ (committed, shown in the
 * README). The same conversation in each: a reasoning block, a table, code, a follow-up.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchBrowser } from './browser.js';
import { FakeChatApp } from './fake-app.js';
import { listen, mountGroup } from './mount.js';

const SKINS = ['minimal', 'cute', 'korean', 'classic'] as const;
const OUT = join(import.meta.dirname, '../../docs/screenshots');

let browser: Browser;
let server: { url: string; close(): Promise<void> };

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  browser = await launchBrowser();
  server = await listen(
    mountGroup({
      settings: {
        app: { app_id: 'app-1' },
        bot_name: 'Aurora',
        skin: 'minimal',
        language: 'en',
        welcome_message: "Hi, I'm Aurora. I can answer questions about plans, billing and our API.",
        suggested_questions: 'What plans do you offer? | Show me the API in Python | How do I invite my team?',
      },
      apps: [new FakeChatApp()],
    }),
  );
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const t0 = Date.UTC(2026, 10, 22, 9, 41);
const conversation = {
  conversationId: 'c-screenshot',
  messages: [
    { id: 'm1', role: 'user', content: 'Which plan fits a team of 8?', ts: t0 },
    {
      id: 'm2',
      role: 'bot',
      ts: t0 + 20_000,
      reasoning: 'Eight seats: Starter has 1 seat, Team has 10. Team fits.',
      content:
        'For a team of 8, the **Team** plan is the right fit:\n\n| Plan | Price / month | Seats |\n|---|---|---|\n| Starter | $0 | 1 |\n| Team | $12 per seat | up to 10 |\n| Business | Custom | unlimited |\n\nYou can switch plans at any time from *Settings → Billing*.',
    },
    { id: 'm3', role: 'user', content: 'How do I call the API from Python?', ts: t0 + 60_000 },
    {
      id: 'm4',
      role: 'bot',
      ts: t0 + 75_000,
      content:
        'Use any HTTP client. With `requests`:\n\n```python\nimport requests\n\nresp = requests.post(\n    "https://api.example.com/v1/chat",\n    headers={"Authorization": f"Bearer {API_KEY}"},\n    json={"query": "Hello"},\n)\nprint(resp.json()["answer"])\n```\n\nKeep the key on the server side.',
    },
  ],
};

test('screenshots of each skin, desktop and phone; dark mode; the welcome screen', async () => {
  const shots: Array<[string, { width: number; height: number }, boolean, 'light' | 'dark']> = [];
  for (const skin of SKINS) {
    shots.push([`${skin}-desktop`, { width: 1280, height: 900 }, false, 'light']);
    shots.push([`${skin}-phone`, { width: 390, height: 844 }, true, 'light']);
  }
  shots.push(['cute-dark', { width: 1280, height: 900 }, false, 'dark']);
  shots.push(['minimal-welcome', { width: 1280, height: 900 }, false, 'light']);

  // Two at a time: more pages at once only starve one Chromium on a small machine.
  const queue = [...shots];
  const worker = async () => {
    for (let shot = queue.shift(); shot; shot = queue.shift()) await take(shot);
  };
  await Promise.all([worker(), worker()]);

  async function take([name, viewport, mobile, colorScheme]: (typeof shots)[number]): Promise<void> {
      const skin = name.split('-')[0]!;
      const context = await browser.newContext({ viewport, isMobile: mobile, hasTouch: mobile, deviceScaleFactor: mobile ? 2 : 1, colorScheme, locale: 'en-US' });
      context.setDefaultTimeout(10_000);
      if (!name.includes('welcome')) {
        // The page's storage key for this endpoint (see PageConfig.storageKey), filled before the page runs.
        const storageKey = createHash('sha256').update('webapp-skin|endpoint-test').digest('hex').slice(0, 16);
        await context.addInitScript(([key, value]) => localStorage.setItem(key!, value!), [`dbw:${storageKey}:chat:app-1`, JSON.stringify(conversation)]);
      }
      const page = await context.newPage();
      await page.goto(`${server.url}/?skin=${skin}`);
      await page.waitForSelector(name.includes('welcome') ? '.welcome' : '.msg-bot .code-block');
            // Desktop shots start at the top of the chat (question, reasoning, table); phone shots show the latest answer.
      if (!mobile && !name.includes('welcome')) {
        await page.evaluate(() => document.querySelector('.scroller')!.scrollTo(0, 0));
        // Let the scroll handler run (it shows or hides "jump to latest") so shots do not differ between runs.
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      }
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, name).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(OUT, `${name}.png`), animations: 'disabled' });
      await context.close();
  }
});
