/**
 * Dify app events -> the pieces of an OpenAI answer: content, reasoning, replacement, usage, error,
 * and when the answer is complete. Knows every app mode (dify-service-api.md §2.5, §4, §7);
 * knows nothing about HTTP or OpenAI's JSON (the handler's writers do that).
 *
 * - `message` / `agent_message` / `text_chunk` text goes through the ReasoningSplitter so `<think>`
 *   and Dify's legacy `<details>` thinking blocks become reasoning, split anywhere across events;
 * - `reasoning_chunk` (chatflow LLM nodes with separated reasoning) is reasoning;
 * - `agent_thought` becomes reasoning text (tool used, its input, what it returned), never tool calls;
 * - `message_file` becomes a markdown image or link in the content;
 * - `message_replace` replaces the answer (the sink decides how, a stream cannot retract text);
 * - usage from `message_end` (chat family) or the workflow's LLM nodes / total;
 * - workflow apps without `text_chunk` get their answer from `workflow_finished.outputs`.
 */
import type { AppMode } from '../backend/types.js';
import {
  agentThoughtSchema,
  errorEventSchema,
  messageFileSchema,
  messageReplaceSchema,
  nodeFinishedSchema,
  reasoningChunkSchema,
  workflowFinishedSchema,
  type DifyEvent,
  type DifyUsage,
} from './events.js';
import { citedDocuments, sourcesMarkdown } from './citations.js';
import { ReasoningSplitter } from './reasoning-splitter.js';

export type ReasoningOutput = 'reasoning_content' | 'think_tags' | 'hidden';

export interface TranslatorSink {
  /** Answer text (may contain inline `<think>` tags when reasoning_output is think_tags). */
  content(text: string): void;
  /** Reasoning text (only when reasoning_output is reasoning_content). */
  reasoning(text: string): void;
  /** Output moderation replaced the whole answer with `text`. */
  replace(text: string): void;
}

export interface TranslatorError {
  code: string;
  message: string;
  status?: number;
}

export interface TranslatorOptions {
  mode: AppMode;
  reasoningOutput?: ReasoningOutput;
  /** Base for relative `message_file` URLs (`/files/tools/...`), e.g. the Dify origin. */
  filesBaseUrl?: string;
  /** Chatflows and workflows: node titles as reasoning while nothing is written yet (a progress display). */
  progress?: boolean;
  /** Collect the app's citations (message_end `retriever_resources`) as `sources`. */
  citations?: boolean;
}

/** Nodes whose titles say nothing about progress. */
const QUIET_NODES = new Set(['start', 'end', 'answer']);

const WORKFLOW_ANSWER_KEYS = ['answer', 'text', 'output', 'result'];

export class DifyTranslator {
  conversationId: string | undefined;
  messageId: string | undefined;
  taskId: string | undefined;
  workflowRunId: string | undefined;
  usage: DifyUsage | undefined;
  error: TranslatorError | undefined;
  /** True once the terminal event(s) of this app mode were seen. */
  complete = false;
  /** Content characters delivered (after reasoning split), to know whether a workflow streamed text. */
  contentChars = 0;
  /** With `citations`: the app's sources as a markdown block to append ('' when none). */
  sources = '';

  private readonly mode: AppMode;
  private readonly reasoningOutput: ReasoningOutput;
  private readonly splitter = new ReasoningSplitter();
  private inThinkTag = false;
  private sawMessageEnd = false;
  private sawWorkflowFinished = false;
  private agentTextSeen = false;
  private workflowFailure: TranslatorError | undefined;
  private nodeUsage: DifyUsage | undefined;
  private workflowTotal = 0;
  private workflowOutputs: Record<string, unknown> | undefined;
  /** Per agent thought id: what has been surfaced already. */
  /** Made on the first agent thought: most answers have none, and an open stream should stay small. */
  private thoughts: Map<string, { tool: string; input: string; observation: string; thought: string }> | undefined;
  private agentTextSinceThought = false;

  constructor(
    private readonly sink: TranslatorSink,
    private readonly options: TranslatorOptions,
  ) {
    this.mode = options.mode;
    this.reasoningOutput = options.reasoningOutput ?? 'reasoning_content';
  }

