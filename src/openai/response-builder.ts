/**
 * Builds a Responses API `response` object from answer events and, when streaming, its named events
 * in the order openai-node's accumulator, the AI SDK and Codex expect (openai-compat.md §6.2):
 * text becomes a message item, reasoning a reasoning item with one summary part, tool calls
 * function_call items whose arguments may arrive in fragments; a length stop ends as
 * `response.incomplete`. Shared by the chat-app and llm groups; knows OpenAI shapes, not Dify.
 */
import { randomUUID } from 'node:crypto';
import type { FinishReason, OpenAIUsage } from './chat-chunks.js';
import { responsesUsage } from './responses.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const newId = (prefix: string) => `${prefix}_${randomUUID().replaceAll('-', '')}`;

/** What an answer is made of, in order. */
export type ResponseEvent =
  | { type: 'reasoning'; text: string }
  | { type: 'content'; text: string }
  /** First appearance of a tool call: identity plus whatever arguments are known so far. */
  | { type: 'tool_call'; index: number; id: string; name: string; args: string }
  | { type: 'tool_args'; index: number; fragment: string };

interface OpenItem {
  kind: 'message' | 'reasoning';
  id: string;
  outputIndex: number;
  text: string;
}

interface CallItem {
  id: string;
  callId: string;
  name: string;
  args: string;
  outputIndex: number;
}

export class ResponseBuilder {
  readonly id = newId('resp');
  readonly createdAt = Math.floor(Date.now() / 1000);
  private seq = 0;
  private readonly output: Json[] = [];
  private open: OpenItem | undefined;
  private readonly calls = new Map<number, CallItem>();

  /**
   * @param request the Responses request body (echoed fields: instructions, tools, metadata...)
   * @param emit receives each stream event as (type, payload); omit it for a non-streaming answer
   */
  constructor(
    private readonly model: string,
    private readonly request: Json,
    private readonly emit: (type: string, data: Json) => void = () => undefined,
  ) {}

  /** Sequence number for an event written outside the builder (keepalives). */
  nextSeq(): number {
    return this.seq++;
  }

  private send(type: string, data: Json): void {
    this.emit(type, { type, ...data, sequence_number: this.seq++ });
  }

  snapshot(status: string, extra: Json = {}): Json {
    const r = this.request;
    return {
      id: this.id,
      object: 'response',
      created_at: this.createdAt,
      status,
      background: false,
      error: null,
      incomplete_details: null,
      instructions: r.instructions ?? null,
      max_output_tokens: r.max_output_tokens ?? null,
      model: this.model,
      output: status === 'in_progress' ? [] : this.output,
      parallel_tool_calls: r.parallel_tool_calls ?? true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: false,
      temperature: r.temperature ?? 1,
      text: { format: isObject(r.text) && isObject(r.text.format) ? r.text.format : { type: 'text' } },
      tool_choice: r.tool_choice ?? 'auto',
      tools: Array.isArray(r.tools) ? r.tools : [],
      top_p: r.top_p ?? 1,
      truncation: 'disabled',
      usage: null,
      user: r.user ?? null,
      metadata: isObject(r.metadata) ? r.metadata : {},
      ...extra,
    };
  }

  started(): void {
    this.send('response.created', { response: this.snapshot('in_progress') });
    this.send('response.in_progress', { response: this.snapshot('in_progress') });
  }

  event(event: ResponseEvent): void {
    switch (event.type) {
      case 'reasoning':
      case 'content': {
        const kind = event.type === 'content' ? 'message' : 'reasoning';
        if (!this.open || this.open.kind !== kind) {
          this.closeOpen();
          this.openItem(kind);
        }
        const item = this.open!;
        item.text += event.text;
        if (event.text === '') return;
        if (kind === 'message') {
          this.send('response.output_text.delta', { item_id: item.id, output_index: item.outputIndex, content_index: 0, delta: event.text, logprobs: [] });
        } else {
          this.send('response.reasoning_summary_text.delta', { item_id: item.id, output_index: item.outputIndex, summary_index: 0, delta: event.text });
        }
        return;
      }
      case 'tool_call': {
        this.closeOpen();
        const call: CallItem = { id: newId('fc'), callId: event.id, name: event.name, args: event.args, outputIndex: this.output.length };
        this.calls.set(event.index, call);
        this.output.push({ type: 'function_call', id: call.id, call_id: call.callId, name: call.name, arguments: '', status: 'in_progress' });
        this.send('response.output_item.added', { output_index: call.outputIndex, item: { ...this.output[call.outputIndex] } });
        if (event.args) {
          this.send('response.function_call_arguments.delta', { item_id: call.id, output_index: call.outputIndex, delta: event.args });
        }
        return;
      }
      case 'tool_args': {
        const call = this.calls.get(event.index);
        if (!call) return;
        call.args += event.fragment;
        this.send('response.function_call_arguments.delta', { item_id: call.id, output_index: call.outputIndex, delta: event.fragment });
        return;
      }
    }
  }

