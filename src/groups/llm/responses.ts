/**
 * POST /v1/responses: the minimal Responses API subset (openai-compat.md §6.2) over the same model
 * invocation as chat completions. Stateless: `previous_response_id`, `conversation` and
 * `background` are refused, since clients that matter (Codex, the AI SDK) send full history.
 * Its event builder is its own (src/openai/responses.ts emits whole function calls and text only):
 * native tool calls stream argument fragments, reasoning becomes a reasoning item, a length stop
 * ends as `response.incomplete`.
 */
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { clientAbortSignal } from '../../host/context.js';
import { responsesUsage } from '../../openai/responses.js';
import { SseWriter } from '../../openai/sse.js';
import type { AnswerEvent, AnswerSummary } from './answer.js';
import { planChat } from './chat-request.js';
import { OpenAIError, invalidRequest, modelNotFound, modelsUnavailable, unsupported } from './errors.js';
import { runAnswer } from './invoke.js';
import { openModelRequest } from './request.js';
import { matchesModel } from './settings.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const newId = (prefix: string) => `${prefix}_${randomUUID().replaceAll('-', '')}`;

/** Responses request -> the equivalent chat-completions body (then planned like any chat). */
export function toChatBody(body: Json): Json {
  for (const field of ['previous_response_id', 'conversation', 'prompt'] as const) {
    if (body[field] !== undefined && body[field] !== null) {
      throw unsupported(`'${field}' is not supported: this endpoint is stateless, send the full input each time.`, field, 'unsupported_parameter');
    }
  }
  if (body.background === true) throw unsupported("background responses are not supported.", 'background', 'unsupported_value');

  const messages: Json[] = [];
  if (typeof body.instructions === 'string' && body.instructions) messages.push({ role: 'system', content: body.instructions });
  const input = body.input;
  if (typeof input === 'string') {
    messages.push({ role: 'user', content: input });
  } else if (Array.isArray(input)) {
    input.forEach((item, i) => addItem(messages, item, i));
  } else {
    throw invalidRequest("'input' must be a string or an array of input items.", 'input', input === undefined ? 'missing_required_parameter' : 'invalid_value');
  }
  if (messages.length === 0) throw invalidRequest("'input' is empty.", 'input');

  const chat: Json = { model: body.model, messages, stream: body.stream === true };
  for (const name of ['temperature', 'top_p', 'user', 'safety_identifier', 'seed']) {
    if (body[name] !== undefined) chat[name] = body[name];
  }
  if (body.max_output_tokens !== undefined && body.max_output_tokens !== null) chat.max_tokens = body.max_output_tokens;
  if (isObject(body.reasoning) && typeof body.reasoning.effort === 'string') chat.reasoning_effort = body.reasoning.effort;
  if (Array.isArray(body.tools)) {
    chat.tools = body.tools
      .filter((t): t is Json => isObject(t) && t.type === 'function')
      .map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));
  }
  const choice = body.tool_choice;
  if (isObject(choice) && choice.type === 'function') chat.tool_choice = { type: 'function', function: { name: choice.name } };
  else if (choice !== undefined) chat.tool_choice = choice;
  if (isObject(body.text) && isObject(body.text.format)) chat.response_format = body.text.format;
  return chat;
}

function partsOf(content: unknown, role: string): unknown {
  if (!Array.isArray(content)) return content;
  return content.map((part) => {
    if (!isObject(part)) return part;
    if (part.type === 'input_text' || part.type === 'output_text') return { type: 'text', text: part.text };
    if (part.type === 'input_image') {
      return { type: 'image_url', image_url: { url: part.image_url ?? part.file_id, detail: part.detail } };
    }
    if (part.type === 'refusal' && role === 'assistant') return { type: 'text', text: '' };
    return part;
  });
}

function addItem(messages: Json[], item: unknown, i: number): void {
  if (!isObject(item)) throw invalidRequest('Each input item must be an object.', `input[${i}]`);
  const type = item.type ?? (item.role ? 'message' : undefined);
  switch (type) {
    case 'message': {
      const role = item.role === 'developer' ? 'system' : item.role;
      if (role !== 'user' && role !== 'assistant' && role !== 'system') {
        throw invalidRequest(`Unknown role ${JSON.stringify(item.role)}.`, `input[${i}].role`);
      }
      messages.push({ role, content: partsOf(item.content, role) });
      return;
    }
    case 'function_call': {
      const call = { id: item.call_id ?? item.id, type: 'function', function: { name: item.name, arguments: item.arguments ?? '{}' } };
      const last = messages.at(-1);
      // Consecutive calls (parallel tool use) belong to one assistant turn.
      if (last && last.role === 'assistant' && Array.isArray(last.tool_calls)) (last.tool_calls as unknown[]).push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
      return;
    }
    case 'function_call_output': {
      const output = item.output;
      const content = typeof output === 'string' ? output : Array.isArray(output) ? partsOf(output, 'tool') : JSON.stringify(output ?? '');
      messages.push({ role: 'tool', tool_call_id: item.call_id, content });
      return;
    }
    default:
      // reasoning items and other client-side bookkeeping carry nothing the model needs.
      return;
  }
}

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

