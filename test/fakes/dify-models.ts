/**
 * Fake Dify models: LLMResultChunk streams and TextEmbeddingResults exactly as the daemon relays them
 * (plugin-protocol.md §4.5-4.6, daemon-calibration.md item 4): every chunk carries
 * `"prompt_messages":[]` and `system_fingerprint`, absent slices are `null`, prices are decimal
 * strings trimmed of trailing zeros. The same raw fixtures feed the in-process fake ModelsClient
 * (through the plugin client's normaliser) and the daemon simulator's reverse handlers.
 */
import type { EmbeddingResult, LlmInvokeRequest, LlmResultChunk, ModelSelector, ModelsClient } from '../../src/backend/types.js';
import { DifyError } from '../../src/backend/types.js';
import { normalizeEmbeddingResult, normalizeLlmChunk } from '../../src/backend/plugin-models.js';

export type RawChunk = Record<string, unknown>;

export const LLM_SELECTOR: ModelSelector = {
  provider: 'langgenius/openai/openai',
  model: 'gpt-4o-mini',
  model_type: 'llm',
  mode: 'chat',
  completion_params: { temperature: 0.3 },
  type: 'model-selector',
};

export const EMBEDDING_SELECTOR: ModelSelector = {
  provider: 'langgenius/openai/openai',
  model: 'text-embedding-3-small',
  model_type: 'text-embedding',
  type: 'model-selector',
};

/** Usage as the daemon sends it: decimal strings for prices, `"0.6"` not `"0.60"`. */
export function rawUsage(prompt: number, completion: number): RawChunk {
  return {
    prompt_tokens: prompt,
    prompt_unit_price: '0.15',
    prompt_price_unit: '0.000001',
    prompt_price: '0.0000018',
    completion_tokens: completion,
    completion_unit_price: '0.6',
    completion_price_unit: '0.000001',
    completion_price: '0.000003',
    total_tokens: prompt + completion,
    total_price: '0.0000048',
    currency: 'USD',
    latency: 0.83,
  };
}

interface ChunkOptions {
  model?: string;
  toolCalls?: Array<Record<string, unknown>> | null;
  usage?: RawChunk | null;
  finishReason?: string | null;
  content?: unknown;
  structuredOutput?: Record<string, unknown>;
}

/** One LLMResultChunk, key for key as the daemon emits it. */
export function rawChunk(options: ChunkOptions = {}): RawChunk {
  const chunk: RawChunk = {
    model: options.model ?? LLM_SELECTOR.model,
    system_fingerprint: '',
    delta: {
      index: 0,
      message: {
        role: 'assistant',
        content: options.content ?? '',
        name: '',
        tool_calls: options.toolCalls ?? null,
        tool_call_id: '',
      },
      usage: options.usage ?? null,
      finish_reason: options.finishReason ?? null,
    },
    prompt_messages: [],
  };
  if (options.structuredOutput) chunk.structured_output = options.structuredOutput;
  return chunk;
}

/** A plain text answer in pieces, then the final chunk with usage and finish_reason. */
export function textAnswer(pieces: string[], usage: [number, number] = [12, 5], finishReason = 'stop'): RawChunk[] {
  return [
    ...pieces.map((content) => rawChunk({ content })),
    rawChunk({ content: '', usage: rawUsage(usage[0], usage[1]), finishReason }),
  ];
}

/**
 * A tool-call answer streamed the way OpenAI-style providers do it through Dify: the first fragment
 * has id + name, later ones only argument pieces with an empty id and name.
 */
export function streamedToolCalls(
  calls: Array<{ id: string; name: string; args: string[] }>,
  usage: [number, number] = [40, 18],
): RawChunk[] {
  const out: RawChunk[] = [];
  for (const call of calls) {
    out.push(rawChunk({ toolCalls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    for (const piece of call.args) {
      out.push(rawChunk({ toolCalls: [{ id: '', type: 'function', function: { name: '', arguments: piece } }] }));
    }
  }
  out.push(rawChunk({ usage: rawUsage(usage[0], usage[1]), finishReason: 'tool_calls' }));
  return out;
}

/** Tool calls delivered whole in one chunk (how Dify relays a blocking provider answer). */
export function wholeToolCalls(calls: Array<{ id: string; name: string; args: string }>, usage: [number, number] = [40, 18]): RawChunk[] {
  return [
    rawChunk({
      toolCalls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } })),
      usage: rawUsage(usage[0], usage[1]),
      finishReason: 'stop',
    }),
  ];
}

