/**
 * Runs one planned turn against the app and feeds the answer to a sink (chat stream, chat object,
 * Responses stream, Responses object). The sink decides the wire format; this decides the order:
 * start (headers) -> reasoning/content/tool calls -> finish or fail.
 *
 * Errors before the first upstream event are thrown (the caller answers with an HTTP error);
 * after the sink started they go to `sink.fail`. Streaming clients get a streamed upstream run (a
 * client disconnect stops it); see `upstreamStreaming` for the others.
 */
import type { AppHandle, AppInfo } from '../../backend/types.js';
import { DifyError } from '../../backend/types.js';
import { conversationIdOf, type DifyEvent } from '../../dify/events.js';
import { DifyTranslator, type ReasoningOutput, type TranslatorError } from '../../dify/translator.js';
import type { ConversationStore } from '../../memory/conversation-store.js';
import { toOpenAIUsage, newToolCallId, type FinishReason, type OpenAIUsage } from '../../openai/chat-chunks.js';
import { ToolCallParser } from '../../openai/tool-emulation.js';
import { rememberTurn, type TurnPlan } from './plan.js';

export interface AnswerSink {
  /** Called once before anything else: the first upstream event arrived, or the wait bound passed. */
  start(meta: { conversationId: string | undefined }): void;
  reasoning(text: string): void;
  content(text: string): void;
  /** A complete emulated tool call. */
  toolCall(call: { index: number; id: string; name: string; arguments: string }): void;
  /** Moderation replaced the whole answer. */
  replace(text: string): void;
  finish(reason: FinishReason, usage: OpenAIUsage): void;
  fail(error: TranslatorError): void;
}

export interface RunOptions {
  handle: AppHandle;
  info: AppInfo;
  plan: TurnPlan;
  sink: AnswerSink;
  signal: AbortSignal;
  reasoningOutput: ReasoningOutput;
  emulateTools: boolean;
  /** Names the emulated tool calls may use (others stay content). */
  toolNames?: string[];
  store: ConversationStore;
  /**
   * Ask Dify for a streamed answer. Non-streaming clients get a blocking upstream call (one JSON
   * body, far cheaper to relay) except where Dify requires streaming (agent apps).
   */
  upstreamStreaming: boolean;
  /** How long to wait for the first upstream event before committing the response anyway. */
  firstEventWaitMs: number;
  filesBaseUrl?: string;
  log?: { warn(obj: unknown, msg?: string): void };
}

export interface RunResult {
  conversationId: string | undefined;
  content: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  failed: boolean;
}

const FIRST_EVENT_TIMEOUT = Symbol('first-event-timeout');

/** Starts the run and waits for its first event (errors before it are thrown). */
async function openRun(
  handle: AppHandle,
  request: TurnPlan['request'],
  signal: AbortSignal,
  waitMs: number,
  onSlow: () => void,
  streaming: boolean,
): Promise<{ it: AsyncIterator<DifyEvent>; first: IteratorResult<DifyEvent> }> {
  const it = handle.run({ ...request, streaming }, signal)[Symbol.asyncIterator]();
  const firstP = it.next();
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<typeof FIRST_EVENT_TIMEOUT>((resolve) => {
    timer = setTimeout(() => resolve(FIRST_EVENT_TIMEOUT), waitMs);
  });
  try {
    const r = await Promise.race([firstP, slow]);
    if (r === FIRST_EVENT_TIMEOUT) {
      onSlow();
      return { it, first: await firstP };
    }
    return { it, first: r };
  } finally {
    clearTimeout(timer);
  }
}

