/**
 * The Responses API subset real clients need (openai-compat.md §6.2): request schema, input items
 * -> chat-style messages, the final `response` object, and a stream writer that emits the named
 * events in the order openai-node's accumulator, the AI SDK and Codex expect.
 * Generic: knows OpenAI shapes, not Dify.
 */
import { randomUUID } from 'node:crypto';
import type { Response as ExpressResponse } from 'express';
import { z } from 'zod';
import type { OpenAIUsage } from './chat-chunks.js';
import { invalidRequest, unsupported } from './errors.js';
import type { ChatMessageIn, FunctionTool, ToolChoice } from './schemas.js';
import { SseWriter } from './sse.js';

export const responsesRequestSchema = z.looseObject({
  model: z.string({ error: 'you must provide a model parameter' }).min(1, 'you must provide a model parameter'),
  input: z.union([z.string(), z.array(z.looseObject({ type: z.string().nullish(), role: z.string().nullish() }))], {
    error: "'input' must be a string or an array of input items",
  }),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  tools: z
    .array(
      z.looseObject({
        type: z.string(),
        name: z.string().nullish(),
        description: z.string().nullish(),
        parameters: z.record(z.string(), z.unknown()).nullish(),
      }),
    )
    .nullish(),
  tool_choice: z.union([z.string(), z.looseObject({ type: z.string(), name: z.string().nullish() })]).nullish(),
  previous_response_id: z.string().nullish(),
  conversation: z.unknown().optional(),
  background: z.boolean().nullish(),
  prompt: z.unknown().optional(),
  user: z.string().nullish(),
  safety_identifier: z.string().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  max_output_tokens: z.number().nullish(),
});
export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

export function rejectUnsupportedResponses(req: ResponsesRequest): void {
  if (req.previous_response_id) {
    throw unsupported('previous_response_id is not supported: send the full input each turn (store: false).', 'previous_response_id');
  }
  if (req.conversation != null) throw unsupported('conversation is not supported: send the full input each turn.', 'conversation');
  if (req.background === true) throw unsupported('background responses are not supported.', 'background');
  if (req.prompt != null) throw unsupported('prompt templates are not supported.', 'prompt');
}

/** Responses input -> chat-completions-style messages (then validated by normalizeMessages). */
export function responsesInputToMessages(req: ResponsesRequest): ChatMessageIn[] {
  const out: ChatMessageIn[] = [];
  if (req.instructions) out.push({ role: 'system', content: req.instructions });
  if (typeof req.input === 'string') {
    out.push({ role: 'user', content: req.input });
    return out;
  }
  req.input.forEach((raw, i) => {
    const item = raw as Record<string, unknown>;
    const type = (item.type as string | undefined) ?? (item.role ? 'message' : undefined);
    switch (type) {
      case 'message': {
        const role = String(item.role ?? 'user');
        const content = item.content;
        let parts: unknown = content;
        if (Array.isArray(content)) {
          parts = content.map((p, j) => {
            const part = p as Record<string, unknown>;
            switch (part.type) {
              case 'input_text':
              case 'output_text':
              case 'text':
                return { type: 'text', text: String(part.text ?? '') };
              case 'refusal':
                return { type: 'refusal', refusal: String(part.refusal ?? '') };
              case 'input_image': {
                const url = typeof part.image_url === 'string' ? part.image_url : (part.image_url as { url?: string } | undefined)?.url;
                if (!url) throw invalidRequest('input_image needs an image_url.', `input[${i}].content[${j}].image_url`);
                return { type: 'image_url', image_url: { url } };
              }
              case 'input_file':
                throw unsupported('input_file parts are not supported by this endpoint.', `input[${i}].content[${j}].type`, 'unsupported_value');
              default:
                throw invalidRequest(`Invalid content part type '${String(part.type)}'.`, `input[${i}].content[${j}].type`);
            }
          });
        }
        out.push({ role, content: parts });
        return;
      }
      case 'function_call': {
        const call = {
          id: String(item.call_id ?? item.id ?? `call_${i}`),
          type: 'function',
          function: { name: String(item.name ?? ''), arguments: String(item.arguments ?? '{}') },
        };
        const prev = out[out.length - 1];
        if (prev && prev.role === 'assistant' && prev.tool_calls && !prev.content) prev.tool_calls.push(call);
        else out.push({ role: 'assistant', content: null, tool_calls: [call] });
        return;
      }
      case 'function_call_output': {
        const output = item.output;
        out.push({
          role: 'tool',
          tool_call_id: String(item.call_id ?? ''),
          content: typeof output === 'string' ? output : JSON.stringify(output ?? ''),
        });
        return;
      }
      default:
        return; // reasoning items, item references, custom tool calls: not part of what the app needs
    }
  });
  return out;
}

