import express from 'express';
import { pino } from 'pino';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { DifySession } from '@dify/plugin-sdk-shim';
import { endpointContext } from '../../src/host/context.js';
import { endpointContextMiddleware, hookBaseUrl } from '../../src/plugin/context.js';
import { pluginDirectory, requestedGroup } from '../../src/plugin/options.js';

describe('endpointContextMiddleware', () => {
  it('turns res.locals.dify into the EndpointContext handlers read', async () => {
    const stored = new Map<string, Buffer>();
    const session = {
      id: 's1',
      signal: new AbortController().signal,
      storage: {
        get: async (k: string) => stored.get(k) ?? null,
        set: async (k: string, v: Buffer | Uint8Array | string) => void stored.set(k, Buffer.from(v)),
        del: async (k: string) => void stored.delete(k),
        exist: async (k: string) => stored.has(k),
      },
    } as unknown as DifySession;
    const app = express();
    app.use((_req, res, next) => {
      res.locals.dify = { settings: { api_key: 'k' }, session, endpointId: 'ep-1', values: {} };
      next();
    });
    app.use(endpointContextMiddleware(pino({ level: 'silent' })));
    app.get('/x', async (_req, res) => {
      const ctx = endpointContext(res);
      await ctx.store.set('a', 'b');
      res.json({ endpointId: ctx.endpointId, settings: ctx.settings, baseUrl: ctx.baseUrl, apps: ctx.apps().length, stored: await ctx.store.get('a') });
    });
    const answer = await request(app).get('/x').set('Dify-Hook-Url', 'https://dify.example.com/e/abcd1234efgh5678/x?q=1');
    expect(answer.body).toEqual({ endpointId: 'ep-1', settings: { api_key: 'k' }, baseUrl: 'https://dify.example.com/e/abcd1234efgh5678', apps: 0, stored: 'b' });
  });

  it('refuses a request the plugin runtime did not dispatch', async () => {
    const app = express();
    app.use(endpointContextMiddleware(pino({ level: 'silent' })));
    app.get('/x', (_req, res) => void res.send('unreachable'));
    expect((await request(app).get('/x')).status).toBe(500);
  });
});

describe('plugin options', () => {
  it('hookBaseUrl keeps scheme, host and /e/<hook>', () => {
    expect(hookBaseUrl('http://127.0.0.1:5001/e/abc/v1/chat/completions')).toBe('http://127.0.0.1:5001/e/abc');
    expect(hookBaseUrl('https://x.example.com/dify/e/h1/e/h1x', 'h1')).toBe('https://x.example.com/dify/e/h1');
    expect(hookBaseUrl('https://x.example.com/dify/e/h2/models')).toBe('https://x.example.com/dify/e/h2');
    expect(hookBaseUrl(undefined)).toBe('');
  });
  it('--group wins over DIFY_BRIDGE_GROUP', () => {
    expect(requestedGroup(['--group', 'llm'], { DIFY_BRIDGE_GROUP: 'webhook' })).toBe('llm');
    expect(requestedGroup(['--group=chat-app'], {})).toBe('chat-app');
    expect(requestedGroup([], { DIFY_BRIDGE_GROUP: 'webhook' })).toBe('webhook');
    expect(requestedGroup([], {})).toBeUndefined();
  });
  it('the plugin folder is the working directory when it has a manifest, else the bundle\'s parent', () => {
    expect(pluginDirectory('/nonexistent', 'file:///opt/plugin/dist/plugin.mjs')).toBe('/opt/plugin');
  });
});
