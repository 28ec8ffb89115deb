/**
 * Test doubles for the webhook group: a fake Dify app (the one thing that cannot run here) that
 * replays the reference fixtures, an in-memory key-value store with expiry, a logger whose lines
 * can be awaited, and an express app that mounts the group's handlers like a host does.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import express, { type Express } from 'express';
import pino, { type Logger } from 'pino';
import type { AppHandle, AppInputField, AppMode, AppRunRequest, KeyValueStore } from '../../src/backend/types.js';
import type { DifyEvent } from '../../src/dify/events.js';
import { setEndpointContext, type EndpointContext } from '../../src/host/context.js';
import { group } from '../../src/groups/webhook/index.js';

type Fixtures = Record<'F1_chat' | 'F4_workflow' | 'F5b_chatflow_failure' | 'F5c_workflow_failure', DifyEvent[]>;
export const fixtures = JSON.parse(readFileSync(new URL('./fixtures/dify-events.json', import.meta.url), 'utf8')) as Fixtures;

export const SECRET = 'It\'s a Secret to Everybody';

export function githubSignature(body: string | Buffer, secret = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface FakeApp extends AppHandle {
  runs: AppRunRequest[];
  /** Lets a gated run finish (see `gate`). */
  release(): void;
}

export interface FakeAppOptions {
  mode?: AppMode;
  inputs?: AppInputField[];
  events?: DifyEvent[];
  /** Thrown by run() before the first event. */
  failWith?: Error;
  /** When true, run() waits for release() before its last event. */
  gate?: boolean;
  parametersFail?: boolean;
}

export function fakeApp(options: FakeAppOptions = {}): FakeApp {
  const runs: AppRunRequest[] = [];
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const events = options.events ?? fixtures.F4_workflow;
  return {
    runs,
    release: () => open(),
    fileTransfer: 'none',
    async info() {
      return { id: 'app-1', name: 'Publisher', mode: options.mode ?? 'workflow' };
    },
    async parameters() {
      if (options.parametersFail) throw new Error('fetch_app failed');
      return { suggestedQuestions: [], inputs: options.inputs ?? [{ variable: 'payload', type: 'paragraph', required: false }] };
    },
    async *run(request: AppRunRequest, signal: AbortSignal) {
      runs.push(structuredClone(request));
      if (options.failWith) throw options.failWith;
      for (let i = 0; i < events.length; i++) {
        if (options.gate && i === events.length - 1) await gate;
        if (signal.aborted) throw new Error('aborted');
        yield events[i]!;
      }
    },
  };
}

/** KeyValueStore in memory, honouring ttlSeconds. */
export function memoryStore(): KeyValueStore & { entries: Map<string, { value: string; expires: number }> } {
  const entries = new Map<string, { value: string; expires: number }>();
  return {
    entries,
    async get(key) {
      const entry = entries.get(key);
      if (!entry) return null;
      if (entry.expires <= Date.now()) {
        entries.delete(key);
        return null;
      }
      return entry.value;
    },
    async set(key, value, ttlSeconds) {
      entries.set(key, { value, expires: ttlSeconds ? Date.now() + ttlSeconds * 1000 : Infinity });
    },
    async delete(key) {
      entries.delete(key);
    },
  };
}

export interface CapturedLog {
  log: Logger;
  lines: Array<Record<string, unknown>>;
  text(): string;
  waitFor(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export function capturedLog(): CapturedLog {
  const lines: Array<Record<string, unknown>> = [];
  let raw = '';
  const waiters: Array<() => void> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      raw += String(chunk);
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      waiters.splice(0).forEach((wake) => wake());
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  return {
    log,
    lines,
    text: () => raw,
    async waitFor(msg, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find((line) => line.msg === msg);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no log line "${msg}" within ${timeoutMs} ms; got: ${lines.map((l) => l.msg).join(' | ')}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
  };
}

export interface Mounted {
  server: Express;
  app: FakeApp;
  store: ReturnType<typeof memoryStore>;
  logs: CapturedLog;
  context: EndpointContext;
}

export interface MountOptions {
  settings?: Record<string, unknown>;
  app?: FakeApp;
  /** The host keeps work going after the answer (standalone). */
  backgroundWork?: boolean;
  /** Extra middleware mounted before the routes, e.g. a body parser. */
  before?: express.RequestHandler[];
}

export const baseSettings = {
  app: { app_id: 'app-1' },
  verification: 'hmac_sha256',
  secret: SECRET,
  signature_header: 'X-Hub-Signature-256',
  payload_input: 'payload',
  response_mode: 'sync',
};

/** An express app serving the webhook routes the way a host mounts a group (no body parser). */
export function mount(options: MountOptions = {}): Mounted {
  const app = options.app ?? fakeApp();
  const store = memoryStore();
  const logs = capturedLog();
  const context: EndpointContext & { backgroundWork?: boolean } = {
    endpointId: 'endpoint-1',
    settings: { ...baseSettings, ...options.settings },
    app: () => app,
    apps: () => [app],
    store,
    log: logs.log,
    ...(options.backgroundWork ? { backgroundWork: true } : {}),
  };
  const server = express();
  server.use((_req, res, next) => {
    setEndpointContext(res, context);
    next();
  });
  for (const middleware of options.before ?? []) server.use(middleware);
  server.post(['/webhook', '/webhook/:name'], group.handlers.deliver!);
  server.get(['/webhook', '/webhook/:name'], group.handlers.challenge!);
  return { server, app, store, logs, context };
}
