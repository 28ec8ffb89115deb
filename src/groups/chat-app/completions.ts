/**
 * POST /v1/completions, the legacy API (openai-compat.md §6.3): a prompt in, text out, streamed as
 * `text_completion` chunks or answered whole. LangChain's `OpenAI` class and editors' autocomplete
 * still use it. A prompt stands alone: no conversation is continued or remembered; reasoning is not
 * part of this API's answer.
 */
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { TranslatorError } from '../../dify/translator.js';
import { clientAbortSignal } from '../../host/context.js';
import { nowSeconds, type FinishReason, type OpenAIUsage } from '../../openai/chat-chunks.js';
import { fromStreamError, sendError, streamErrorBody, unsupported } from '../../openai/errors.js';
import { sendJson } from '../../openai/json-response.js';
import { normalizeMessages, zodToError } from '../../openai/schemas.js';
import { SseWriter } from '../../openai/sse.js';
import { stopList } from '../../openai/stop-sequences.js';
import { authorize, CONVERSATION_HEADER, failTurn, prepareTurn, runOptions } from './chat-completions.js';
import { prepareResponse, readJsonBody } from './http.js';
import { clientInputs } from './plan.js';
import { runTurn, type AnswerSink } from './run.js';

const completionRequestSchema = z.looseObject({
  model: z.string({ error: 'you must provide a model parameter' }).min(1, 'you must provide a model parameter'),
  prompt: z.union([z.string(), z.array(z.unknown())], { error: "'prompt' must be a string" }),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  n: z.number().int().nullish(),
  best_of: z.number().int().nullish(),
  echo: z.boolean().nullish(),
  logprobs: z.number().int().nullish(),
  user: z.string().nullish(),
});

type CompletionRequest = z.infer<typeof completionRequestSchema>;

/** One text prompt (a one-element list is accepted too; token arrays and batches are not). */
function promptText(body: CompletionRequest): string {
  const p = body.prompt;
  if (typeof p === 'string') return p;
  if (p.length === 1 && typeof p[0] === 'string') return p[0];
  throw unsupported('Only a single text prompt is supported (no token arrays or batches of prompts).', 'prompt', 'unsupported_value');
}

function rejectUnsupportedCompletion(body: CompletionRequest): void {
  if ((body.n ?? 1) > 1) throw unsupported('n > 1 is not supported: a Dify app gives one answer per request.', 'n', 'unsupported_value');
  if ((body.best_of ?? 1) > 1) throw unsupported('best_of > 1 is not supported.', 'best_of', 'unsupported_value');
  if (body.echo) throw unsupported('echo is not supported.', 'echo', 'unsupported_value');
  if (body.logprobs !== null && body.logprobs !== undefined) throw unsupported('logprobs are not available from Dify apps.', 'logprobs', 'unsupported_value');
}

export async function completions(req: Request, res: Response): Promise<void> {
  prepareResponse(req, res);
  try {
    const { ctx, settings, key } = authorize(req, res);
    const parsed = completionRequestSchema.safeParse(await readJsonBody(req));
    if (!parsed.success) throw zodToError(parsed.error);
    const body = parsed.data;
    rejectUnsupportedCompletion(body);
    const prompt = promptText(body);
    const prepared = await prepareTurn({
      req,
      ctx,
      settings,
      key,
      model: body.model,
      messages: normalizeMessages([{ role: 'user', content: prompt }]),
      tools: [],
      toolChoice: 'none',
      user: body.user ?? undefined,
      inputs: clientInputs(body),
    });
    // A prompt stands alone: nothing to continue later.
    delete prepared.plan.remember;
    const signal = clientAbortSignal(req, res);
    const model = prepared.app.modelId;
    const sink = body.stream
      ? new CompletionStreamSink(res, model, body.stream_options?.include_usage === true, settings.keepalive_ms ?? undefined)
      : new CompletionObjectSink(res, model);
    await runTurn(runOptions(prepared, signal, sink, body.stream === true, stopList(body.stop)));
  } catch (err) {
    failTurn(res, err);
  }
}

const newId = () => 'cmpl-' + randomUUID().replace(/-/g, '');

function choice(text: string, finishReason: FinishReason | null): Record<string, unknown> {
  return { text, index: 0, logprobs: null, finish_reason: finishReason };
}

/** `text_completion` chunks: the text as it comes, a last chunk with the finish reason, usage if asked, `[DONE]`. */
class CompletionStreamSink implements AnswerSink {
  private readonly writer: SseWriter;
  private readonly id = newId();
  private readonly created = nowSeconds();
  private sentText = false;

  constructor(
    res: Response,
    private readonly model: string,
    private readonly includeUsage: boolean,
    keepaliveMs: number | undefined,
  ) {
    this.writer = new SseWriter(res, keepaliveMs ? { keepaliveMs } : {});
  }

  private chunk(fields: Record<string, unknown>): string {
    return JSON.stringify({ id: this.id, object: 'text_completion', created: this.created, model: this.model, ...fields });
  }
  start(meta: { conversationId: string | undefined }): void {
    this.writer.start(meta.conversationId ? { [CONVERSATION_HEADER]: meta.conversationId } : {});
  }
  reasoning(): void {}
  content(text: string): void {
    this.sentText = true;
    this.writer.data(this.chunk({ choices: [choice(text, null)] }));
  }
  toolCall(): void {}
  replace(text: string): void {
    this.content(this.sentText ? `\n\n${text}` : text);
  }
  finish(reason: FinishReason, usage: OpenAIUsage): void {
    this.writer.data(this.chunk({ choices: [choice('', reason)] }));
    if (this.includeUsage) this.writer.data(this.chunk({ choices: [], usage }));
    this.writer.done();
  }
  fail(error: TranslatorError): void {
    this.writer.error(streamErrorBody(error.code, error.message, error.status));
  }
}

/** One `text_completion` object with the whole text and usage. */
class CompletionObjectSink implements AnswerSink {
  private text = '';
  private conversationId: string | undefined;

  constructor(
    private readonly res: Response,
    private readonly model: string,
  ) {}

  start(meta: { conversationId: string | undefined }): void {
    this.conversationId = meta.conversationId;
  }
  reasoning(): void {}
  content(text: string): void {
    this.text += text;
  }
  toolCall(): void {}
  replace(text: string): void {
    this.text = text;
  }
  finish(reason: FinishReason, usage: OpenAIUsage): void {
    const body = { id: newId(), object: 'text_completion', created: nowSeconds(), model: this.model, choices: [choice(this.text, reason)], usage };
    if (this.conversationId) this.res.setHeader(CONVERSATION_HEADER, this.conversationId);
    sendJson(this.res, 200, JSON.stringify(body));
  }
  fail(error: TranslatorError): void {
    sendError(this.res, fromStreamError(error.code, error.message, error.status));
  }
}
