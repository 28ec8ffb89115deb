/**
 * OpenAI chat-completions request -> Dify LLM invocation. Lenient about hints and unknown fields,
 * a 400 with `param` for whatever Dify cannot honour and silently dropping would change the answer.
 */
import type { LlmInvokeRequest, LlmPromptMessage, ModelSelector } from '../../backend/types.js';
import { invalidRequest, unsupported } from './errors.js';

const unsupportedValue = (message: string, param: string) => unsupported(message, param, 'unsupported_value');

type Json = Record<string, unknown>;

export interface ChatPlan {
  invoke: LlmInvokeRequest;
  stream: boolean;
  includeUsage: boolean;
  /** The request used legacy `functions`: answer with `function_call`. */
  legacyFunctions: boolean;
  /** Structured output was requested: the answer's content is the model's JSON. */
  structured: boolean;
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Builds the Dify invocation for a chat-completions body whose `model` already matched. */
export function planChat(body: Json, selector: ModelSelector): ChatPlan {
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw unsupportedValue('Only n=1 is supported: Dify models produce one answer per request.', 'n');
  }
  if (body.logprobs === true) {
    throw unsupported('logprobs are not available through Dify model invocation.', 'logprobs', 'unsupported_parameter');
  }
  if (Array.isArray(body.modalities) && body.modalities.includes('audio')) {
    throw unsupportedValue('Audio output is not supported; use modalities ["text"].', 'modalities');
  }
  if (body.audio !== undefined && body.audio !== null) {
    throw unsupportedValue('Audio output is not supported.', 'audio');
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw invalidRequest("'messages' must be a non-empty array.", 'messages', body.messages === undefined ? 'missing_required_parameter' : 'invalid_value');
  }

  const legacyFunctions = Array.isArray(body.functions) && !Array.isArray(body.tools);
  const tools = readTools(body, legacyFunctions);
  const choice = readToolChoice(body, legacyFunctions, tools);
  const vision = visionHint(selector);
  const promptMessages = body.messages.map((message, index) => toPromptMessage(message, index, vision));

  const params = completionParams(body, selector);
  const stop = readStop(body.stop);
  const structuredOutputSchema = readResponseFormat(body.response_format, 'response_format');

  const invoke: LlmInvokeRequest = {
    model: selector,
    promptMessages,
    completionParams: params,
    stream: true,
  };
  if (choice.tools.length > 0) invoke.tools = choice.tools;
  if (stop) invoke.stop = stop;
  if (structuredOutputSchema) invoke.structuredOutputSchema = structuredOutputSchema;

  const streamOptions = isObject(body.stream_options) ? body.stream_options : {};
  return {
    invoke,
    stream: body.stream === true,
    includeUsage: body.stream === true && streamOptions.include_usage === true,
    legacyFunctions,
    structured: structuredOutputSchema !== undefined,
  };
}

export type PromptTool = NonNullable<LlmInvokeRequest['tools']>[number];

function readTools(body: Json, legacy: boolean): Array<PromptTool & { forcedOnly?: boolean }> {
  const out: PromptTool[] = [];
  if (legacy) {
    (body.functions as unknown[]).forEach((fn, i) => {
      if (!isObject(fn) || typeof fn.name !== 'string' || !fn.name) {
        throw invalidRequest('Each function needs a name.', `functions[${i}].name`);
      }
      out.push(promptTool(fn));
    });
    return out;
  }
  if (body.tools === undefined || body.tools === null) return out;
  if (!Array.isArray(body.tools)) throw invalidRequest("'tools' must be an array.", 'tools');
  body.tools.forEach((tool, i) => {
    if (!isObject(tool)) throw invalidRequest('Each tool must be an object.', `tools[${i}]`);
    // Non-function tool types (custom, web_search...) cannot reach a Dify model: ignored unless forced.
    if (tool.type !== 'function') return;
    const fn = tool.function;
    if (!isObject(fn) || typeof fn.name !== 'string' || !fn.name) {
      throw invalidRequest('Each function tool needs function.name.', `tools[${i}].function.name`);
    }
    out.push(promptTool(fn));
  });
  return out;
}