  /** Feeds one event. Call `finish()` when the upstream ends. */
  push(ev: DifyEvent): void {
    switch (ev.event) {
      case 'message': {
        if (this.conversationId === undefined) this.captureIds(ev);
        // New Agent apps close with one `message` holding the complete answer: not a delta.
        if (this.mode === 'agent' && this.agentTextSeen) return;
        const answer = ev.answer;
        if (typeof answer === 'string' && answer !== '') this.text(answer);
        // A blocking answer is one `message` with the whole answer and its metadata: also the end.
        if (ev.metadata !== undefined) this.rare({ ...ev, event: 'message_end' });
        return;
      }
      case 'agent_message': {
        if (this.conversationId === undefined) this.captureIds(ev);
        const answer = ev.answer;
        if (typeof answer === 'string' && answer !== '') {
          this.agentTextSeen = true;
          this.agentTextSinceThought = true;
          this.text(answer);
        }
        return;
      }
      case 'text_chunk': {
        if (this.workflowRunId === undefined) this.captureIds(ev);
        const data = ev.data as { text?: unknown } | null | undefined;
        const text = data?.text;
        if (typeof text === 'string' && text !== '') this.text(text);
        return;
      }
      case 'ping':
        return;
      default:
        this.rare(ev);
    }
  }

  private captureIds(ev: DifyEvent): void {
    if (typeof ev.conversation_id === 'string' && ev.conversation_id) this.conversationId = ev.conversation_id;
    if (typeof ev.message_id === 'string' && ev.message_id) this.messageId = ev.message_id;
    if (typeof ev.task_id === 'string' && ev.task_id) this.taskId = ev.task_id;
    if (typeof ev.workflow_run_id === 'string' && ev.workflow_run_id) this.workflowRunId = ev.workflow_run_id;
  }

  private rare(ev: DifyEvent): void {
    this.captureIds(ev);
    switch (ev.event) {
      case 'message_end': {
        // Read by hand: zod costs ~0.2 ms here, once per answer.
        const metadata = ev.metadata as { usage?: unknown } | null | undefined;
        this.usage = usageFrom(metadata && typeof metadata === 'object' ? metadata.usage : undefined) ?? this.usage;
        if (this.options.citations) this.sources = sourcesMarkdown(citedDocuments(metadata));
        this.sawMessageEnd = true;
        this.updateComplete();
        return;
      }
      case 'error': {
        const p = errorEventSchema.safeParse(ev);
        const d = p.success ? p.data : { code: undefined, message: undefined, status: undefined };
        this.error = {
          code: d.code || 'upstream_error',
          message: d.message || 'The Dify app failed while answering.',
          ...(d.status ? { status: d.status } : {}),
        };
        this.complete = true;
        return;
      }
      case 'message_replace': {
        const p = messageReplaceSchema.safeParse(ev);
        if (p.success) {
          this.flushSplitter();
          this.closeThinkTag();
          this.sink.replace(p.data.answer);
        }
        return;
      }
      case 'message_file': {
        const p = messageFileSchema.safeParse(ev);
        if (!p.success || !p.data.url) return;
        if (p.data.belongs_to && p.data.belongs_to !== 'assistant') return;
        const url = this.resolveUrl(p.data.url);
        const md = p.data.type === 'image' ? `![image](${url})` : `[${p.data.type || 'file'}](${url})`;
        this.flushSplitter();
        this.closeThinkTag();
        this.emitContent((this.contentChars > 0 ? '\n\n' : '') + md + '\n\n');
        return;
      }
      case 'agent_thought':
        this.agentThought(ev);
        return;
      case 'reasoning_chunk': {
        const p = reasoningChunkSchema.safeParse(ev);
        const r = p.success ? p.data.data.reasoning : undefined;
        if (r) this.emitReasoning(r);
        return;
      }
      case 'node_finished': {
        const p = nodeFinishedSchema.safeParse(ev);
        if (!p.success) return;
        const u = usageFrom(p.data.data.outputs?.usage);
        if (u && p.data.data.node_type === 'llm') {
          this.nodeUsage = {
            prompt_tokens: (this.nodeUsage?.prompt_tokens ?? 0) + u.prompt_tokens,
            completion_tokens: (this.nodeUsage?.completion_tokens ?? 0) + u.completion_tokens,
          };
        }
        return;
      }
      case 'text_replace': {
        const data = ev.data as { text?: unknown } | undefined;
        if (typeof data?.text === 'string') {
          this.flushSplitter();
          this.sink.replace(data.text);
        }
        return;
      }
      case 'workflow_finished': {
        const p = workflowFinishedSchema.safeParse(ev);
        const d = p.success ? p.data.data : {};
        this.sawWorkflowFinished = true;
        this.workflowTotal = d.total_tokens ?? 0;
        this.workflowOutputs = d.outputs ?? undefined;
        const status = d.status ?? 'succeeded';
        if (status === 'failed') {
          this.workflowFailure = { code: 'workflow_failed', message: d.error || 'The Dify workflow failed.', status: 500 };
        } else if (status === 'stopped' && this.mode === 'workflow') {
          this.workflowFailure = { code: 'workflow_stopped', message: d.error || 'The Dify workflow was stopped.', status: 500 };
        }
        if (this.mode === 'workflow' && this.workflowFailure) {
          this.error = this.workflowFailure;
          this.complete = true;
          return;
        }
        this.updateComplete();
        return;
      }
      case 'workflow_paused':
      case 'human_input_required':
        this.error = {
          code: 'human_input_required',
          message: 'The Dify app paused for human input, which this OpenAI-compatible endpoint cannot provide.',
          status: 400,
        };
        this.complete = true;
        return;
      case 'node_started': {
        if (!this.options.progress || this.contentChars > 0) return;
        const data = ev.data as { title?: unknown; node_type?: unknown; iteration_id?: unknown; loop_id?: unknown } | undefined;
        if (typeof data?.title !== 'string' || !data.title || QUIET_NODES.has(String(data.node_type)) || data.iteration_id || data.loop_id) return;
        this.emitReasoning(`▸ ${data.title}\n`);
        return;
      }
      default:
        return; // workflow_started, iteration_*, tts_*, agent_log, unknown: not part of the answer
    }
  }

