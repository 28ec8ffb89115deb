/**
 * The llm group's settings (settings/llm.yaml), validated leniently: Dify stores model-selector
 * values as objects ({provider, model, model_type, mode, completion_params, ...}).
 */
import { z } from 'zod';
import type { ModelSelector } from '../../backend/types.js';
import { OpenAIError } from './errors.js';

const selectorSchema = z
  .object({
    provider: z.string().min(1),
    model: z.string().min(1),
    model_type: z.string().optional(),
    mode: z.string().optional(),
    completion_params: z.record(z.string(), z.unknown()).nullish(),
  })
  .passthrough();

const settingsSchema = z.object({
  api_key: z.string().min(1),
  llm: selectorSchema,
  text_embedding: selectorSchema.nullish().catch(null),
  tts: selectorSchema.nullish().catch(null),
  speech2text: selectorSchema.nullish().catch(null),
  model_id: z.string().nullish(),
});

/**
 * Ids that make OpenAI clients switch behaviour (Codex, the Agents SDK and others special-case
 * gpt-*, the o-series, *codex*, chatgpt-* and OpenAI's embedding names: Responses-only paths,
 * reasoning parameters, fixed dimensions). A Dify model that carries such a name is listed as
 * `dify-<name>`; the bare name is still accepted in requests.
 */
const OPENAI_LOOKING = /^(gpt-|o1|o3|o4|chatgpt-|text-embedding-)|codex/i;

/** The id clients see for a Dify model name: verbatim, or `dify-`-prefixed when it looks like OpenAI's. */
export function listedId(modelName: string): string {
  return OPENAI_LOOKING.test(modelName) ? `dify-${modelName}` : modelName;
}

export interface LlmSettings {
  apiKey: string;
  llm: ModelSelector;
  /** The id clients use for the chat model. */
  llmId: string;
  embedding?: ModelSelector;
  embeddingId?: string;
  /** Text to speech for /v1/audio/speech (the selector carries the voice). */
  tts?: ModelSelector;
  /** Speech to text for /v1/audio/transcriptions. */
  stt?: ModelSelector;
}

/** An unset optional model-selector may arrive as "" or {}. */
const selectorOrNull = (v: unknown) => (v && typeof v === 'object' && (v as { model?: unknown }).model ? v : null);

/** Reads the endpoint settings; a misconfigured endpoint is the operator's problem, so 500 with a clear text. */
export function readSettings(raw: Record<string, unknown>): LlmSettings {
  const cleaned = { ...raw, text_embedding: selectorOrNull(raw.text_embedding), tts: selectorOrNull(raw.tts), speech2text: selectorOrNull(raw.speech2text) };
  const parsed = settingsSchema.safeParse(cleaned);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? 'settings')))].join(', ');
    throw new OpenAIError(
      500,
      `This endpoint is not configured correctly (check the setting(s): ${fields}).`,
      'server_error',
      null,
      'endpoint_misconfigured',
    );
  }
  const { api_key, llm, text_embedding, tts, speech2text, model_id } = parsed.data;
  const result: LlmSettings = {
    apiKey: api_key,
    llm: llm as ModelSelector,
    llmId: model_id?.trim() || listedId(llm.model),
  };
  if (text_embedding) {
    result.embedding = text_embedding as ModelSelector;
    result.embeddingId = listedId(text_embedding.model);
  }
  if (tts) result.tts = tts as ModelSelector;
  if (speech2text) result.stt = speech2text as ModelSelector;
  return result;
}

/** Accepts the listed id, the bare Dify model name and provider/name (ids arrive percent-decoded). */
export function matchesModel(requested: string, id: string, selector: ModelSelector): boolean {
  return requested === id || requested === selector.model || requested === `${selector.provider}/${selector.model}`;
}