function promptTool(fn: Json): PromptTool {
  const name = fn.name as string;
  return {
    name,
    // Some daemon versions validate `description` as required; the name is an honest stand-in.
    description: typeof fn.description === 'string' && fn.description.trim() ? fn.description : name,
    parameters: isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
  };
}

/**
 * Dify's LLM invocation takes tools but no tool_choice: the model decides. So `auto` is honoured,
 * `none` is honoured by not offering tools, and forcing a call (`required` or a named function)
 * cannot be — that is a 400 rather than an answer that silently ignores the constraint.
 */
function readToolChoice(body: Json, legacy: boolean, tools: PromptTool[]): { tools: PromptTool[] } {
  const param = legacy ? 'function_call' : 'tool_choice';
  const choice = legacy ? body.function_call : body.tool_choice;
  const forcedMessage = (what: string) =>
    `${what} cannot be honoured: Dify's model invocation offers tools to the model but cannot force a call. Use ${param} "auto" (or omit it).`;
  if (choice === undefined || choice === null || choice === 'auto') return { tools };
  if (choice === 'none') return { tools: [] };
  if (choice === 'required') throw unsupportedValue(forcedMessage(`${param} "required"`), param);
  if (isObject(choice)) {
    if (choice.type === 'allowed_tools' && isObject(choice.allowed_tools)) {
      const allowed = choice.allowed_tools;
      if (allowed.mode === 'required') throw unsupportedValue(forcedMessage(`${param} allowed_tools mode "required"`), param);
      const names = new Set(
        (Array.isArray(allowed.tools) ? allowed.tools : [])
          .map((t) => (isObject(t) && isObject(t.function) ? t.function.name : isObject(t) ? t.name : undefined))
          .filter((n): n is string => typeof n === 'string'),
      );
      return { tools: tools.filter((t) => names.has(t.name)) };
    }
    const name = legacy ? choice.name : isObject(choice.function) ? choice.function.name : choice.name;
    throw unsupportedValue(forcedMessage(`Forcing the ${typeof name === 'string' ? `"${name}" ` : ''}function`), param);
  }
  throw invalidRequest(`Unknown ${param} value.`, param);
}

/**
 * Whether the model reads images, where the selector says so (a `features` list, or a vision scope);
 * undefined when unknowable — then images go through and Dify's own refusal is mapped.
 */
function visionHint(selector: ModelSelector): boolean | undefined {
  const features = selector.features ?? selector.model_features;
  if (Array.isArray(features)) return features.some((f) => String(f).toLowerCase() === 'vision');
  if (typeof selector.vision === 'boolean') return selector.vision;
  return undefined;
}

function textOf(content: unknown, param: string, allowed: Set<string>): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw invalidRequest('content must be a string or an array of parts.', param);
  return content
    .map((part, j) => {
      if (!isObject(part)) throw invalidRequest('Each content part must be an object.', `${param}[${j}]`);
      if (part.type === 'text' || part.type === 'input_text' || part.type === 'output_text') {
        if (typeof part.text !== 'string') throw invalidRequest('A text part needs text.', `${param}[${j}].text`);
        return part.text;
      }
      if (allowed.has(String(part.type))) return '';
      throw unsupportedValue(`Content parts of type ${JSON.stringify(part.type)} are not supported here.`, `${param}[${j}].type`);
    })
    .join('');
}