/** Builds the Response object and, when streaming, its ordered events. */
class ResponseBuilder {
  readonly id = newId('resp');
  readonly createdAt = Math.floor(Date.now() / 1000);
  private seq = 0;
  private readonly output: Json[] = [];
  private open: OpenItem | undefined;
  private readonly calls = new Map<number, CallItem>();

  constructor(
    private readonly model: string,
    private readonly request: Json,
    private readonly emit: (type: string, data: Json) => void = () => undefined,
  ) {}

  nextSeq(): number {
    return this.seq++;
  }

  private send(type: string, data: Json): void {
    this.emit(type, { type, ...data, sequence_number: this.seq++ });
  }

  snapshot(status: string, extra: Json = {}): Json {
    const tools = Array.isArray(this.request.tools) ? this.request.tools : [];
    return {
      id: this.id,
      object: 'response',
      created_at: this.createdAt,
      status,
      error: null,
      incomplete_details: null,
      instructions: this.request.instructions ?? null,
      max_output_tokens: this.request.max_output_tokens ?? null,
      model: this.model,
      output: status === 'in_progress' ? [] : this.output,
      parallel_tool_calls: this.request.parallel_tool_calls ?? true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: false,
      temperature: this.request.temperature ?? 1,
      text: { format: isObject(this.request.text) && isObject(this.request.text.format) ? this.request.text.format : { type: 'text' } },
      tool_choice: this.request.tool_choice ?? 'auto',
      tools,
      top_p: this.request.top_p ?? 1,
      truncation: 'disabled',
      usage: null,
      user: this.request.user ?? null,
      metadata: isObject(this.request.metadata) ? this.request.metadata : {},
      ...extra,
    };
  }

  started(): void {
    this.send('response.created', { response: this.snapshot('in_progress') });
    this.send('response.in_progress', { response: this.snapshot('in_progress') });
  }

  event(event: AnswerEvent): void {
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

  /** Closes every item; returns the final Response object. */
  finish(summary: AnswerSummary): Json {
    this.closeOpen();
    for (const call of [...this.calls.values()].sort((a, b) => a.outputIndex - b.outputIndex)) {
      const args = call.args || '{}';
      const done = { type: 'function_call', id: call.id, call_id: call.callId, name: call.name, arguments: args, status: 'completed' };
      this.output[call.outputIndex] = done;
      this.send('response.function_call_arguments.done', { item_id: call.id, output_index: call.outputIndex, name: call.name, arguments: args });
      this.send('response.output_item.done', { output_index: call.outputIndex, item: done });
    }
    const incomplete = summary.finishReason === 'length';
    const response = this.snapshot(incomplete ? 'incomplete' : 'completed', {
      usage: responsesUsage(summary.usage),
      incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    });
    this.send(incomplete ? 'response.incomplete' : 'response.completed', { response });
    return response;
  }

  failed(error: OpenAIError): void {
    this.send('error', { code: error.code, message: error.message, param: error.param });
    this.send('response.failed', { response: this.snapshot('failed', { error: { code: error.code ?? 'server_error', message: error.message } }) });
  }
}

export async function createResponse(req: Request, res: Response): Promise<void> {
  const { context, settings, body, model } = await openModelRequest(req, res);
  if (!matchesModel(model, settings.llmId, settings.llm)) throw modelNotFound(model);
  const models = context.models;
  if (!models) throw modelsUnavailable();
  const plan = planChat(toChatBody(body), settings.llm);
  const signal = clientAbortSignal(req, res);

  if (!plan.stream) {
    const builder = new ResponseBuilder(model, body);
    const outcome = await runAnswer(models, plan.invoke, signal, { start() {}, event: (e) => builder.event(e) }, plan.structured);
    if ('error' in outcome) throw outcome.error;
    res.status(200).json(builder.finish(outcome.summary));
    return;
  }

  let builder: ResponseBuilder | undefined;
  const writer = new SseWriter(res, {
    keepaliveFrame: () => `event: keepalive\ndata: ${JSON.stringify({ type: 'keepalive', sequence_number: builder!.nextSeq() })}\n\n`,
  });
  builder = new ResponseBuilder(model, body, (type, data) => writer.event(type, JSON.stringify(data)));
  const b = builder;
  const outcome = await runAnswer(
    models,
    plan.invoke,
    signal,
    {
      start() {
        writer.start();
        b.started();
      },
      event: (e) => b.event(e),
    },
    plan.structured,
  );
  if (signal.aborted) {
    writer.end();
    return;
  }
  if ('error' in outcome) b.failed(outcome.error);
  else b.finish(outcome.summary);
  writer.end();
}
