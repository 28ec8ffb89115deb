/**
 * POST /v1/completions, the legacy API (openai-compat.md §6.3): a prompt in, text out, streamed as
 * `text_completion` chunks or answered whole. LangChain's `OpenAI` class and editors' autocomplete
 * still use it. A prompt stands alone: no conversation is continued or remembered; reasoning is not
 * part of this API's answer.
 */
import type { Request, Response } from 'express';
import type { TranslatorError } from '../../dify/translator.js';
import { clientAbortSignal } from '../../host/context.js';
import type { FinishReason, OpenAIUsage } from '../../openai/chat-chunks.js';
import { fromStreamError, sendError, streamErrorBody } from '../../openai/errors.js';
import { sendJson } from '../../openai/json-response.js';
import { normalizeMessages, zodToError } from '../../openai/schemas.js';
import { SseWriter } from '../../openai/sse.js';
import { stopList } from '../../openai/stop-sequences.js';
import { completionPrompt, completionRequestSchema, textCompletion, TextCompletionChunks } from '../../openai/text-completion.js';
import { authorize, CONVERSATION_HEADER, failTurn, prepareTurn, runOptions } from './chat-completions.js';
import { prepareResponse, readJsonBody } from './http.js';
import { clientInputs } from './plan.js';
import { runTurn, type AnswerSink } from './run.js';

export async function completions(req: Request, res: Response): Promise<void> {
  prepareResponse(req, res);
  try {
    const { ctx, settings, key } = authorize(req, res);
    const parsed = completionRequestSchema.safeParse(await readJsonBody(req));
    if (!parsed.success) throw zodToError(parsed.error);
    const body = parsed.data;
    const prompt = completionPrompt(body);
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

/** `text_completion` chunks: the text as it comes, a last chunk with the finish reason, usage if asked, `[DONE]`. */
class CompletionStreamSink implements AnswerSink {
  private readonly writer: SseWriter;
  private readonly chunks: TextCompletionChunks;
  private sentText = false;

  constructor(
    res: Response,
    model: string,
    private readonly includeUsage: boolean,
    keepaliveMs: number | undefined,
  ) {
    this.writer = new SseWriter(res, keepaliveMs ? { keepaliveMs } : {});
    this.chunks = new TextCompletionChunks(model);
  }
  start(meta: { conversationId: string | undefined }): void {
    this.writer.start(meta.conversationId ? { [CONVERSATION_HEADER]: meta.conversationId } : {});
  }
  reasoning(): void {}
  content(text: string): void {
    this.sentText = true;
    this.writer.data(this.chunks.text(text));
  }
  toolCall(): void {}
  replace(text: string): void {
    this.content(this.sentText ? `\n\n${text}` : text);
  }
  finish(reason: FinishReason, usage: OpenAIUsage): void {
    this.writer.data(this.chunks.finish(reason));
    if (this.includeUsage) this.writer.data(this.chunks.usage(usage));
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
    if (this.conversationId) this.res.setHeader(CONVERSATION_HEADER, this.conversationId);
    sendJson(this.res, 200, textCompletion(this.model, this.text, reason, usage));
  }
  fail(error: TranslatorError): void {
    sendError(this.res, fromStreamError(error.code, error.message, error.status));
  }
}
