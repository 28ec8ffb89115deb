/** One Chromium for a whole test file (Debian's chromium, driven by playwright-core). */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // A fake microphone (a steady tone) that needs no permission prompt: voice input tests.
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** Makes the context's pages count the audio clips that play to their end (read-aloud tests). */
export async function countEndedAudio(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as { __audioEnded: number };
    w.__audioEnded = 0;
    const play = HTMLMediaElement.prototype.play;
    HTMLMediaElement.prototype.play = function (this: HTMLMediaElement) {
      this.addEventListener('ended', () => w.__audioEnded++, { once: true });
      return play.call(this);
    };
  });
}

/** Waits until `count` clips have played to their end (countEndedAudio must be on). */
export async function audioEnded(page: Page, count: number): Promise<void> {
  await page.waitForFunction((n) => (window as unknown as { __audioEnded: number }).__audioEnded === n, count);
}
