/**
 * OpenAI request schemas (zod), lenient where clients are creative and strict where dropping a field
 * would change the answer (openai-compat.md §1). Unknown fields are ignored everywhere.
 * Validation failures become a 400 whose `param` names the field (`messages[2].content[1].type`).
 */
import { z } from 'zod';
import { invalidRequest, unsupported, type OpenAIError } from './errors.js';

const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const imagePart = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.union([z.looseObject({ url: z.string().min(1), detail: z.string().nullish() }), z.string().min(1)]),
});
const audioPart = z.looseObject({
  type: z.literal('input_audio'),
  input_audio: z.looseObject({ data: z.string(), format: z.string().nullish() }),
});
const filePart = z.looseObject({
  type: z.literal('file'),
  file: z.looseObject({ file_data: z.string().nullish(), filename: z.string().nullish(), file_id: z.string().nullish() }),
});
const refusalPart = z.looseObject({ type: z.literal('refusal'), refusal: z.string().nullish() });

export type TextPart = z.infer<typeof textPart>;
export type ImagePart = z.infer<typeof imagePart>;
export type ContentPart =
  | TextPart
  | ImagePart
  | z.infer<typeof audioPart>
  | z.infer<typeof filePart>
  | z.infer<typeof refusalPart>;

const toolCallSchema = z.looseObject({
  id: z.string().nullish(),
  type: z.string().nullish(),
  function: z.looseObject({ name: z.string(), arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish() }),
});

const messageSchema = z.looseObject({
  role: z.string(),
  content: z.unknown().optional(),
  name: z.string().nullish(),
  tool_calls: z.array(toolCallSchema).nullish(),
  tool_call_id: z.string().nullish(),
  function_call: z.looseObject({ name: z.string(), arguments: z.string().nullish() }).nullish(),
  reasoning_content: z.unknown().optional(),
});

const functionToolSchema = z.looseObject({
  type: z.string().default('function'),
  function: z
    .looseObject({
      name: z.string().min(1),
      description: z.string().nullish(),
      parameters: z.record(z.string(), z.unknown()).nullish(),
      strict: z.boolean().nullish(),
    })
    .optional(),
});

