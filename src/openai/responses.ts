/**
 * The Responses API subset real clients need (openai-compat.md §6.2): request schema, input items
 * -> chat-style messages, tools, usage. The response object and its events: response-builder.ts.
 * Generic: knows OpenAI shapes, not Dify.
 */
import { z } from 'zod';
import type { OpenAIUsage } from './chat-chunks.js';
import { invalidRequest, unsupported } from './errors.js';
import type { ChatMessageIn, FunctionTool, ToolChoice } from './schemas.js';

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

const INPUT_ROLES = new Set(['user', 'assistant', 'system', 'developer']);

/**
 * Responses input -> chat-completions-style messages, for both groups (each then validates them as it
 * does chat messages). Reasoning items, item references and custom tool calls carry nothing a Dify
 * app or model needs and are dropped; consecutive function calls become one assistant turn.
 */
export function responsesInputToMessages(input: string | readonly unknown[], instructions?: string | null): ChatMessageIn[] {
  const out: ChatMessageIn[] = [];
  if (instructions) out.push({ role: 'system', content: instructions });
  if (typeof input === 'string') {
    out.push({ role: 'user', content: input });
    return out;
  }
  input.forEach((raw, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalidRequest('Each input item must be an object.', `input[${i}]`);
    const item = raw as Record<string, unknown>;
    const type = (item.type as string | undefined) ?? (item.role ? 'message' : undefined);
    switch (type) {
      case 'message': {
        const role = String(item.role ?? 'user');
        if (!INPUT_ROLES.has(role)) throw invalidRequest(`Unknown role ${JSON.stringify(item.role)}.`, `input[${i}].role`);
        out.push({ role, content: Array.isArray(item.content) ? item.content.map((p, j) => chatPart(p, `input[${i}].content[${j}]`)) : item.content });
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
          content:
            typeof output === 'string' ? output : Array.isArray(output) ? output.map((p, j) => chatPart(p, `input[${i}].output[${j}]`)) : JSON.stringify(output ?? ''),
        });
        return;
      }
      default:
        return;
    }
  });
  return out;
}

/** One Responses content part as a chat content part. */
function chatPart(raw: unknown, param: string): Record<string, unknown> {
  const part = (raw ?? {}) as Record<string, unknown>;
  switch (part.type) {
    case 'input_text':
    case 'output_text':
    case 'text':
      return { type: 'text', text: String(part.text ?? '') };
    case 'refusal':
      return { type: 'refusal', refusal: String(part.refusal ?? '') };
    case 'input_image': {
      const url = typeof part.image_url === 'string' ? part.image_url : (part.image_url as { url?: string } | undefined)?.url;
      if (!url) throw invalidRequest('input_image needs an image_url (file ids are not supported).', `${param}.image_url`);
      return { type: 'image_url', image_url: typeof part.detail === 'string' ? { url, detail: part.detail } : { url } };
    }
    case 'input_file':
      throw unsupported('input_file parts are not supported by this endpoint.', `${param}.type`, 'unsupported_value');
    default:
      throw invalidRequest(`Invalid content part type '${String(part.type)}'.`, `${param}.type`);
  }
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

export function responsesUsage(u: OpenAIUsage): Record<string, unknown> {
  return {
    input_tokens: u.prompt_tokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: u.completion_tokens,
    output_tokens_details: { reasoning_tokens: u.completion_tokens_details.reasoning_tokens },
    total_tokens: u.total_tokens,
  };
}