export function responsesTools(req: ResponsesRequest): { tools: FunctionTool[]; toolChoice: ToolChoice } {
  const tools: FunctionTool[] = [];
  for (const t of req.tools ?? []) {
    if (t.type !== 'function' || !t.name) continue;
    const fn: FunctionTool['function'] = { name: t.name };
    if (t.description) fn.description = t.description;
    if (t.parameters) fn.parameters = t.parameters as Record<string, unknown>;
    tools.push({ type: 'function', function: fn });
  }
  let toolChoice: ToolChoice = 'auto';
  const tc = req.tool_choice;
  if (tc === 'none' || tc === 'auto' || tc === 'required') toolChoice = tc;
  else if (tc && typeof tc === 'object' && tc.type === 'function' && tc.name) {
    if (!tools.some((t) => t.function.name === tc.name)) throw invalidRequest(`tool_choice names '${tc.name}', which is not in 'tools'.`, 'tool_choice');
    toolChoice = { type: 'function', function: { name: tc.name } };
  }
  if (toolChoice === 'required' && tools.length === 0) throw invalidRequest("tool_choice is 'required' but no function tools were given.", 'tool_choice');
  return { tools, toolChoice };
}

export type OutputItem =
  | {
      type: 'message';
      id: string;
      status: 'in_progress' | 'completed';
      role: 'assistant';
      content: Array<{ type: 'output_text'; text: string; annotations: unknown[]; logprobs: unknown[] }>;
    }
  | { type: 'function_call'; id: string; call_id: string; name: string; arguments: string; status: 'in_progress' | 'completed' };

export function responsesUsage(u: OpenAIUsage): Record<string, unknown> {
  return {
    input_tokens: u.prompt_tokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: u.completion_tokens,
    output_tokens_details: { reasoning_tokens: u.completion_tokens_details.reasoning_tokens },
    total_tokens: u.total_tokens,
  };
}

const hex = () => randomUUID().replace(/-/g, '');

/** The `response` object in any state. */
export class ResponseState {
  readonly id = 'resp_' + hex();
  readonly createdAt = Math.floor(Date.now() / 1000);
  readonly output: OutputItem[] = [];
  status: 'in_progress' | 'completed' | 'failed' = 'in_progress';
  usage: Record<string, unknown> | null = null;
  error: { code: string; message: string } | null = null;

  constructor(
    readonly model: string,
    readonly request: ResponsesRequest,
  ) {}

  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      object: 'response',
      created_at: this.createdAt,
      status: this.status,
      background: false,
      error: this.error,
      incomplete_details: null,
      instructions: this.request.instructions ?? null,
      max_output_tokens: this.request.max_output_tokens ?? null,
      model: this.model,
      output: this.output,
      parallel_tool_calls: this.request.parallel_tool_calls ?? true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: false,
      temperature: this.request.temperature ?? 1,
      text: { format: { type: 'text' } },
      tool_choice: this.request.tool_choice ?? 'auto',
      tools: this.request.tools ?? [],
      top_p: this.request.top_p ?? 1,
      truncation: 'disabled',
      usage: this.usage,
      user: this.request.user ?? null,
      metadata: this.request.metadata ?? {},
    };
  }

  newMessage(): Extract<OutputItem, { type: 'message' }> {
    const item: Extract<OutputItem, { type: 'message' }> = { type: 'message', id: 'msg_' + hex(), status: 'in_progress', role: 'assistant', content: [] };
    this.output.push(item);
    return item;
  }

  newFunctionCall(callId: string, name: string, args: string): Extract<OutputItem, { type: 'function_call' }> {
    const item: Extract<OutputItem, { type: 'function_call' }> = { type: 'function_call', id: 'fc_' + hex(), call_id: callId, name, arguments: args, status: 'completed' };
    this.output.push(item);
    return item;
  }
}

