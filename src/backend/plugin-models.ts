/**
 * Plugin host: Dify-configured models through the daemon's reverse invocation (llm,
 * llm_structured_output, text_embedding, tts, speech2text; audio travels hex-encoded both ways). Results are normalised leniently: Go re-serialises them
 * (prices as decimal strings or numbers, `null` for empty slices, `"prompt_messages":[]` on every
 * chunk), and newer Dify versions add fields.
 */
import type { DifySession, LLMInvokeRequest } from '@dify/plugin-sdk-shim';
import { DifyError, type EmbeddingResult, type LlmInvokeRequest, type LlmResultChunk, type ModelSelector, type ModelsClient } from './types.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function num(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : 0;
  return Number.isFinite(n) ? n : 0;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
}

/** One LLMResultChunk as the daemon relays it -> the backend's normalised chunk. */
export function normalizeLlmChunk(raw: unknown): LlmResultChunk {
  const chunk = isObject(raw) ? raw : {};
  const delta = isObject(chunk.delta) ? chunk.delta : {};
  const message = isObject(delta.message) ? delta.message : {};
  const content = message.content;
  const toolCalls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  const usage = isObject(delta.usage) ? delta.usage : null;
  const out: LlmResultChunk = {
    model: str(chunk.model),
    delta: {
      index: num(delta.index),
      message: {
        content: typeof content === 'string' || Array.isArray(content) ? (content as LlmResultChunk['delta']['message']['content']) : null,
        tool_calls: toolCalls.filter(isObject).map((call) => {
          const fn = isObject(call.function) ? call.function : {};
          const args = fn.arguments;
          return {
            id: str(call.id),
            type: str(call.type) || 'function',
            function: { name: str(fn.name), arguments: typeof args === 'string' ? args : isObject(args) ? JSON.stringify(args) : '' },
          };
        }),
      },
      usage: usage
        ? {
            prompt_tokens: num(usage.prompt_tokens),
            completion_tokens: num(usage.completion_tokens),
            total_tokens: num(usage.total_tokens) || num(usage.prompt_tokens) + num(usage.completion_tokens),
          }
        : null,
      finish_reason: typeof delta.finish_reason === 'string' && delta.finish_reason ? delta.finish_reason : null,
    },
  };
  if (isObject(chunk.structured_output)) out.structured_output = chunk.structured_output;
  return out;
}

/** One TextEmbeddingResult -> the backend's normalised result. */
export function normalizeEmbeddingResult(raw: unknown): EmbeddingResult {
  const result = isObject(raw) ? raw : {};
  const usage = isObject(result.usage) ? result.usage : {};
  const embeddings = Array.isArray(result.embeddings) ? result.embeddings : [];
  return {
    model: str(result.model),
    embeddings: embeddings.map((v) => (Array.isArray(v) ? v.map(num) : [])),
    usage: { tokens: num(usage.tokens), total_tokens: num(usage.total_tokens) || num(usage.tokens) },
  };
}

/** The daemon's `llm` request for an invocation (prompt messages pass through as Dify's shape). */
export function llmRequestBody(request: LlmInvokeRequest): LLMInvokeRequest {
  const { model } = request;
  const body: LLMInvokeRequest = {
    provider: model.provider,
    model: model.model,
    model_type: 'llm',
    mode: typeof model.mode === 'string' && model.mode ? model.mode : 'chat',
    completion_params: request.completionParams,
    prompt_messages: request.promptMessages,
    tools: request.tools && request.tools.length > 0 ? request.tools : null,
    stop: request.stop && request.stop.length > 0 ? request.stop : null,
    stream: request.stream,
  };
  if (request.structuredOutputSchema) body.structured_output_schema = request.structuredOutputSchema;
  return body;
}

/**
 * The shim refuses to write an invoke line the daemon would not read (over 5 MiB: the daemon kills
 * the plugin and every session on it). Matched by name so this does not depend on the shim's class
 * identity (bundling may load two copies).
 */
export function isReverseInvocationTooLarge(err: unknown): err is Error {
  return err instanceof Error && err.name === 'ReverseInvocationTooLargeError';
}

/**
 * Reverse-invocation failures arrive as the daemon's error text (`error` event). Keep the text and
 * give it a coarse code; the llm group reads the text for quota / rate-limit / context phrases.
 */
export function toDifyError(err: unknown): DifyError {
  if (err instanceof DifyError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isReverseInvocationTooLarge(err)) return new DifyError(message || 'reverse invocation too large', 'request_too_large', 413);
  const timedOut = err instanceof Error && /Timeout/.test(err.name);
  return new DifyError(message || 'model invocation failed', timedOut ? 'timeout' : 'model_invoke_error', timedOut ? 504 : 0);
}

export function createPluginModelsClient(session: DifySession): ModelsClient {
  return {
    async *invokeLlm(request: LlmInvokeRequest, signal: AbortSignal): AsyncIterable<LlmResultChunk> {
      const body = llmRequestBody(request);
      try {
        // Inside the try: the shim may refuse the call (line too large) when it is made or on the first read.
        const source = request.structuredOutputSchema
          ? session.invokeLlmStructuredOutput({ ...body, structured_output_schema: request.structuredOutputSchema }, { signal })
          : session.invokeLlm(body, { signal });
        for await (const raw of source) yield normalizeLlmChunk(raw);
      } catch (err) {
        throw toDifyError(err);
      }
    },
    async *speak(model: ModelSelector, text: string, signal: AbortSignal): AsyncIterable<Uint8Array> {
      const voice = typeof model.voice === 'string' ? model.voice : '';
      try {
        for await (const raw of session.invoke('tts', { provider: model.provider, model: model.model, model_type: 'tts', content_text: text, voice }, { signal })) {
          const hex = isObject(raw) ? raw.result : undefined;
          if (typeof hex === 'string' && hex !== '') yield Buffer.from(hex, 'hex');
        }
      } catch (err) {
        throw toDifyError(err);
      }
    },
    async transcribe(model: ModelSelector, audio: Uint8Array): Promise<string> {
      try {
        let text = '';
        const file = Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength).toString('hex');
        for await (const raw of session.invoke('speech2text', { provider: model.provider, model: model.model, model_type: 'speech2text', file })) {
          if (isObject(raw) && typeof raw.result === 'string') text += raw.result;
        }
        return text;
      } catch (err) {
        throw toDifyError(err);
      }
    },
    async embed(model: ModelSelector, texts: string[], inputType: 'query' | 'document'): Promise<EmbeddingResult> {
      try {
        const result = await session.invokeTextEmbedding({
          provider: model.provider,
          model: model.model,
          model_type: 'text-embedding',
          texts,
          input_type: inputType,
        });
        return normalizeEmbeddingResult(result);
      } catch (err) {
        throw toDifyError(err);
      }
    },
  };
}
