/**
 * A standalone-like mount of the webapp-skin group: the endpoint YAML files bound to the group's
 * handlers on a plain express app, with an EndpointContext per request.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import pino from 'pino';
import { parse } from 'yaml';
import type { AppHandle, KeyValueStore } from '../../src/backend/types.js';
import { setEndpointContext, type EndpointContext } from '../../src/host/context.js';
import { group } from '../../src/groups/webapp-skin/index.js';

const root = join(import.meta.dirname, '../..');

/** werkzeug rule -> express 5 path (only the converters this group uses). */
function expressPath(rule: string): string {
  return rule.replace(/<path:(\w+)>/g, '*$1').replace(/<(?:\w+:)?(\w+)>/g, ':$1');
}

export function endpointRoutes(): Array<{ path: string; method: string; handler: string }> {
  const dir = join(root, 'endpoints/webapp-skin');
  return readdirSync(dir).map((f) => {
    const y = parse(readFileSync(join(dir, f), 'utf8')) as { path: string; method: string; extra: { node: { handler: string } } };
    return { path: y.path, method: y.method, handler: y.extra.node.handler };
  });
}

const memoryStore = (): KeyValueStore => {
  const m = new Map<string, string>();
  return {
    get: async (k) => m.get(k) ?? null,
    set: async (k, v) => void m.set(k, v),
    delete: async (k) => void m.delete(k),
  };
};

export interface MountOptions {
  settings: Record<string, unknown>;
  /** Apps the host offers (standalone picker); settings.app picks one of them by id when given. */
  apps: AppHandle[];
  endpointId?: string;
  /** Where to mount the group (standalone: '/', per-app pages elsewhere). */
  at?: string;
}

export function mountGroup(options: MountOptions): express.Express {
  const app = express();
  const router = express.Router();
  const context: EndpointContext = {
    endpointId: options.endpointId ?? 'endpoint-test',
    settings: options.settings,
    app: (selector) => {
      const id = (selector as { app_id?: string })?.app_id;
      const found = options.apps.find((a) => (a as unknown as { id: string }).id === id);
      if (!found) throw new Error(`unknown app ${String(id)}`);
      return found;
    },
    apps: () => (options.settings.app ? [] : options.apps),
    store: memoryStore(),
    log: pino({ level: 'silent' }),
  };
  router.use((_req, res, next) => {
    setEndpointContext(res, context);
    next();
  });
  for (const route of endpointRoutes()) {
    const handler = group.handlers[route.handler];
    if (!handler) throw new Error(`no handler ${route.handler}`);
    router[route.method.toLowerCase() as 'get' | 'post'](expressPath(route.path), handler);
  }
  app.use(options.at ?? '/', router);
  return app;
}

export async function listen(app: express.Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