export async function runTurn(o: RunOptions): Promise<RunResult> {
  const { sink, plan } = o;
  let started = false;
  const start = (conversationId: string | undefined) => {
    if (started) return;
    started = true;
    sink.start({ conversationId });
  };

  let opened: Awaited<ReturnType<typeof openRun>>;
  try {
    opened = await openRun(o.handle, plan.request, o.signal, o.firstEventWaitMs, () => start(plan.request.conversationId), o.upstreamStreaming);
  } catch (err) {
    // A stored conversation Dify no longer knows (deleted, expired): start over, seeded with the history.
    if (!started && plan.fallback && err instanceof DifyError && (err.status === 404 || err.code === 'not_found')) {
      o.log?.warn({ code: err.code }, 'stored Dify conversation is gone; starting a new one');
      plan.request = plan.fallback;
      delete plan.fallback;
      plan.continued = false;
      return runTurn(o);
    }
    if (!started) throw err;
    const e = err instanceof DifyError ? { code: err.code, message: err.message, status: err.status } : { code: 'upstream_error', message: 'The Dify app failed to start.', status: 502 };
    sink.fail(e);
    return { conversationId: undefined, content: '', toolCalls: [], failed: true };
  }

  const toolCalls: RunResult['toolCalls'] = [];
  let content = '';
  const parser = o.emulateTools ? new ToolCallParser(o.toolNames && o.toolNames.length > 0 ? { toolNames: o.toolNames } : undefined) : undefined;
  const emitPieces = (pieces: ReturnType<ToolCallParser['push']>) => {
    for (const p of pieces) {
      if (p.type === 'content') {
        if (p.text !== '') {
          content += p.text;
          sink.content(p.text);
        }
      } else {
        const call = { index: toolCalls.length, id: p.id || newToolCallId(), name: p.name, arguments: p.arguments };
        toolCalls.push({ id: call.id, name: call.name, arguments: call.arguments });
        sink.toolCall(call);
      }
    }
  };
  const translator = new DifyTranslator(
    {
      content: parser
        ? (text) => emitPieces(parser.push(text))
        : (text) => {
            content += text;
            sink.content(text);
          },
      reasoning: (text) => sink.reasoning(text),
      replace: (text) => {
        content = text;
        sink.replace(text);
      },
    },
    { mode: o.info.mode, reasoningOutput: o.reasoningOutput, ...(o.filesBaseUrl ? { filesBaseUrl: o.filesBaseUrl } : {}) },
  );

  const { it } = opened;
  let result = opened.first;
  let aborted = false;
  try {
    // Headers (with the conversation id) go out before the first delta is written.
    start((result.done ? undefined : conversationIdOf(result.value)) ?? plan.request.conversationId);
    if (!result.done) translator.push(result.value);
    while (!result.done && !translator.complete) {
      if (o.signal.aborted) {
        aborted = true;
        break;
      }
      result = await it.next();
      if (!result.done) translator.push(result.value);
    }
  } catch (err) {
    if (o.signal.aborted) aborted = true;
    else {
      const e: TranslatorError =
        err instanceof DifyError
          ? { code: err.code, message: err.message, status: err.status }
          : { code: 'upstream_error', message: 'The connection to Dify failed while answering.', status: 502 };
      translator.error ??= e;
    }
  } finally {
    if (!result.done) void Promise.resolve(it.return?.()).catch(() => undefined);
  }
  if (aborted) return { conversationId: translator.conversationId, content, toolCalls, failed: true };

  translator.finish();
  if (parser) emitPieces(parser.finish());
  if (translator.error) {
    sink.fail(translator.error);
    return { conversationId: translator.conversationId, content, toolCalls, failed: true };
  }
  const usage = toOpenAIUsage(translator.usage);
  sink.finish(toolCalls.length > 0 ? 'tool_calls' : 'stop', usage);

  const conversationId = translator.conversationId;
  if (plan.remember && conversationId) {
    const answer = toolCalls.length > 0
      ? { role: 'assistant' as const, text: content, toolCalls: toolCalls.map((c) => ({ name: c.name, arguments: c.arguments })) }
      : { role: 'assistant' as const, text: content };
    await rememberTurn(o.store, plan.remember, answer, conversationId, translator.messageId, plan.continued).catch((err: unknown) => {
      o.log?.warn({ err: String(err) }, 'could not store the conversation fingerprint');
    });
  }
  return { conversationId, content, toolCalls, failed: false };
}
