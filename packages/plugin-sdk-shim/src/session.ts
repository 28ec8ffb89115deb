// The typed session API handlers use for reverse invocation (res.locals.dify.session).
// Parsing is lenient: Go re-serialises results (keys in any order, numbers through float64, prices
// as decimal strings, nil slices as null), and newer Dify versions add fields.
import { z } from 'zod';
import type { InvokeOptions, ReverseChannel } from './reverse-invocation.js';
import { ReverseInvocationError } from './reverse-invocation.js';

// ---- lenient primitives ----
const decimal = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => (v === null || v === undefined ? '0' : String(v)));
const count = z
  .union([z.number(), z.string()])
  .nullish()
  .transform((v) => {
    const n = Number(v ?? 0);
    return Number.isFinite(n) ? n : 0;
  });
const text = z
  .string()
  .nullish()
  .transform((v) => v ?? '');
function list<T extends z.ZodType>(item: T) {
  return z
    .array(item)
    .nullish()
    .transform((v) => v ?? []);
}

export const llmUsageSchema = z.looseObject({
  prompt_tokens: count,
  prompt_unit_price: decimal,
  prompt_price_unit: decimal,
  prompt_price: decimal,
  completion_tokens: count,
  completion_unit_price: decimal,
  completion_price_unit: decimal,
  completion_price: decimal,
  total_tokens: count,
  total_price: decimal,
  currency: text,
  latency: count,
});
export type LLMUsage = z.infer<typeof llmUsageSchema>;

export const toolCallSchema = z.looseObject({
  id: text,
  type: text,
  function: z.looseObject({ name: text, arguments: text }),
});
export type LLMToolCall = z.infer<typeof toolCallSchema>;

export const llmResultChunkSchema = z.looseObject({
  model: text,
  system_fingerprint: z.string().nullish(),
  delta: z.looseObject({
    index: count,
    message: z.looseObject({
      role: text,
      content: z.union([z.string(), z.array(z.unknown())]).nullish(),
      name: z.string().nullish(),
      tool_calls: list(toolCallSchema),
      tool_call_id: z.string().nullish(),
    }),
    usage: llmUsageSchema.nullish(),
    finish_reason: z.string().nullish(),
  }),
  structured_output: z.record(z.string(), z.unknown()).nullish(),
});
export type LLMResultChunk = z.infer<typeof llmResultChunkSchema>;

export const embeddingUsageSchema = z.looseObject({
  tokens: count,
  total_tokens: count,
  unit_price: decimal,
  price_unit: decimal,
  total_price: decimal,
  currency: text,
  latency: count,
});
export const textEmbeddingResultSchema = z.looseObject({
  model: text,
  embeddings: list(z.array(z.number())),
  usage: embeddingUsageSchema.nullish(),
});
export type TextEmbeddingResult = z.infer<typeof textEmbeddingResultSchema>;

/** A Dify app event (Service-API "full" format); fields vary by app mode and Dify version. */
export type AppEvent = Record<string, unknown> & { event?: string };

export interface PromptMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | Array<Record<string, unknown>> | null;
  name?: string;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

export interface LLMInvokeRequest {
  provider: string;
  model: string;
  /** 'chat' | 'completion' */
  mode: string;
  model_type?: string;
  completion_params?: Record<string, unknown>;
  prompt_messages: PromptMessage[];
  tools?: Array<{ name: string; description: string; parameters: Record<string, unknown> }> | null;
  tool_choice?: { mode: 'auto' | 'none' | 'required' | 'tool'; name?: string } | string | null;
  stop?: string[] | null;
  stream?: boolean;
  [key: string]: unknown;
}

export interface LLMStructuredOutputRequest extends LLMInvokeRequest {
  structured_output_schema: Record<string, unknown>;
}

export interface AppInvokeRequest {
  app_id: string;
  inputs?: Record<string, unknown>;
  query?: string | null;
  response_mode: 'streaming' | 'blocking';
  conversation_id?: string | null;
  user?: string | null;
  [key: string]: unknown;
}

export interface TextEmbeddingRequest {
  provider: string;
  model: string;
  texts: string[];
  input_type: 'query' | 'document';
  model_type?: string;
}

export interface DifyStorage {
  get(key: string, options?: InvokeOptions): Promise<Buffer | null>;
  set(key: string, value: Buffer | Uint8Array | string, options?: InvokeOptions): Promise<void>;
  /** deleting a missing key is not an error here (it is for the daemon) */
  del(key: string, options?: InvokeOptions): Promise<void>;
  exist(key: string, options?: InvokeOptions): Promise<boolean>;
}

export interface DifySession {
  /** the daemon's session id of the current request */
  readonly id: string;
  /** aborted when the session or the transport closes */
  readonly signal: AbortSignal;
  invokeApp(request: AppInvokeRequest & { response_mode: 'blocking' }, options?: InvokeOptions): Promise<AppEvent>;
  invokeApp(request: AppInvokeRequest & { response_mode: 'streaming' }, options?: InvokeOptions): AsyncIterable<AppEvent>;
  invokeLlm(request: LLMInvokeRequest, options?: InvokeOptions): AsyncIterable<LLMResultChunk>;
  invokeLlmStructuredOutput(request: LLMStructuredOutputRequest, options?: InvokeOptions): AsyncIterable<LLMResultChunk>;
  invokeTextEmbedding(request: TextEmbeddingRequest, options?: InvokeOptions): Promise<TextEmbeddingResult>;
  fetchApp(appId: string, options?: InvokeOptions): Promise<Record<string, unknown>>;
  uploadFile(request: { filename: string; mimetype: string }, options?: InvokeOptions): Promise<{ url: string }>;
  readonly storage: DifyStorage;
  /** Any other invoke type (rerank, tts, tool, ...): raw response objects. */
  invoke(type: string, request: Record<string, unknown>, options?: InvokeOptions): AsyncIterable<unknown>;
}

