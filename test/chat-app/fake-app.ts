/**
 * An in-process AppHandle over the fixture streams of test/fakes/dify-apps.ts, with Dify's
 * conversation rules: a conversation belongs to (app, user); an unknown or foreign id is a 404
 * "Conversation Not Exists." before any event. Records every run so tests can assert what went
 * upstream, and whether the run was aborted.
 */
import { randomUUID } from 'node:crypto';
import { DifyError, type AppHandle, type AppInfo, type AppParameters, type AppRunRequest } from '../../src/backend/types.js';
import type { DifyEvent } from '../../src/dify/events.js';
import { answerStream, blockingBody, type AppModeName, type FakeEvent } from '../fakes/dify-apps.js';

export interface RunRecord {
  request: AppRunRequest;
  aborted: boolean;
  finished: boolean;
  conversationId?: string;
}

export interface ScriptContext {
  conversationId: string;
  turn: number;
  history: Array<{ query: string; answer: string }>;
  defaultAnswer: string;
}

export interface FakeAppOptions {
  name?: string;
  mode?: AppModeName;
  parameters?: Partial<AppParameters>;
  fileTransfer?: AppHandle['fileTransfer'];
  /** Events for a run; default: the mode's normal stream answering `defaultAnswer`. */
  script?: (request: AppRunRequest, ctx: ScriptContext) => FakeEvent[] | DifyError;
  /** Delay between events (ms). */
  delayMs?: number;
  /** After this many events, go silent until aborted (keepalive / abort tests). */
  stallAfter?: number;
  /** Stall length when not aborted (ms); default forever. */
  stallMs?: number;
  infoFails?: boolean;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

export class FakeDifyApp implements AppHandle {
  readonly runs: RunRecord[] = [];
  readonly conversations = new Map<string, { user: string; history: Array<{ query: string; answer: string }> }>();
  readonly uploads: Array<{ id: string; filename: string; mimeType: string; size: number; user: string }> = [];
  readonly fileTransfer: AppHandle['fileTransfer'];
  readonly mode: AppModeName;
  infoCalls = 0;

  constructor(readonly options: FakeAppOptions = {}) {
    this.mode = options.mode ?? 'chat';
    this.fileTransfer = options.fileTransfer ?? 'remote_url_and_upload';
  }

  async info(): Promise<AppInfo> {
    this.infoCalls++;
    if (this.options.infoFails) throw new DifyError('connection refused', 'upstream_unavailable', 503);
    return { id: `app-${this.options.name ?? 'fake'}`, name: this.options.name ?? 'dify-fake-app', mode: this.mode };
  }

  async parameters(): Promise<AppParameters> {
    const defaults: AppParameters =
      this.mode === 'completion' || this.mode === 'workflow'
        ? { suggestedQuestions: [], inputs: [{ variable: this.mode === 'workflow' ? 'text' : 'query', type: 'paragraph', required: true }] }
        : { suggestedQuestions: [], inputs: [] };
    return { ...defaults, ...this.options.parameters } as AppParameters;
  }

  async uploadFile(file: { data: Uint8Array; filename: string; mimeType: string }, user: string): Promise<{ id: string }> {
    const id = randomUUID();
    this.uploads.push({ id, filename: file.filename, mimeType: file.mimeType, size: file.data.length, user });
    return { id };
  }

  /** The text the app received this run (query, or the text input of completion/workflow apps). */
  static receivedText(r: AppRunRequest): string {
    if (r.query) return r.query;
    const v = Object.values(r.inputs).find((x) => typeof x === 'string');
    return typeof v === 'string' ? v : '';
  }

  run(request: AppRunRequest, signal: AbortSignal): AsyncIterable<DifyEvent> {
    const record: RunRecord = { request: structuredClone(request), aborted: false, finished: false };
    this.runs.push(record);
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        const chat = self.mode !== 'completion' && self.mode !== 'workflow';
        let conversationId = '';
        let conv: { user: string; history: Array<{ query: string; answer: string }> } | undefined;
        if (chat) {
          if (request.conversationId) {
            conv = self.conversations.get(request.conversationId);
            if (!conv || conv.user !== request.user) throw new DifyError('Conversation Not Exists.', 'not_found', 404);
            conversationId = request.conversationId;
          } else {
            conversationId = randomUUID();
            conv = { user: request.user, history: [] };
            self.conversations.set(conversationId, conv); // Dify creates it when the run starts
          }
          record.conversationId = conversationId;
        }
        const text = FakeDifyApp.receivedText(request);
        const history = conv?.history ?? [];
        const first = history[0]?.query ?? text;
        const defaultAnswer = chat
          ? `You said: ${lastLine(text)} (turn ${history.length + 1}; this conversation began with: ${firstLine(first)})`
          : `Echo: ${lastLine(text)}`;
        const scripted = self.options.script?.(request, { conversationId, turn: history.length + 1, history, defaultAnswer });
        if (scripted instanceof DifyError) throw scripted;
        const events = scripted ?? answerStream(self.mode, { answer: defaultAnswer, conversationId: conversationId || undefined, query: text, user: request.user });
        // Blocking: one body (as the Service API backend yields it), errors as HTTP errors (§2.1).
        if (!request.streaming && self.mode !== 'agent-chat') {
          const err = events.find((e) => e.event === 'error');
          if (err) throw new DifyError(String(err.message), String(err.code), Number(err.status) || 500);
          if (self.options.delayMs) await sleep(self.options.delayMs, signal);
          if (signal.aborted) return;
          const body = blockingBody(self.mode, events);
          const out = self.mode === 'workflow' ? { event: 'workflow_finished', ...body } : body;
          if (conv && self.mode !== 'workflow') conv.history.push({ query: text, answer: String(body.answer ?? '') });
          record.finished = true;
          yield out as DifyEvent;
          return;
        }
        let answer = '';
        let n = 0;
        const onAbort = () => {
          record.aborted = true;
        };
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          for (const ev of events) {
            if (signal.aborted) return;
            if (self.options.stallAfter !== undefined && n === self.options.stallAfter) {
              await sleep(self.options.stallMs ?? 3_600_000, signal);
              if (signal.aborted) return;
            }
            if (self.options.delayMs) await sleep(self.options.delayMs, signal);
            if (signal.aborted) return;
            if ((ev.event === 'message' || ev.event === 'agent_message') && typeof ev.answer === 'string') answer += ev.answer;
            n++;
            // The message is stored before message_end goes out (a consumer may stop reading there).
            if (ev.event === 'message_end' && conv) conv.history.push({ query: text, answer });
            if (n === events.length) record.finished = true;
            yield ev as DifyEvent;
          }
          record.finished = true;
        } finally {
          signal.removeEventListener('abort', onAbort);
          if (!record.finished && signal.aborted) record.aborted = true;
        }
      },
    };
  }
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n').filter(Boolean);
  return lines[lines.length - 1] ?? '';
}
function firstLine(s: string): string {
  return s.trim().split('\n').filter(Boolean)[0] ?? '';
}