/** Streams one response as named events with increasing sequence numbers. */
export class ResponsesStreamWriter {
  private seq = 0;
  private readonly writer: SseWriter;
  private message: Extract<OutputItem, { type: 'message' }> | undefined;
  private messageIndex = -1;
  private text = '';

  constructor(
    res: ExpressResponse,
    readonly state: ResponseState,
    keepaliveMs?: number,
  ) {
    this.writer = new SseWriter(res, {
      ...(keepaliveMs ? { keepaliveMs } : {}),
      keepaliveFrame: () => `event: keepalive\ndata: {"type":"keepalive","sequence_number":${this.seq++}}\n\n`,
    });
  }

  private emit(type: string, fields: Record<string, unknown>): void {
    const payload = JSON.stringify({ type, ...fields, sequence_number: this.seq++ });
    this.writer.event(type, payload);
  }

  start(headers: Record<string, string>): void {
    this.writer.start(headers);
    const response = this.state.toJSON();
    this.emit('response.created', { response });
    this.emit('response.in_progress', { response });
  }

  text_(delta: string): void {
    if (!this.message) {
      this.message = this.state.newMessage();
      this.messageIndex = this.state.output.length - 1;
      this.text = '';
      this.emit('response.output_item.added', { output_index: this.messageIndex, item: { ...this.message, content: [] } });
      this.emit('response.content_part.added', {
        item_id: this.message.id,
        output_index: this.messageIndex,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
      });
    }
    this.text += delta;
    this.emit('response.output_text.delta', { item_id: this.message.id, output_index: this.messageIndex, content_index: 0, delta, logprobs: [] });
  }

  private closeMessage(): void {
    const m = this.message;
    if (!m) return;
    const part = { type: 'output_text' as const, text: this.text, annotations: [], logprobs: [] };
    this.emit('response.output_text.done', { item_id: m.id, output_index: this.messageIndex, content_index: 0, text: this.text, logprobs: [] });
    this.emit('response.content_part.done', { item_id: m.id, output_index: this.messageIndex, content_index: 0, part });
    m.content = [part];
    m.status = 'completed';
    this.emit('response.output_item.done', { output_index: this.messageIndex, item: m });
    this.message = undefined;
  }

  functionCall(callId: string, name: string, args: string): void {
    this.closeMessage();
    const item = this.state.newFunctionCall(callId, name, args);
    const index = this.state.output.length - 1;
    this.emit('response.output_item.added', { output_index: index, item: { ...item, arguments: '', status: 'in_progress' } });
    if (args) this.emit('response.function_call_arguments.delta', { item_id: item.id, output_index: index, delta: args });
    this.emit('response.function_call_arguments.done', { item_id: item.id, output_index: index, name, arguments: args });
    this.emit('response.output_item.done', { output_index: index, item });
  }

  complete(usage: OpenAIUsage): void {
    this.closeMessage();
    this.state.status = 'completed';
    this.state.usage = responsesUsage(usage);
    this.emit('response.completed', { response: this.state.toJSON() });
    this.writer.end();
  }

  fail(code: string, message: string): void {
    this.emit('error', { code, message, param: null });
    this.state.status = 'failed';
    this.state.error = { code, message };
    this.emit('response.failed', { response: this.state.toJSON() });
    this.writer.end();
  }
}