export class StorageKeyError extends Error {
  override readonly name = 'StorageKeyError';
}

/** The daemon's key rules (persistence.go): at most 256 chars, no `..`, `//` or `\`. */
export function validateStorageKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new StorageKeyError('storage key must be a non-empty string');
  if (key.length > 256) throw new StorageKeyError('storage key is longer than 256 characters');
  if (key.includes('..') || key.includes('//') || key.includes('\\')) throw new StorageKeyError('storage key must not contain "..", "//" or "\\"');
}

async function single(iterable: AsyncIterable<unknown>, type: string): Promise<unknown> {
  let result: unknown;
  let seen = false;
  for await (const item of iterable) {
    if (!seen) {
      result = item;
      seen = true;
    }
  }
  if (!seen) throw new ReverseInvocationError(`${type} invocation returned no response`, type);
  return result;
}

function parseLenient<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : (value as T);
}

async function* mapChunks(source: AsyncIterable<unknown>): AsyncGenerator<LLMResultChunk> {
  for await (const item of source) yield parseLenient(llmResultChunkSchema, item);
}

export function createDifySession(id: string, channel: ReverseChannel, signal: AbortSignal): DifySession {
  const invoke = (type: string, request: Record<string, unknown>, options?: InvokeOptions): AsyncIterableIterator<unknown> => channel.invoke(type, request, options);
  const storageCall = async (request: Record<string, unknown>, options?: InvokeOptions): Promise<Record<string, unknown>> =>
    (await single(invoke('storage', request, options), 'storage')) as Record<string, unknown>;

  const storage: DifyStorage = {
    async get(key, options) {
      validateStorageKey(key);
      try {
        const result = await storageCall({ opt: 'get', key }, options);
        const data = result?.['data'];
        return typeof data === 'string' ? Buffer.from(data, 'hex') : null;
      } catch (err) {
        // the daemon reports a missing key as an error; tell it apart from real failures
        if (err instanceof ReverseInvocationError && !(await storage.exist(key, options))) return null;
        throw err;
      }
    },
    async set(key, value, options) {
      validateStorageKey(key);
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      await storageCall({ opt: 'set', key, value: bytes.toString('hex') }, options);
    },
    async del(key, options) {
      validateStorageKey(key);
      try {
        await storageCall({ opt: 'del', key }, options);
      } catch (err) {
        if (err instanceof ReverseInvocationError && !(await storage.exist(key, options))) return;
        throw err;
      }
    },
    async exist(key, options) {
      validateStorageKey(key);
      const result = await storageCall({ opt: 'exist', key }, options);
      const data = result?.['data'];
      return data === true || data === 'true' || (typeof data === 'number' && data > 0);
    },
  };

  function invokeApp(request: AppInvokeRequest & { response_mode: 'blocking' }, options?: InvokeOptions): Promise<AppEvent>;
  function invokeApp(request: AppInvokeRequest & { response_mode: 'streaming' }, options?: InvokeOptions): AsyncIterable<AppEvent>;
  function invokeApp(request: AppInvokeRequest, options?: InvokeOptions): Promise<AppEvent> | AsyncIterable<AppEvent> {
    const body = {
      app_id: request.app_id,
      inputs: request.inputs ?? {},
      query: request.query ?? null,
      response_mode: request.response_mode,
      conversation_id: request.conversation_id ?? null,
      user: request.user ?? null,
    };
    const events = invoke('app', { ...request, ...body }, options) as AsyncIterableIterator<AppEvent>;
    if (request.response_mode === 'blocking') return single(events, 'app') as Promise<AppEvent>;
    return events;
  }

  return {
    id,
    signal,
    invokeApp,
    invokeLlm: (request, options) => mapChunks(invoke('llm', { model_type: 'llm', stream: true, ...request }, options)),
    invokeLlmStructuredOutput: (request, options) => mapChunks(invoke('llm_structured_output', { model_type: 'llm', stream: true, ...request }, options)),
    async invokeTextEmbedding(request, options) {
      const result = await single(invoke('text_embedding', { model_type: 'text-embedding', ...request }, options), 'text_embedding');
      return parseLenient(textEmbeddingResultSchema, result);
    },
    async fetchApp(appId, options) {
      const result = await single(invoke('fetch_app', { app_id: appId }, options), 'fetch_app');
      const record = (result ?? {}) as Record<string, unknown>;
      // the daemon answers `{"data": <app>}` in some versions
      return (record['data'] && typeof record['data'] === 'object' && Object.keys(record).length === 1 ? record['data'] : record) as Record<string, unknown>;
    },
    async uploadFile(request, options) {
      const result = (await single(invoke('upload_file', { filename: request.filename, mimetype: request.mimetype }, options), 'upload_file')) as Record<string, unknown>;
      const url = result?.['url'] ?? (result?.['data'] as Record<string, unknown> | undefined)?.['url'];
      if (typeof url !== 'string') throw new ReverseInvocationError('upload_file returned no url', 'upload_file');
      return { url };
    },
    storage,
    invoke,
  };
}