  private updateComplete(): void {
    switch (this.mode) {
      case 'advanced-chat':
        // Both arrive, in either order (dify-service-api.md §0); a stopped chatflow sends both too.
        this.complete = this.sawMessageEnd && this.sawWorkflowFinished;
        break;
      case 'workflow':
        this.complete = this.sawWorkflowFinished;
        break;
      default:
        this.complete = this.sawMessageEnd;
    }
  }

  /** Call when the upstream is exhausted (or after `complete`). Flushes held-back text. */
  /** The stream is over. `endedEarly`: the consumer stopped reading on purpose (a stop sequence), so no end event is expected. */
  finish(options: { endedEarly?: boolean } = {}): void {
    this.flushSplitter();
    if (!this.error && this.contentChars === 0 && this.workflowOutputs && (this.mode === 'workflow' || !this.sawMessageEnd)) {
      const answer = workflowAnswer(this.workflowOutputs);
      if (answer) this.text(answer);
      this.flushSplitter();
    }
    this.closeThinkTag();
    if (!this.usage) {
      if (this.nodeUsage) this.usage = this.nodeUsage;
      else if (this.workflowTotal > 0) this.usage = { prompt_tokens: 0, completion_tokens: this.workflowTotal, total_tokens: this.workflowTotal };
    }
    // A run stopped on purpose (a stop sequence) ends as `workflow_stopped`: not a failure then.
    const stoppedOnPurpose = options.endedEarly && this.workflowFailure?.code === 'workflow_stopped';
    if (!this.error && this.workflowFailure && !this.sawMessageEnd && !stoppedOnPurpose) this.error = this.workflowFailure;
    if (!this.error && !options.endedEarly && !this.complete && !this.sawMessageEnd && !this.sawWorkflowFinished) {
      this.error = { code: 'upstream_incomplete', message: 'The Dify app stream ended before the answer was complete.', status: 502 };
    }
  }

