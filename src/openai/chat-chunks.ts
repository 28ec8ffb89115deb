/**
 * Chat completion objects and stream chunks (openai-compat.md §2, §3.3), generic over the backend.
 *
 * The stream builder precomputes the invariant JSON around each delta once per stream, so a content
 * chunk costs one JSON.stringify of the text and one string concatenation.
 */
import { randomUUID } from 'node:crypto';

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details: {
    reasoning_tokens: number;
    audio_tokens: number;
    accepted_prediction_tokens: number;
    rejected_prediction_tokens: number;
  };
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** Usage in OpenAI's shape from any `{prompt_tokens, completion_tokens, total_tokens?}`; integers, total = sum. */
export function toOpenAIUsage(u: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number | undefined } | undefined | null, reasoningTokens = 0): OpenAIUsage {
  const prompt = toInt(u?.prompt_tokens);
  let completion = toInt(u?.completion_tokens);
  const total = toInt(u?.total_tokens);
  // Workflows only report a total: count it as completion so total = prompt + completion holds.
  if (prompt === 0 && completion === 0 && total > 0) completion = total;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: Math.min(toInt(reasoningTokens), completion),
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function toInt(n: unknown): number {
  const v = typeof n === 'number' ? n : typeof n === 'string' ? Number(n) : 0;
  return Number.isFinite(v) && v > 0 ? Math.round(v) : 0;
}

export function newCompletionId(): string {
  return 'chatcmpl-' + randomUUID().replace(/-/g, '');
}

export function newToolCallId(): string {
  return 'call_' + randomUUID().replace(/-/g, '').slice(0, 24);
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Builds the JSON text of each chunk of one chat completion stream. */
export class ChatChunkBuilder {
  private readonly head: string;
  private readonly tail = ',"logprobs":null,"finish_reason":null}]}';
  private readonly headNoChoices: string;

  constructor(
    readonly id: string,
    readonly model: string,
    readonly created: number = nowSeconds(),
  ) {
    const base = '{"id":' + JSON.stringify(id) + ',"object":"chat.completion.chunk","created":' + created + ',"model":' + JSON.stringify(model) + ',"system_fingerprint":"fp_dify_bridge"';
    this.head = base + ',"choices":[{"index":0,"delta":';
    this.headNoChoices = base + ',"choices":[]';
  }

  /** First chunk: `{role:"assistant", content:""}`. */
  role(): string {
    return this.head + '{"role":"assistant","content":""}' + this.tail;
  }

  content(text: string): string {
    return this.head + '{"content":' + JSON.stringify(text) + '}' + this.tail;
  }

  reasoning(text: string): string {
    return this.head + '{"reasoning_content":' + JSON.stringify(text) + '}' + this.tail;
  }

  /** First delta of a tool call: identity + (possibly empty) argument fragment. */
  toolCallStart(index: number, id: string, name: string, args = ''): string {
    return (
      this.head +
      '{"tool_calls":[{"index":' + index + ',"id":' + JSON.stringify(id) + ',"type":"function","function":{"name":' + JSON.stringify(name) + ',"arguments":' + JSON.stringify(args) + '}}]}' +
      this.tail
    );
  }

  /** Later deltas of a tool call: index + argument fragment only. */
  toolCallArgs(index: number, fragment: string): string {
    return this.head + '{"tool_calls":[{"index":' + index + ',"function":{"arguments":' + JSON.stringify(fragment) + '}}]}' + this.tail;
  }

  finish(reason: FinishReason): string {
    return this.head + '{},"logprobs":null,"finish_reason":"' + reason + '"}]}';
  }

  usage(usage: OpenAIUsage): string {
    return this.headNoChoices + ',"usage":' + JSON.stringify(usage) + '}';
  }
}

/** A complete non-streaming chat completion object. */
export function chatCompletion(args: {
  id: string;
  model: string;
  created?: number;
  content: string | null;
  reasoning?: string;
  toolCalls?: ToolCall[];
  finishReason: FinishReason;
  usage: OpenAIUsage;
}): Record<string, unknown> {
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: args.toolCalls && args.toolCalls.length > 0 && !args.content ? null : (args.content ?? ''),
    refusal: null,
  };
  if (args.reasoning) message.reasoning_content = args.reasoning;
  if (args.toolCalls && args.toolCalls.length > 0) message.tool_calls = args.toolCalls;
  return {
    id: args.id,
    object: 'chat.completion',
    created: args.created ?? nowSeconds(),
    model: args.model,
    system_fingerprint: 'fp_dify_bridge',
    choices: [{ index: 0, message, logprobs: null, finish_reason: args.finishReason }],
    usage: args.usage,
  };
}
