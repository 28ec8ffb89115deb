/**
 * Conformance harness: the real plugin bundle (dist/plugin.mjs, `npm run build`) under the daemon
 * simulator, one process per group, reached over the simulator's HTTP front exactly as a client
 * reaches `https://dify/e/<hook>/...`. Helpers read the wire bytes (SSE framing, headers, error
 * envelopes) without any client library in between.
 *
 * Tests are named after the item of ../shared/reference/openai-compat.md §9 they check. A test for
 * a known defect is declared with `it.fails` through `item()` and the group's DEFECTS table, which
 * names the defect and the suspected file; the table is the list the QA report is built from.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { startDaemon, type ReverseHandlers, type SimulatedDaemon } from '../daemon/simulator.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BUNDLE = 'dist/plugin.mjs';

export async function startPlugin(group: 'chat-app' | 'llm', reverse: ReverseHandlers): Promise<SimulatedDaemon> {
  if (!existsSync(resolve(ROOT, BUNDLE))) throw new Error(`${BUNDLE} is missing: run \`npm run build\` before the conformance suite`);
  const daemon = await startDaemon({
    command: process.execPath,
    args: [BUNDLE],
    cwd: ROOT,
    env: { DIFY_BRIDGE_GROUP: group, LOG_LEVEL: 'warn' },
    reverse,
  });
  await daemon.waitForHeartbeat();
  return daemon;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Known defects of one group: checklist id -> what is wrong and where (the test becomes `it.fails`). */
export type Defects = Record<string, string>;

/**
 * Declares the test for one checklist item. With an entry in `defects` the test is `it.fails`:
 * the suite stays green while the defect is visible, and it turns red once the defect is fixed
 * (then delete the entry).
 */
export function item(defects: Defects, id: string, title: string, fn: () => Promise<void> | void, timeout?: number): void {
  const name = `§9 #${id}: ${title}`;
  const defect = defects[id];
  if (defect) it.fails(`${name} [KNOWN DEFECT: ${defect}]`, fn, timeout);
  else it(name, fn, timeout);
}

export interface ErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** §4 / §9 #51: exactly `{"error":{message,type,param,code}}` with the right JSON types. */
export function expectEnvelope(body: unknown): ErrorBody {
  expect(body && typeof body === 'object' && !Array.isArray(body)).toBe(true);
  expect(Object.keys(body as object)).toEqual(['error']);
  const e = (body as { error: Record<string, unknown> }).error;
  expect(typeof e.message).toBe('string');
  expect((e.message as string).length).toBeGreaterThan(0);
  expect(typeof e.type).toBe('string');
  expect('param' in e && (e.param === null || typeof e.param === 'string')).toBe(true);
  expect('code' in e && (e.code === null || typeof e.code === 'string')).toBe(true);
  return e as unknown as ErrorBody;
}

/** A non-2xx response: JSON content type and the envelope. */
export async function expectJsonError(res: Response, status: number): Promise<ErrorBody> {
  const text = await res.text();
  expect({ status: res.status, body: text.slice(0, 300) }).toMatchObject({ status });
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`error body is not JSON: ${text.slice(0, 300)}`);
  }
  return expectEnvelope(parsed);
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** ms from sending the request until the response headers arrived */
  headersMs: number;
  /** ms from sending until the bytes holding `data: [DONE]\n\n` arrived (null: never) */
  doneMs: number | null;
  /** ms from sending until the body ended (EOF) */
  endMs: number;
  /** ms from sending until each body read arrived, with the text read */
  reads: Array<{ ms: number; text: string }>;
}

/** Sends a request and reads the whole body as it arrives, with timings, as raw text. */
export async function raw(url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<RawResponse> {
  const t0 = performance.now();
  const signal = AbortSignal.timeout(init.timeoutMs ?? 20_000);
  const res = await fetch(url, { ...init, signal });
  const headersMs = performance.now() - t0;
  const reads: RawResponse['reads'] = [];
  let text = '';
  let doneMs: number | null = null;
  if (res.body) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const piece = decoder.decode(value, { stream: true });
      text += piece;
      reads.push({ ms: performance.now() - t0, text: piece });
      if (doneMs === null && text.includes('data: [DONE]\n\n')) doneMs = performance.now() - t0;
    }
    text += decoder.decode();
  }
  return { status: res.status, headers: res.headers, text, headersMs, doneMs, endMs: performance.now() - t0, reads };
}

export interface SseEvent {
  /** the raw block without its terminating blank line */
  block: string;
  comment: boolean;
  event?: string;
  data?: string;
  /** field names present besides data/event (id, retry, ...) */
  otherFields: string[];
  dataLines: number;
}

/** Splits an SSE body into events (blocks separated by a blank line), keeping comments. */
export function sseEvents(text: string): SseEvent[] {
  expect(text.endsWith('\n\n'), `SSE body must end with a blank line; tail: ${JSON.stringify(text.slice(-80))}`).toBe(true);
  const blocks = text.slice(0, -2).split('\n\n');
  return blocks.map((block) => {
    const lines = block.split('\n');
    const comment = lines.every((l) => l.startsWith(':'));
    const ev: SseEvent = { block, comment, otherFields: [], dataLines: 0 };
    for (const line of lines) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon >= 0 ? line.slice(0, colon) : line;
      let value = colon >= 0 ? line.slice(colon + 1) : '';
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') {
        ev.dataLines++;
        ev.data = ev.data === undefined ? value : `${ev.data}\n${value}`;
      } else if (field === 'event') ev.event = value;
      else ev.otherFields.push(field);
    }
    return ev;
  });
}

/** The `data:` JSON payloads of a chat stream before `[DONE]` (errors and chunks). */
export function chatPayloads(text: string): { chunks: any[]; done: boolean; events: SseEvent[] } {
  const events = sseEvents(text);
  const data = events.filter((e) => !e.comment);
  const chunks: any[] = [];
  let done = false;
  for (const e of data) {
    if (e.data === '[DONE]') {
      done = true;
      continue;
    }
    expect(done, 'nothing may follow data: [DONE]').toBe(false);
    chunks.push(JSON.parse(e.data!));
  }
  return { chunks, done, events };
}

export function jsonHeaders(key: string, extra: Record<string, string> = {}): Record<string, string> {
  return { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', ...extra };
}

/** Races a promise against a deadline (for client loops that could hang). */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Decodes an `encoding_format: "base64"` embedding (little-endian float32). */
export function decodeFloat32(b64: string): number[] {
  const buf = Buffer.from(b64, 'base64');
  const out: number[] = [];
  for (let i = 0; i + 4 <= buf.length; i += 4) out.push(buf.readFloatLE(i));
  return out;
}

/** Spec enum of finish_reason (openai-compat.md §2). */
export const FINISH_REASONS = ['stop', 'length', 'tool_calls', 'content_filter', 'function_call'];

/** Ids that make clients switch behaviour (openai-compat.md §5.1, §9 #60). */
export const OPENAI_LOOKING_ID = /^(gpt-|o1|o3|o4|chatgpt-)|codex/i;

/** A checklist item that does not apply to this group or path: reported as skipped, with the reason. */
export function notApplicable(id: string, title: string, why: string): void {
  it.skip(`§9 #${id}: ${title} [N/A: ${why}]`, () => undefined);
}