  private openItem(kind: OpenItem['kind']): void {
    const item: OpenItem = { kind, id: newId(kind === 'message' ? 'msg' : 'rs'), outputIndex: this.output.length, text: '' };
    this.open = item;
    if (kind === 'message') {
      this.output.push({ type: 'message', id: item.id, status: 'in_progress', role: 'assistant', content: [] });
      this.send('response.output_item.added', { output_index: item.outputIndex, item: { ...this.output[item.outputIndex] } });
      this.send('response.content_part.added', {
        item_id: item.id,
        output_index: item.outputIndex,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
      });
    } else {
      this.output.push({ type: 'reasoning', id: item.id, summary: [] });
      this.send('response.output_item.added', { output_index: item.outputIndex, item: { ...this.output[item.outputIndex] } });
      this.send('response.reasoning_summary_part.added', {
        item_id: item.id,
        output_index: item.outputIndex,
        summary_index: 0,
        part: { type: 'summary_text', text: '' },
      });
    }
  }

  private closeOpen(): void {
    const item = this.open;
    if (!item) return;
    this.open = undefined;
    if (item.kind === 'message') {
      const part = { type: 'output_text', text: item.text, annotations: [], logprobs: [] };
      const done = { type: 'message', id: item.id, status: 'completed', role: 'assistant', content: [part] };
      this.output[item.outputIndex] = done;
      this.send('response.output_text.done', { item_id: item.id, output_index: item.outputIndex, content_index: 0, text: item.text, logprobs: [] });
      this.send('response.content_part.done', { item_id: item.id, output_index: item.outputIndex, content_index: 0, part });
      this.send('response.output_item.done', { output_index: item.outputIndex, item: done });
    } else {
      const part = { type: 'summary_text', text: item.text };
      const done = { type: 'reasoning', id: item.id, summary: [part] };
      this.output[item.outputIndex] = done;
      this.send('response.reasoning_summary_text.done', { item_id: item.id, output_index: item.outputIndex, summary_index: 0, text: item.text });
      this.send('response.reasoning_summary_part.done', { item_id: item.id, output_index: item.outputIndex, summary_index: 0, part });
      this.send('response.output_item.done', { output_index: item.outputIndex, item: done });
    }
  }

  /** Closes every item and sends the terminal event; returns the final response object. */
  finish(usage: OpenAIUsage, finishReason: FinishReason = 'stop'): Json {
    this.closeOpen();
    for (const call of [...this.calls.values()].sort((a, b) => a.outputIndex - b.outputIndex)) {
      const args = call.args || '{}';
      const done = { type: 'function_call', id: call.id, call_id: call.callId, name: call.name, arguments: args, status: 'completed' };
      this.output[call.outputIndex] = done;
      this.send('response.function_call_arguments.done', { item_id: call.id, output_index: call.outputIndex, name: call.name, arguments: args });
      this.send('response.output_item.done', { output_index: call.outputIndex, item: done });
    }
    const incomplete = finishReason === 'length';
    const response = this.snapshot(incomplete ? 'incomplete' : 'completed', {
      usage: responsesUsage(usage),
      incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    });
    this.send(incomplete ? 'response.incomplete' : 'response.completed', { response });
    return response;
  }

  /** The stream failed after it started: an `error` event (openai-node, the AI SDK), then `response.failed` (Codex). */
  failed(error: { code: string | null; message: string; param?: string | null }): void {
    this.send('error', { code: error.code, message: error.message, param: error.param ?? null });
    this.send('response.failed', { response: this.snapshot('failed', { error: { code: error.code ?? 'server_error', message: error.message } }) });
  }
}
