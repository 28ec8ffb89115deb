/**
 * The legacy completions API (openai-compat.md §6.3): its request (one text prompt) and its
 * `text_completion` objects, whole or as stream chunks. Generic: knows OpenAI shapes, not Dify.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { nowSeconds, type FinishReason, type OpenAIUsage } from './chat-chunks.js';
import { unsupported } from './errors.js';

export const completionRequestSchema = z.looseObject({
  model: z.string({ error: 'you must provide a model parameter' }).min(1, 'you must provide a model parameter'),
  prompt: z.union([z.string(), z.array(z.unknown())], { error: "'prompt' must be a string" }),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  max_tokens: z.number().int().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  n: z.number().int().nullish(),
  best_of: z.number().int().nullish(),
  echo: z.boolean().nullish(),
  logprobs: z.number().int().nullish(),
  user: z.string().nullish(),
});

export type CompletionRequest = z.infer<typeof completionRequestSchema>;

/** The one text prompt (a one-element list too); refuses token prompts, batches and what one answer cannot give. */
export function completionPrompt(body: CompletionRequest): string {
  if ((body.n ?? 1) > 1) throw unsupported('n > 1 is not supported: one answer per request.', 'n', 'unsupported_value');
  if ((body.best_of ?? 1) > 1) throw unsupported('best_of > 1 is not supported.', 'best_of', 'unsupported_value');
  if (body.echo) throw unsupported('echo is not supported.', 'echo', 'unsupported_value');
  if (body.logprobs !== null && body.logprobs !== undefined) throw unsupported('logprobs are not available here.', 'logprobs', 'unsupported_value');
  const p = body.prompt;
  if (typeof p === 'string') return p;
  if (p.length === 1 && typeof p[0] === 'string') return p[0];
  throw unsupported('Only a single text prompt is supported (no token arrays or batches of prompts).', 'prompt', 'unsupported_value');
}

const newId = () => 'cmpl-' + randomUUID().replace(/-/g, '');

function choice(text: string, finishReason: FinishReason | null): Record<string, unknown> {
  return { text, index: 0, logprobs: null, finish_reason: finishReason };
}

/** The whole answer as one `text_completion` object (JSON text). */
export function textCompletion(model: string, text: string, finishReason: FinishReason, usage: OpenAIUsage): string {
  return JSON.stringify({ id: newId(), object: 'text_completion', created: nowSeconds(), model, choices: [choice(text, finishReason)], usage });
}

/** The JSON text of each chunk of one streamed completion. */
export class TextCompletionChunks {
  private readonly id = newId();
  private readonly created = nowSeconds();

  constructor(private readonly model: string) {}

  private chunk(fields: Record<string, unknown>): string {
    return JSON.stringify({ id: this.id, object: 'text_completion', created: this.created, model: this.model, ...fields });
  }
  text(text: string): string {
    return this.chunk({ choices: [choice(text, null)] });
  }
  finish(reason: FinishReason): string {
    return this.chunk({ choices: [choice('', reason)] });
  }
  usage(usage: OpenAIUsage): string {
    return this.chunk({ choices: [], usage });
  }
}
