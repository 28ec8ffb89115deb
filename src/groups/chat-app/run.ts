/**
 * Runs one planned turn against the app and feeds the answer to a sink (chat stream, chat object,
 * Responses stream, Responses object). The sink decides the wire format; this decides the order:
 * start (headers) -> reasoning/content/tool calls -> finish or fail.
 *
 * The response is committed (`sink.start`: for a stream, status 200 and headers) on the first
 * answer delta (content, reasoning, tool call, moderation replacement), on a successful end, or when
 * `commitWaitMs` passes first (a slow app: the client gets headers and keepalives). Workflow and
 * node events do not commit it: a chatflow/workflow node that fails before any token is still an
 * HTTP error (openai-compat.md §9 #48). Errors before the commit are thrown as OpenAIError/DifyError
 * (the caller answers with an HTTP error); after it they go to `sink.fail`. Streaming clients get a
 * streamed upstream run (a client disconnect stops it); see `upstreamStreaming` for the others.
 */
import type { AppHandle, AppInfo } from '../../backend/types.js';
import { DifyError } from '../../backend/types.js';
import { conversationIdOf, type DifyEvent } from '../../dify/events.js';
import { DifyTranslator, type ReasoningOutput, type TranslatorError } from '../../dify/translator.js';
import type { ConversationStore } from '../../memory/conversation-store.js';
import { toOpenAIUsage, newToolCallId, type FinishReason, type OpenAIUsage } from '../../openai/chat-chunks.js';
import { fromStreamError, type OpenAIError } from '../../openai/errors.js';
import { StopSequences } from '../../openai/stop-sequences.js';
import { isTooLargeCode, tooLargeForDaemon } from './errors.js';
import { ToolCallParser } from '../../openai/tool-emulation.js';
import { rememberTurn, type TurnPlan } from './plan.js';

export interface AnswerSink {
  /** Called once before anything else: the first answer delta or the end arrived, or the wait bound passed. */
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
  /** How long the response may stay uncommitted while no answer delta has arrived (then it is committed anyway). */
  commitWaitMs: number;
  filesBaseUrl?: string;
  /** The request's stop sequences: the answer ends before the first one, and the run is stopped. */
  stop?: string[];
  /** Chatflow/workflow node titles as reasoning until the answer starts. */
  progress?: boolean;
  /** The app's citations as a Sources list after the answer. */
  citations?: boolean;
  log?: { warn(obj: unknown, msg?: string): void };
}

export interface RunResult {
  conversationId: string | undefined;
  content: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  failed: boolean;
}

/** How long a run stopped by a stop sequence may take to send its end event (usage) before it is left. */
const WRAP_UP_MS = 2000;
const LATE = Symbol('late');

export async function runTurn(o: RunOptions): Promise<RunResult> {
  let started = false;
  /** The conversation id: the one continued, then the one the events show (it goes out with the headers). */
  let conversationId = o.plan.request.conversationId;
  const commit = () => {
    if (started) return;
    started = true;
    clearTimeout(commitTimer);
    o.sink.start({ conversationId });
  };
  const commitTimer = setTimeout(commit, o.commitWaitMs);
  try {
    return await answerTurn(o, () => started, commit, (id) => {
      conversationId = id;
    });
  } finally {
    clearTimeout(commitTimer);
  }
}

/** An app failure reported before the response was committed: an HTTP error, as for a non-streaming client. */
function uncommittedFailure(e: TranslatorError): OpenAIError {
  if (isTooLargeCode(e.code)) return tooLargeForDaemon();
  return fromStreamError(e.code, e.message, e.status);
}