export const chatRequestSchema = z.looseObject({
  model: z.string({ error: 'you must provide a model parameter' }).min(1, 'you must provide a model parameter'),
  messages: z.array(messageSchema, { error: "'messages' must be a non-empty array" }).min(1, "'messages' must be a non-empty array"),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.number().int().min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().nullish(),
  modalities: z.array(z.string()).nullish(),
  audio: z.unknown().optional(),
  tools: z.array(functionToolSchema).nullish(),
  tool_choice: z
    .union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.string(), function: z.looseObject({ name: z.string() }).nullish() })])
    .nullish(),
  functions: z
    .array(z.looseObject({ name: z.string(), description: z.string().nullish(), parameters: z.record(z.string(), z.unknown()).nullish() }))
    .nullish(),
  function_call: z.union([z.enum(['none', 'auto']), z.looseObject({ name: z.string() })]).nullish(),
  user: z.string().nullish(),
  safety_identifier: z.string().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  response_format: z
    .looseObject({
      type: z.string(),
      json_schema: z.looseObject({ name: z.string().nullish(), schema: z.unknown().optional() }).nullish(),
    })
    .nullish(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type ChatMessageIn = z.infer<typeof messageSchema>;

/** A function tool, normalised from `tools` or legacy `functions`. */
export interface FunctionTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

/** A message after validation: role normalised, content as text + parts. */
export interface NormalizedMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  /** Text content (text parts joined with newlines); '' when none. */
  text: string;
  /** Non-text parts of user messages, with their `param` path for errors. */
  images: Array<{ url: string; param: string }>;
  toolCalls?: Array<{ id: string; name: string; arguments: string }>;
  toolCallId?: string;
  name?: string;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/** zod issue -> 400 with `param`. */
export function zodToError(error: z.ZodError): OpenAIError {
  const issue = error.issues[0];
  if (!issue) return invalidRequest('Invalid request body.');
  const param = formatPath(issue.path) || null;
  let message = issue.message;
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    message = `Missing required parameter: '${param}'.`;
  } else if (param) {
    message = `Invalid value for '${param}': ${issue.message}`;
  }
  return invalidRequest(message, param, issue.input === undefined ? 'missing_required_parameter' : 'invalid_value');
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

/** Validates the message list (roles, parts) and normalises it. Throws OpenAIError (400). */
export function normalizeMessages(messages: ChatMessageIn[]): NormalizedMessage[] {
  const out: NormalizedMessage[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (!ROLES.has(m.role)) {
      throw invalidRequest(
        `Invalid value: '${m.role}'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool' and 'function'.`,
        `messages[${i}].role`,
      );
    }
    const role: NormalizedMessage['role'] =
      m.role === 'developer' ? 'system' : m.role === 'function' ? 'tool' : (m.role as NormalizedMessage['role']);
    const { text, images } = contentOf(m.content, i, role);
    const nm: NormalizedMessage = { role, text, images };
    if (role === 'assistant') {
      const calls = (m.tool_calls ?? []).map((c, j) => ({
        id: c.id || `call_${i}_${j}`,
        name: c.function.name,
        arguments: typeof c.function.arguments === 'string' ? c.function.arguments : JSON.stringify(c.function.arguments ?? {}),
      }));
      if (m.function_call) calls.push({ id: `call_${i}_fn`, name: m.function_call.name, arguments: m.function_call.arguments ?? '{}' });
      if (calls.length > 0) nm.toolCalls = calls;
    }
    if (role === 'tool') {
      if (m.tool_call_id) nm.toolCallId = m.tool_call_id;
      if (m.name) nm.name = m.name;
    }
    out.push(nm);
  }
  return out;
}

function contentOf(content: unknown, i: number, role: NormalizedMessage['role']): { text: string; images: NormalizedMessage['images'] } {
  if (content === undefined || content === null) return { text: '', images: [] };
  if (typeof content === 'string') return { text: content, images: [] };
  if (!Array.isArray(content)) {
    throw invalidRequest(`Invalid type for 'messages[${i}].content': expected a string or an array of content parts.`, `messages[${i}].content`, 'invalid_type');
  }
  const texts: string[] = [];
  const images: NormalizedMessage['images'] = [];
  for (let j = 0; j < content.length; j++) {
    const part = content[j] as { type?: unknown } | string | null;
    const param = `messages[${i}].content[${j}]`;
    if (typeof part === 'string') {
      texts.push(part);
      continue;
    }
    if (!part || typeof part !== 'object') throw invalidRequest(`Invalid content part at '${param}'.`, param, 'invalid_type');
    switch (part.type) {
      case 'text':
      case 'input_text':
      case 'output_text': {
        const t = (part as { text?: unknown }).text;
        if (typeof t !== 'string') throw invalidRequest(`Missing required parameter: '${param}.text'.`, `${param}.text`, 'missing_required_parameter');
        texts.push(t);
        break;
      }
      case 'refusal':
        break;
      case 'image_url': {
        const parsed = imagePart.safeParse(part);
        if (!parsed.success) throw invalidRequest(`Invalid image_url part at '${param}'.`, `${param}.image_url`);
        const iu = parsed.data.image_url;
        const url = typeof iu === 'string' ? iu : iu.url;
        if (role !== 'user') break; // images in assistant/system turns carry no question; ignore
        images.push({ url, param });
        break;
      }
      case 'input_audio':
        throw unsupported('Audio input is not supported by this Dify app endpoint.', `${param}.type`, 'unsupported_value');
      case 'file':
        throw unsupported(
          'File parts are not supported by this Dify app endpoint; send images as image_url parts or paste the text.',
          `${param}.type`,
          'unsupported_value',
        );
      default:
        throw invalidRequest(
          `Invalid value: '${String(part.type)}'. Supported content part types are 'text' and 'image_url'.`,
          `${param}.type`,
        );
    }
  }
  return { text: texts.join('\n'), images };
}

/** Normalises `tools` + legacy `functions`; validates tool_choice against them. */
export function normalizeTools(req: ChatRequest): { tools: FunctionTool[]; toolChoice: ToolChoice; legacyFunctions: boolean } {
  const tools: FunctionTool[] = [];
  let legacyFunctions = false;
  (req.tools ?? []).forEach((t, i) => {
    if (t.type !== 'function' || !t.function) return; // custom/built-in tools: ignored unless forced
    const fn: FunctionTool['function'] = { name: t.function.name };
    if (t.function.description) fn.description = t.function.description;
    if (t.function.parameters) fn.parameters = t.function.parameters as Record<string, unknown>;
    tools.push({ type: 'function', function: fn });
    void i;
  });
  if (req.functions && req.functions.length > 0 && tools.length === 0) {
    legacyFunctions = true;
    for (const f of req.functions) {
      const fn: FunctionTool['function'] = { name: f.name };
      if (f.description) fn.description = f.description;
      if (f.parameters) fn.parameters = f.parameters as Record<string, unknown>;
      tools.push({ type: 'function', function: fn });
    }
  }
  let toolChoice: ToolChoice = 'auto';
  const tc = req.tool_choice ?? (legacyFunctions ? req.function_call : undefined);
  if (typeof tc === 'string') toolChoice = tc;
  else if (tc && typeof tc === 'object') {
    const name = 'function' in tc && tc.function ? (tc.function as { name: string }).name : 'name' in tc ? String((tc as { name: unknown }).name) : '';
    if ((tc as { type?: string }).type && (tc as { type?: string }).type !== 'function') {
      throw unsupported(`tool_choice type '${(tc as { type?: string }).type}' is not supported; use a function tool.`, 'tool_choice', 'unsupported_value');
    }
    if (!tools.some((t) => t.function.name === name)) {
      throw invalidRequest(`tool_choice names the function '${name}', which is not in 'tools'.`, 'tool_choice');
    }
    toolChoice = { type: 'function', function: { name } };
  }
  if (toolChoice === 'required' && tools.length === 0) {
    throw invalidRequest("tool_choice is 'required' but no function tools were given.", 'tool_choice');
  }
  return { tools, toolChoice, legacyFunctions };
}

/**
 * A best-effort instruction for `response_format` json_object / json_schema (the app cannot be
 * constrained; clients that asked validate the JSON themselves). '' for text.
 */
export function responseFormatHint(format: { type: string; json_schema?: { schema?: unknown } | null } | null | undefined): string {
  if (!format || format.type === 'text') return '';
  if (format.type === 'json_schema' && format.json_schema?.schema) {
    return `Respond with one JSON value that matches this JSON Schema, and nothing else (no prose, no code fences):\n${JSON.stringify(format.json_schema.schema)}`;
  }
  if (format.type === 'json_object' || format.type === 'json_schema') {
    return 'Respond with one valid JSON object and nothing else (no prose, no code fences).';
  }
  return '';
}

/** 400s for options a Dify app cannot honour (openai-compat.md §1.1). */
export function rejectUnsupported(req: ChatRequest): void {
  if (req.n != null && req.n > 1) {
    throw unsupported('n > 1 is not supported: a Dify app produces exactly one answer per request.', 'n', 'unsupported_value');
  }
  if (req.logprobs === true) {
    throw unsupported('logprobs are not supported: Dify apps do not return token log probabilities.', 'logprobs');
  }
  if (req.modalities && req.modalities.includes('audio')) {
    throw unsupported('Audio output is not supported by this endpoint; use modalities ["text"].', 'modalities', 'unsupported_value');
  }
  if (req.audio != null) {
    throw unsupported('Audio output is not supported by this endpoint.', 'audio');
  }
}
