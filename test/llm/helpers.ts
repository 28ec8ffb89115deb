/**
 * In-process host for the llm group: an express app on loopback that mounts the routes declared in
 * settings/llm.yaml + endpoints/llm/*.yaml (with and without /v1, as the hosts do) and hands each
 * request an EndpointContext whose models client is a fake.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { pino } from 'pino';
import { parse } from 'yaml';
import { group } from '../../src/groups/llm/index.js';
import { setEndpointContext, type EndpointContext } from '../../src/host/context.js';
import type { KeyValueStore, ModelsClient } from '../../src/backend/types.js';
import { EMBEDDING_SELECTOR, LLM_SELECTOR } from '../fakes/dify-models.js';

export const API_KEY = 'sk-bridge-test-key';

export function defaultSettings(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { api_key: API_KEY, llm: LLM_SELECTOR, text_embedding: EMBEDDING_SELECTOR, model_id: '', ...overrides };
}

export interface EndpointRoute {
  path: string;
  method: string;
  handler: string;
}

/** The group's routes as its YAML declares them. */
export function declaredRoutes(root = process.cwd()): EndpointRoute[] {
  const groupYaml = parse(readFileSync(`${root}/settings/llm.yaml`, 'utf8')) as { endpoints: string[] };
  return groupYaml.endpoints.map((file) => {
    const doc = parse(readFileSync(`${root}/${file}`, 'utf8')) as { path: string; method: string; extra: { node: { handler: string } } };
    return { path: doc.path, method: doc.method, handler: doc.extra.node.handler };
  });
}

/** werkzeug rule -> express 5 path (`<path:x>` -> `*x`, `<x>` -> `:x`). */
function expressPath(rule: string): string {
  return rule.replace(/<path:([A-Za-z_]\w*)>/g, '*$1').replace(/<(?:[a-z]+:)?([A-Za-z_]\w*)>/g, ':$1');
}

class MemoryStore implements KeyValueStore {
  private readonly map = new Map<string, string>();
  async get(key: string) {
    return this.map.get(key) ?? null;
  }
  async set(key: string, value: string) {
    this.map.set(key, value);
  }
  async delete(key: string) {
    this.map.delete(key);
  }
}

export interface LlmHost {
  baseUrl: string;
  /** base URL including /v1 */
  v1: string;
  close(): Promise<void>;
}

export async function startLlmHost(models: ModelsClient, settings: Record<string, unknown> = defaultSettings()): Promise<LlmHost> {
  const app = express();
  const context: EndpointContext = {
    endpointId: 'ep-test',
    settings,
    app: () => {
      throw new Error('no apps in the llm group');
    },
    apps: () => [],
    models,
    store: new MemoryStore(),
    log: pino({ level: 'silent' }),
  };
  app.use((_req, res, next) => {
    setEndpointContext(res, context);
    next();
  });
  for (const route of declaredRoutes()) {
    const handler = group.handlers[route.handler];
    if (!handler) throw new Error(`endpoint YAML names unknown handler ${route.handler}`);
    const method = route.method.toLowerCase() as 'get' | 'post' | 'options';
    const path = expressPath(route.path);
    app[method](path, handler);
    app[method](path.replace(/^\/v1/, ''), handler);
  }
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    v1: `${baseUrl}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads a raw SSE body into its `data:` payloads (and keeps the raw text for wire checks). */
export async function readSse(response: Response): Promise<{ raw: string; data: string[] }> {
  const raw = await response.text();
  const data = raw
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice('data: '.length));
  return { raw, data };
}
