/**
 * Dify LLMResultChunks -> the answer as the OpenAI side needs it: reasoning and content deltas
 * (inline `<think>` split out), tool calls with a stable identity and argument fragments, one
 * finish reason, usage. Knows neither express nor the wire format of either side.
 */
import type { LlmResultChunk } from '../../backend/types.js';
import { ReasoningSplitter } from '../../dify/reasoning-splitter.js';
import { newToolCallId, toOpenAIUsage, type FinishReason, type OpenAIUsage, type ToolCall } from '../../openai/chat-chunks.js';
import type { ResponseEvent } from '../../openai/response-builder.js';

/** Reasoning, content, a tool call's first appearance, its argument fragments: what a Responses answer is made of too. */
export type AnswerEvent = ResponseEvent;

interface CallState {
  id: string;
  name: string;
  args: string;
  /** Emitted to the client yet (needs a name first). */
  started: boolean;
  /** Position among the calls the client has seen. */
  index: number;
}

export interface AnswerSummary {
  content: string;
  reasoning: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: OpenAIUsage;
}

/** Dify passes each provider's own finish reason through; these are the spellings seen. */
function mapFinishReason(raw: string | null | undefined): FinishReason | undefined {
  if (!raw) return undefined;
  const r = raw.toLowerCase();
  if (r === 'length' || r === 'max_tokens' || r === 'max_output_tokens' || r === 'model_length') return 'length';
  if (r === 'tool_calls' || r === 'tool_use' || r === 'function_call' || r === 'tool_call') return 'tool_calls';
  if (r === 'content_filter' || r === 'safety' || r === 'recitation' || r === 'blocklist' || r === 'prohibited_content') return 'content_filter';
  return 'stop';
}

function textOf(content: LlmResultChunk['delta']['message']['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (part.type === 'text' && typeof part.data === 'string' ? part.data : ''))
    .join('');
}

export class AnswerAssembler {
  private readonly splitter = new ReasoningSplitter();
  private readonly calls: CallState[] = [];
  private startedCalls = 0;
  private content = '';
  private reasoning = '';
  private rawFinish: FinishReason | undefined;
  private usage: LlmResultChunk['delta']['usage'] = null;
  private structuredText = '';
  private structured: Record<string, unknown> | null = null;

  /**
   * @param structured structured-output mode: the model's text is held and the answer's content is
   * the parsed `structured_output` Dify returns at the end (valid JSON even if the model wrapped it).
   */
  constructor(private readonly structuredMode = false) {}

  push(chunk: LlmResultChunk): AnswerEvent[] {
    const out: AnswerEvent[] = [];
    const { delta } = chunk;
    const text = textOf(delta.message.content);
    if (text) {
      if (this.structuredMode) this.structuredText += text;
      else this.addSegments(this.splitter.push(text), out);
    }
    for (const call of delta.message.tool_calls ?? []) this.addToolCall(call, out);
    if (delta.usage) this.usage = delta.usage;
    const finish = mapFinishReason(delta.finish_reason);
    if (finish) this.rawFinish = finish;
    if (chunk.structured_output && typeof chunk.structured_output === 'object') this.structured = chunk.structured_output;
    return out;
  }

  /** Call once the chunk stream ended: flushes held text and decides the finish reason. */
  finish(): { events: AnswerEvent[]; summary: AnswerSummary } {
    const out: AnswerEvent[] = [];
    if (this.structuredMode) {
      const text = this.structured ? JSON.stringify(this.structured) : stripFence(this.structuredText);
      if (text) {
        this.content += text;
        out.push({ type: 'content', text });
      }
    } else {
      this.addSegments(this.splitter.flush(), out);
    }
    // A call whose name never arrived cannot be executed by the client; give it what we have.
    for (const call of this.calls) {
      if (!call.started && (call.name || call.args)) this.startCall(call, out);
    }
    const toolCalls: ToolCall[] = this.calls
      .filter((c) => c.started)
      .sort((a, b) => a.index - b.index)
      .map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args || '{}' } }));
    // Agent loops key on finish_reason "tool_calls"; providers often say "stop" with calls present.
    let finishReason: FinishReason = this.rawFinish ?? 'stop';
    if (toolCalls.length > 0 && finishReason === 'stop') finishReason = 'tool_calls';
    if (toolCalls.length === 0 && finishReason === 'tool_calls') finishReason = 'stop';
    const usage = toOpenAIUsage(this.usage ?? undefined);
    return {
      events: out,
      summary: { content: this.content, reasoning: this.reasoning, toolCalls, finishReason, usage },
    };
  }

  private addSegments(segments: Array<{ kind: 'reasoning' | 'content'; text: string }>, out: AnswerEvent[]): void {
    for (const seg of segments) {
      if (!seg.text) continue;
      if (seg.kind === 'reasoning') {
        this.reasoning += seg.text;
        out.push({ type: 'reasoning', text: seg.text });
      } else {
        this.content += seg.text;
        out.push({ type: 'content', text: seg.text });
      }
    }
  }

  /**
   * Providers stream tool calls differently (Dify's own merger handles the same cases): the id on
   * the first fragment only, on every fragment, or nowhere; the whole call in one chunk. A fragment
   * with a known id extends that call, a new id opens a call, no id extends the latest call.
   */
  private addToolCall(call: { id?: string | null; function?: { name?: string | null; arguments?: string | null } | null }, out: AnswerEvent[]): void {
    const id = call.id ?? '';
    const name = call.function?.name ?? '';
    const args = call.function?.arguments ?? '';
    let state = id ? this.calls.find((c) => c.id === id) : this.calls.at(-1);
    if (!state || (!id && name && state.name && state.name !== name)) {
      state = { id: id || newToolCallId(), name: '', args: '', started: false, index: -1 };
      this.calls.push(state);
    }
    if (name && !state.name) state.name = name;
    if (!args) {
      if (!state.started && state.name) this.startCall(state, out);
      return;
    }
    if (!state.started) {
      state.args += args;
      if (state.name) this.startCall(state, out);
      return;
    }
    state.args += args;
    out.push({ type: 'tool_args', index: state.index, fragment: args });
  }

  private startCall(state: CallState, out: AnswerEvent[]): void {
    state.started = true;
    state.index = this.startedCalls++;
    out.push({ type: 'tool_call', index: state.index, id: state.id, name: state.name, args: state.args });
  }
}

/** Structured output without Dify's parsed object: drop a Markdown code fence around the JSON. */
function stripFence(text: string): string {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(text);
  return (fenced?.[1] ?? text).trim();
}