function toPromptMessage(message: unknown, i: number, vision: boolean | undefined): LlmPromptMessage {
  if (!isObject(message)) throw invalidRequest('Each message must be an object.', `messages[${i}]`);
  const param = `messages[${i}].content`;
  switch (message.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: textOf(message.content, param, new Set()) };
    case 'user':
      return { role: 'user', content: userContent(message.content, param, vision) };
    case 'assistant': {
      const out: LlmPromptMessage = {
        role: 'assistant',
        content: textOf(message.content, param, new Set(['refusal'])),
      };
      const calls: NonNullable<LlmPromptMessage['tool_calls']> = [];
      if (Array.isArray(message.tool_calls)) {
        message.tool_calls.forEach((call, j) => {
          const fn = isObject(call) ? call.function : undefined;
          if (!isObject(call) || !isObject(fn) || typeof fn.name !== 'string') {
            throw invalidRequest('Each tool call needs function.name.', `messages[${i}].tool_calls[${j}]`);
          }
          calls.push({
            id: typeof call.id === 'string' && call.id ? call.id : `call_${i}_${j}`,
            type: 'function',
            function: { name: fn.name, arguments: argumentsText(fn.arguments) },
          });
        });
      } else if (isObject(message.function_call) && typeof message.function_call.name === 'string') {
        const fn = message.function_call;
        calls.push({ id: legacyCallId(fn.name as string), type: 'function', function: { name: fn.name as string, arguments: argumentsText(fn.arguments) } });
      }
      if (calls.length > 0) out.tool_calls = calls;
      return out;
    }
    case 'tool':
      return {
        role: 'tool',
        content: textOf(message.content, param, new Set()),
        tool_call_id: typeof message.tool_call_id === 'string' ? message.tool_call_id : '',
      };
    case 'function': {
      const name = typeof message.name === 'string' ? message.name : '';
      return { role: 'tool', content: textOf(message.content, param, new Set()), tool_call_id: legacyCallId(name), name };
    }
    default:
      throw invalidRequest(`Unknown role ${JSON.stringify(message.role)}.`, `messages[${i}].role`);
  }
}