  private agentThought(ev: DifyEvent): void {
    const p = agentThoughtSchema.safeParse(ev);
    if (!p.success) return;
    const t = p.data;
    const id = t.id ?? String(t.position ?? '');
    this.thoughts ??= new Map();
    let seen = this.thoughts.get(id);
    if (!seen) {
      seen = { tool: '', input: '', observation: '', thought: '' };
      this.thoughts.set(id, seen);
      this.agentTextSinceThought = false;
    }
    const parts: string[] = [];
    // The function-calling runner repeats the turn's answer as `thought`: only surface thoughts that
    // were not already streamed as agent_message text (ReAct runners think out loud here).
    if (t.thought && t.thought !== seen.thought && !this.agentTextSinceThought && !t.tool) {
      parts.push(t.thought.startsWith(seen.thought) ? t.thought.slice(seen.thought.length) : t.thought);
      seen.thought = t.thought;
    }
    if (t.tool && (t.tool !== seen.tool || (t.tool_input ?? '') !== seen.input)) {
      if (t.thought && t.thought !== seen.thought && !this.agentTextSinceThought) {
        parts.push(t.thought);
        seen.thought = t.thought;
      }
      seen.tool = t.tool;
      seen.input = t.tool_input ?? '';
      parts.push(`Using tool ${t.tool}${seen.input ? ` with ${seen.input}` : ''}`);
    }
    if (t.observation && t.observation !== seen.observation) {
      seen.observation = t.observation;
      parts.push(`Tool result: ${t.observation}`);
    }
    if (parts.length > 0) this.emitReasoning(parts.join('\n') + '\n');
  }

  private resolveUrl(url: string): string {
    if (/^[a-z][a-z0-9+.-]*:/i.test(url) || !this.options.filesBaseUrl) return url;
    return this.options.filesBaseUrl.replace(/\/+$/, '') + (url.startsWith('/') ? url : '/' + url);
  }

  /** Answer text through the reasoning splitter. */
  private text(text: string): void {
    const segments = this.splitter.push(text);
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i]!;
      if (s.text === '') continue;
      if (s.kind === 'content') {
        this.closeThinkTag();
        this.emitContent(s.text);
      } else this.emitReasoning(s.text);
    }
  }

  private flushSplitter(): void {
    const segments = this.splitter.flush();
    for (const s of segments) {
      if (s.text === '') continue;
      if (s.kind === 'content') {
        this.closeThinkTag();
        this.emitContent(s.text);
      } else this.emitReasoning(s.text);
    }
  }

  private emitContent(text: string): void {
    // Verbatim: the whitespace after a closing </think> is already dropped by the ReasoningSplitter;
    // an answer's own leading whitespace (an indented code line) is part of the answer.
    if (text === '') return;
    this.contentChars += text.length;
    this.sink.content(text);
  }

  private emitReasoning(text: string): void {
    switch (this.reasoningOutput) {
      case 'hidden':
        return;
      case 'think_tags':
        if (!this.inThinkTag) {
          this.inThinkTag = true;
          this.contentChars += 7;
          this.sink.content('<think>' + text);
        } else this.sink.content(text);
        return;
      default:
        this.sink.reasoning(text);
    }
  }

  private closeThinkTag(): void {
    if (this.inThinkTag) {
      this.inThinkTag = false;
      this.sink.content('</think>\n\n');
    }
  }
}

function num(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : 0;
  return Number.isFinite(n) ? n : 0;
}

/** Dify's usage object -> token counts; undefined when absent. */
function usageFrom(raw: unknown): DifyUsage | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const u = raw as Record<string, unknown>;
  return { prompt_tokens: num(u.prompt_tokens), completion_tokens: num(u.completion_tokens), total_tokens: u.total_tokens === undefined ? undefined : num(u.total_tokens) };
}

/** The answer of a workflow run from its outputs: a single string output, a conventional key, else JSON. */
export function workflowAnswer(outputs: Record<string, unknown>): string {
  const entries = Object.entries(outputs).filter(([, v]) => v !== null && v !== undefined);
  const strings = entries.filter(([, v]) => typeof v === 'string');
  if (strings.length === 1 && entries.length === 1) return strings[0]![1] as string;
  for (const key of WORKFLOW_ANSWER_KEYS) {
    const v = outputs[key];
    if (typeof v === 'string') return v;
  }
  if (strings.length === 1) return strings[0]![1] as string;
  if (entries.length === 0) return '';
  return JSON.stringify(outputs);
}
