/**
 * webapp-skin settings as hosts deliver them: the standalone host passes an unset setting as an
 * absent key, `null` (an empty YAML value) or '' (a blank field), Dify as '' or null. Every optional
 * setting then takes its default, and the page still renders.
 */
import { describe, expect, test } from 'vitest';
import { parseSettings } from '../../src/groups/webapp-skin/settings.js';
import { FakeChatApp } from './fake-app.js';
import { listen, mountGroup } from './mount.js';

const OPTIONAL = ['bot_name', 'skin', 'welcome_message', 'suggested_questions', 'language', 'password'] as const;
const DEFAULTS = { skin: 'minimal', language: 'auto' };

describe('unset optional settings take their defaults', () => {
  test('absent, null, "" and blank', () => {
    const app = { app_id: 'app-1' };
    expect(parseSettings({ app })).toEqual({ app, ...DEFAULTS });
    for (const unset of [null, '', '   ']) {
      const raw = { app, ...Object.fromEntries(OPTIONAL.map((k) => [k, unset])) };
      // a password is kept exactly as typed, so only '' and null mean "no password"
      const expected = unset === '   ' ? { app, ...DEFAULTS, password: '   ' } : { app, ...DEFAULTS };
      expect({ unset, settings: parseSettings(raw) }).toEqual({ unset, settings: expected });
    }
  });

  test('no settings at all, or an app left unset (the standalone host offers its apps instead)', () => {
    expect(parseSettings({})).toEqual(DEFAULTS);
    expect(parseSettings(null as unknown as Record<string, unknown>)).toEqual(DEFAULTS);
    expect(parseSettings({ app: null })).toEqual(DEFAULTS);
    expect(parseSettings({ app: '' })).toEqual(DEFAULTS);
  });

  test('a page whose optional settings are all null renders with the minimal skin and no password gate', async () => {
    const server = await listen(mountGroup({ settings: { app: { app_id: 'app-1' }, ...Object.fromEntries(OPTIONAL.map((k) => [k, null])) }, apps: [new FakeChatApp()] }));
    try {
      const res = await fetch(`${server.url}/`);
      expect(res.status).toBe(200);
      const page = await res.text();
      expect(page).toMatch(/skin-minimal\.css/);
      expect(page).not.toMatch(/type="password"/);
    } finally {
      await server.close();
    }
  });
});