function legacyCallId(name: string): string {
  return `call_${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

function argumentsText(args: unknown): string {
  if (typeof args === 'string') return args;
  if (args === undefined || args === null) return '{}';
  return JSON.stringify(args);
}

/** User content: text stays a string; images make it a Dify content array. */
function userContent(content: unknown, param: string, vision: boolean | undefined): LlmPromptMessage['content'] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalidRequest('content must be a string or an array of parts.', param);
  const parts: Array<Record<string, unknown>> = [];
  let hasImage = false;
  content.forEach((part, j) => {
    const where = `${param}[${j}]`;
    if (!isObject(part)) throw invalidRequest('Each content part must be an object.', where);
    switch (part.type) {
      case 'text':
      case 'input_text':
        if (typeof part.text !== 'string') throw invalidRequest('A text part needs text.', `${where}.text`);
        parts.push({ type: 'text', data: part.text });
        return;
      case 'image_url':
      case 'input_image': {
        const image = part.type === 'image_url' ? part.image_url : part;
        const url = isObject(image) ? image.url ?? image.image_url : typeof image === 'string' ? image : undefined;
        if (typeof url !== 'string' || !url) throw invalidRequest('An image part needs image_url.url.', `${where}.image_url.url`);
        if (vision === false) {
          throw unsupportedValue('The selected model does not accept images (no vision support). Send text only, or pick a vision model in the endpoint settings.', `${where}.type`);
        }
        const detail = isObject(image) && typeof image.detail === 'string' ? image.detail : 'auto';
        parts.push(imageContent(url, detail, `${where}.image_url.url`));
        hasImage = true;
        return;
      }
      case 'input_audio':
        throw unsupportedValue('Audio input is not supported by this endpoint.', `${where}.type`);
      case 'file':
      case 'input_file':
        throw unsupportedValue('File parts are not supported by this endpoint; send text or images.', `${where}.type`);
      default:
        throw unsupportedValue(`Content parts of type ${JSON.stringify(part.type)} are not supported.`, `${where}.type`);
    }
  });
  if (!hasImage) return parts.map((p) => p.data as string).join('\n');
  return parts;
}

const EXT_MIME: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  svg: 'image/svg+xml',
};

/**
 * One image as Dify prompt-message content, sent once: Dify's MultiModalPromptMessageContent reads
 * `base64_data` (with `mime_type` and `format`) or `url`, and derives its `data` from them; the
 * daemon's `data` field is for text parts only. Sending the payload twice doubled the invoke line,
 * and the daemon kills the plugin on a stdout line over 5 MiB.
 */
function imageContent(url: string, detail: string, param: string): Record<string, unknown> {
  const dataUrl = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url);
  if (dataUrl) {
    const mime = dataUrl[1] || 'image/png';
    if (!dataUrl[2]) throw invalidRequest('Image data URLs must be base64-encoded.', param);
    const format = mime.split('/')[1]?.replace('jpeg', 'jpg') ?? 'png';
    return { type: 'image', base64_data: dataUrl[3], url: '', mime_type: mime, format, detail: detailValue(detail) };
  }
  if (!/^https?:\/\//i.test(url)) throw invalidRequest('Image URLs must be http(s) or base64 data URLs.', param);
  const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(new URL(url).pathname)?.[1]?.toLowerCase() ?? '';
  const mime = EXT_MIME[ext] ?? 'image/jpeg';
  return { type: 'image', url, base64_data: '', mime_type: mime, format: ext && EXT_MIME[ext] ? ext : 'jpg', detail: detailValue(detail) };
}

function detailValue(detail: string): string {
  return detail === 'high' ? 'high' : 'low';
}

const NUMBER_PARAMS = ['temperature', 'top_p', 'presence_penalty', 'frequency_penalty', 'seed'] as const;

/**
 * The selector's saved completion params, overridden by the request's. Dify filters them against
 * the model's parameter rules, so a parameter the model does not take is dropped there.
 */
function completionParams(body: Json, selector: ModelSelector): Record<string, unknown> {
  const params: Record<string, unknown> = { ...(selector.completion_params ?? {}) };
  for (const name of NUMBER_PARAMS) {
    const value = body[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidRequest(`'${name}' must be a number.`, name);
    params[name] = value;
  }
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? body.max_output_tokens;
  if (maxTokens !== undefined && maxTokens !== null) {
    const param = body.max_completion_tokens !== undefined ? 'max_completion_tokens' : body.max_tokens !== undefined ? 'max_tokens' : 'max_output_tokens';
    if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
      throw invalidRequest(`'${param}' must be a positive integer.`, param);
    }
    params.max_tokens = maxTokens;
  }
  const user = body.user ?? body.safety_identifier;
  if (typeof user === 'string' && user) params.user = user;
  if (typeof body.reasoning_effort === 'string') params.reasoning_effort = body.reasoning_effort;
  return params;
}

function readStop(stop: unknown): string[] | undefined {
  if (stop === undefined || stop === null) return undefined;
  if (typeof stop === 'string') return stop ? [stop] : undefined;
  if (Array.isArray(stop) && stop.every((s) => typeof s === 'string')) return stop.length > 0 ? (stop as string[]) : undefined;
  throw invalidRequest("'stop' must be a string or an array of strings.", 'stop');
}

/** json_object / json_schema -> the schema for llm_structured_output; text -> none. */
export function readResponseFormat(format: unknown, param: string): Record<string, unknown> | undefined {
  if (format === undefined || format === null) return undefined;
  if (!isObject(format)) throw invalidRequest(`'${param}' must be an object.`, param);
  switch (format.type) {
    case 'text':
    case undefined:
      return undefined;
    case 'json_object':
      return { type: 'object' };
    case 'json_schema': {
      // Chat completions nest it under json_schema; the Responses API puts it on the format itself.
      const holder = isObject(format.json_schema) ? format.json_schema : format;
      const schema = holder.schema;
      if (!isObject(schema)) throw invalidRequest('json_schema.schema must be a JSON Schema object.', `${param}.json_schema.schema`);
      return schema;
    }
    default:
      throw unsupportedValue(`response_format type ${JSON.stringify(format.type)} is not supported.`, `${param}.type`);
  }
}