async function answerTurn(o: RunOptions, isStarted: () => boolean, commit: () => void, sawConversation: (id: string | undefined) => void): Promise<RunResult> {
  const { sink, plan } = o;
  const stopper = o.stop && o.stop.length > 0 ? new StopSequences(o.stop) : undefined;
  // After a stop sequence, a host that can stop the run early still delivers its end event: read on
  // (briefly) for the usage instead of leaving the stream at once.
  const wrapUp = stopper && o.handle.canStopEarly ? new AbortController() : undefined;
  const runRequest = { ...plan.request, streaming: o.upstreamStreaming, ...(wrapUp ? { finishEarly: wrapUp.signal } : {}) };
  // Batched where the host offers it: one await per upstream read instead of one per event.
  const source: AsyncIterable<DifyEvent | DifyEvent[]> = o.handle.runBatches ? o.handle.runBatches(runRequest, o.signal) : o.handle.run(runRequest, o.signal);
  const it = source[Symbol.asyncIterator]();
  let first: IteratorResult<DifyEvent | DifyEvent[]>;
  try {
    first = await it.next();
  } catch (err) {
    // A stored conversation Dify no longer knows (deleted, expired): start over, seeded with the history.
    if (!isStarted() && plan.fallback && err instanceof DifyError && (err.status === 404 || err.code === 'not_found')) {
      o.log?.warn({ code: err.code }, 'stored Dify conversation is gone; starting a new one');
      plan.request = plan.fallback;
      delete plan.fallback;
      plan.continued = false;
      sawConversation(plan.request.conversationId);
      return answerTurn(o, isStarted, commit, sawConversation);
    }
    if (!isStarted()) throw err;
    const e = err instanceof DifyError ? { code: err.code, message: err.message, status: err.status } : { code: 'upstream_error', message: 'The Dify app failed to start.', status: 502 };
    sink.fail(e);
    return { conversationId: undefined, content: '', toolCalls: [], failed: true };
  }

  const toolCalls: RunResult['toolCalls'] = [];
  let content = '';
  const show = (text: string) => {
    if (text === '') return;
    content += text;
    commit();
    sink.content(text);
  };
  /** Content as the client sees it: up to the first stop sequence. */
  const emitContent = (text: string) => show(stopper ? stopper.push(text) : text);
  const parser = o.emulateTools ? new ToolCallParser(o.toolNames && o.toolNames.length > 0 ? { toolNames: o.toolNames } : undefined) : undefined;
  const emitPieces = (pieces: ReturnType<ToolCallParser['push']>) => {
    for (const p of pieces) {
      if (p.type === 'content') {
        emitContent(p.text);
      } else if (!stopper?.stopped) {
        commit();
        const call = { index: toolCalls.length, id: p.id || newToolCallId(), name: p.name, arguments: p.arguments };
        toolCalls.push({ id: call.id, name: call.name, arguments: call.arguments });
        sink.toolCall(call);
      }
    }
  };
  const translator = new DifyTranslator(
    {
      content: parser ? (text) => emitPieces(parser.push(text)) : emitContent,
      reasoning: (text) => {
        if (stopper?.stopped) return;
        commit();
        sink.reasoning(text);
      },
      replace: (text) => {
        content = text;
        commit();
        sink.replace(text);
      },
    },
    { mode: o.info.mode, reasoningOutput: o.reasoningOutput, ...(o.filesBaseUrl ? { filesBaseUrl: o.filesBaseUrl } : {}), ...(o.progress ? { progress: true } : {}), ...(o.citations ? { citations: true } : {}) },
  );

  let result = first;
  let aborted = false;
  const push = (ev: DifyEvent) => {
    const id = conversationIdOf(ev);
    if (id) sawConversation(id);
    translator.push(ev);
  };
  /** One event, or a batch: the same checks between its events as between awaited ones. */
  const take = (value: DifyEvent | DifyEvent[]) => {
    if (!Array.isArray(value)) {
      push(value);
      return;
    }
    for (let i = 0; i < value.length; i++) {
      if (i > 0) {
        if (translator.complete || (stopper?.stopped && !wrapUp)) return;
        if (o.signal.aborted) {
          aborted = true;
          return;
        }
      }
      push(value[i]!);
    }
  };
  let wrapUpTimer: NodeJS.Timeout | undefined;
  let wrapUpOver: Promise<typeof LATE> | undefined;
  try {
    if (!result.done) take(result.value);
    // A stop sequence ends the loop early: leaving the iterator stops the run upstream. With a
    // wrap-up, the run is asked to stop and the loop reads on until its end event or WRAP_UP_MS.
    while (!aborted && !result.done && !translator.complete && !(stopper?.stopped && !wrapUp)) {
      if (o.signal.aborted) {
        aborted = true;
        break;
      }
      if (stopper?.stopped && !wrapUpOver) {
        wrapUp!.abort();
        wrapUpOver = new Promise((resolve) => (wrapUpTimer = setTimeout(() => resolve(LATE), WRAP_UP_MS)));
      }
      const next = it.next();
      const settled = wrapUpOver ? await Promise.race([next, wrapUpOver]) : await next;
      if (settled === LATE) {
        next.catch(() => undefined);
        break;
      }
      result = settled;
      if (!result.done) take(result.value);
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
    clearTimeout(wrapUpTimer);
    if (!result.done) void Promise.resolve(it.return?.()).catch(() => undefined);
  }
  if (aborted) return { conversationId: translator.conversationId, content, toolCalls, failed: true };

  translator.finish({ endedEarly: stopper?.stopped === true });
  // Past a stop sequence the client has its whole answer: what the stopped run reports after it is no failure.
  if (stopper?.stopped) translator.error = undefined;
  if (parser) emitPieces(parser.finish());
  if (stopper) show(stopper.flush());
  // Sources close a text answer (not one that became tool calls or was cut by a stop sequence).
  if (translator.sources && toolCalls.length === 0 && !stopper?.stopped && !translator.error) show(translator.sources);
  if (translator.error) {
    if (!isStarted()) throw uncommittedFailure(translator.error);
    sink.fail(translator.error);
    return { conversationId: translator.conversationId, content, toolCalls, failed: true };
  }
  const usage = toOpenAIUsage(translator.usage);
  commit();
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