/** Structured output as Dify's llm_structured_output streams it: text, usage, then the parsed object. */
export function structuredAnswer(json: Record<string, unknown>, wrapInFence = true): RawChunk[] {
  const text = wrapInFence ? '```json\n' + JSON.stringify(json, null, 2) + '\n```' : JSON.stringify(json);
  const half = Math.floor(text.length / 2);
  return [
    rawChunk({ content: text.slice(0, half) }),
    rawChunk({ content: text.slice(half) }),
    rawChunk({ content: '', usage: rawUsage(30, 12), finishReason: 'stop' }),
    rawChunk({ content: '', structuredOutput: json }),
  ];
}

/** A deterministic unit-ish vector for a text, exactly representable in float32. */
export function vectorFor(text: string, dims = 8): number[] {
  const out: number[] = [];
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  for (let d = 0; d < dims; d++) {
    h = Math.imul(h ^ (d + 1), 2654435761) >>> 0;
    out.push(Math.fround(((h % 2000) - 1000) / 1024));
  }
  return out;
}

/** A TextEmbeddingResult as the daemon relays it. */
export function rawEmbeddingResult(texts: string[], dims = 8, model = EMBEDDING_SELECTOR.model): RawChunk {
  const tokens = texts.reduce((n, t) => n + Math.max(1, Math.ceil(t.length / 4)), 0);
  return {
    model,
    embeddings: texts.map((t) => vectorFor(t, dims)),
    usage: {
      tokens,
      total_tokens: tokens,
      unit_price: '0.00002',
      price_unit: '0.001',
      total_price: '0.00000008',
      currency: 'USD',
      latency: 0.21,
    },
  };
}

/** Error texts in the shape Dify relays plugin errors (PluginInvokeError JSON in the message). */
export const ERROR_TEXTS = {
  rateLimit: 'req_id: 1b2c PluginInvokeError: {"args":{},"error_type":"InvokeRateLimitError","message":"[openai] Rate Limit Error, Error code: 429 - Rate limit reached for requests"}',
  quota: 'req_id: 1b2c PluginInvokeError: {"args":{},"error_type":"QuotaExceededError","message":"You exceeded your current quota, please check your plan and billing details."}',
  contextLength:
    'req_id: 1b2c PluginInvokeError: {"args":{},"error_type":"InvokeBadRequestError","message":"[openai] Error: This model\'s maximum context length is 128000 tokens. However, your messages resulted in 130412 tokens."}',
  credentials: 'req_id: 1b2c PluginInvokeError: {"args":{},"error_type":"InvokeAuthorizationError","message":"[openai] Incorrect API key provided"}',
  vision: 'req_id: 1b2c PluginInvokeError: {"args":{},"error_type":"InvokeBadRequestError","message":"Invalid content type. image_url is only supported by certain models."}',
} as const;

export type LlmScript = (request: LlmInvokeRequest) => RawChunk[] | Error | Promise<RawChunk[] | Error>;

export interface FakeModelsOptions {
  llm?: LlmScript;
  /** Fails after this many chunks were delivered (mid-stream error). */
  failAfter?: { chunks: number; message: string };
  embed?: (texts: string[], model: ModelSelector) => RawChunk | Error;
  /** Delay before each chunk (ms), to exercise streaming. */
  chunkDelayMs?: number;
}

/** In-process ModelsClient over the raw fixtures; records what the handler asked for. */
export class FakeModels implements ModelsClient {
  readonly llmRequests: LlmInvokeRequest[] = [];
  readonly embedRequests: Array<{ model: ModelSelector; texts: string[]; inputType: string }> = [];
  aborted = false;

  constructor(private readonly options: FakeModelsOptions = {}) {}

  async *invokeLlm(request: LlmInvokeRequest, signal: AbortSignal): AsyncIterable<LlmResultChunk> {
    this.llmRequests.push(structuredClone(request));
    const script = this.options.llm ?? (() => textAnswer(['Hello', ' there!']));
    const result = await script(request);
    if (result instanceof Error) throw new DifyError(result.message, 'model_invoke_error', 0);
    let delivered = 0;
    for (const raw of result) {
      if (this.options.chunkDelayMs) await new Promise((r) => setTimeout(r, this.options.chunkDelayMs));
      if (signal.aborted) {
        this.aborted = true;
        return;
      }
      if (this.options.failAfter && delivered === this.options.failAfter.chunks) {
        throw new DifyError(this.options.failAfter.message, 'model_invoke_error', 0);
      }
      delivered++;
      yield normalizeLlmChunk(JSON.parse(JSON.stringify(raw)));
    }
  }

  async embed(model: ModelSelector, texts: string[], inputType: 'query' | 'document'): Promise<EmbeddingResult> {
    this.embedRequests.push({ model, texts: [...texts], inputType });
    const result = this.options.embed ? this.options.embed(texts, model) : rawEmbeddingResult(texts);
    if (result instanceof Error) throw new DifyError(result.message, 'model_invoke_error', 0);
    return normalizeEmbeddingResult(JSON.parse(JSON.stringify(result)));
  }
}
