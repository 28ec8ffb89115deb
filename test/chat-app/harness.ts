/**
 * Mounts the chat-app group the way a host does (endpoints/chat-app/*.yaml -> routes, each also
 * without /v1; an EndpointContext per request) on a loopback express server.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import pino from 'pino';
import { parse } from 'yaml';
import type { AppHandle, KeyValueStore } from '../../src/backend/types.js';
import { group } from '../../src/groups/chat-app/index.js';
import { setEndpointContext } from '../../src/host/context.js';
import { MemoryKeyValueStore } from '../../src/memory/conversation-store.js';
import { routeNotFound, sendError } from '../../src/openai/errors.js';

export const API_KEY = 'sk-test-endpoint-key';
let endpointCounter = 0;

export interface HarnessOptions {
  /** Plugin style: one app via ctx.app(). */
  app?: AppHandle;
  /** Standalone style: several apps via ctx.apps(). */
  apps?: AppHandle[];
  settings?: Record<string, unknown>;
  store?: KeyValueStore;
  endpointId?: string;
}

export interface Harness {
  app: express.Express;
  url: string;
  store: KeyValueStore;
  close(): Promise<void>;
}

function werkzeugToExpress(path: string): string {
  return path.replace(/<path:([a-z_]+)>/g, '*$1').replace(/<(?:[a-z]+:)?([a-z_]+)>/g, ':$1');
}

export function endpointRoutes(): Array<{ path: string; method: string; handler: string }> {
  const dir = join(import.meta.dirname, '../../endpoints/chat-app');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => {
      const y = parse(readFileSync(join(dir, f), 'utf8')) as { path: string; method: string; extra: { node: { handler: string } } };
      return { path: y.path, method: y.method, handler: y.extra.node.handler };
    });
}

export function buildApp(o: HarnessOptions): { app: express.Express; store: KeyValueStore } {
  const store = o.store ?? new MemoryKeyValueStore();
  const endpointId = o.endpointId ?? `endpoint-${++endpointCounter}`;
  const app = express();
  app.use((req: Request, _res: Response, next: NextFunction) => {
    req.url = req.url.replace(/\/{2,}/g, '/');
    next();
  });
  app.use(express.json({ limit: '20mb' }));
  const log = pino({ level: 'silent' });
  app.use((_req: Request, res: Response, next: NextFunction) => {
    setEndpointContext(res, {
      endpointId,
      settings: { api_key: API_KEY, app: { app_id: 'app-1' }, model_id: 'm', first_event_wait_ms: 2000, ...o.settings },
      app: () => {
        if (!o.app) throw new Error('no app');
        return o.app;
      },
      apps: () => o.apps ?? [],
      store,
      log,
    });
    next();
  });
  for (const r of endpointRoutes()) {
    const handler = group.handlers[r.handler];
    if (!handler) throw new Error(`endpoint binds unknown handler ${r.handler}`);
    const method = r.method.toLowerCase() as 'get' | 'post' | 'options';
    const p = werkzeugToExpress(r.path);
    app[method](p, handler);
    app[method](p.replace(/^\/v1/, ''), handler);
  }
  app.use((req: Request, res: Response) => sendError(res, routeNotFound(req.method, req.path)));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => sendError(res, err));
  return { app, store };
}

export async function startHarness(o: HarnessOptions): Promise<Harness> {
  const { app, store } = buildApp(o);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    store,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
