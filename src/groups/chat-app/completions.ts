/**
 * POST /v1/completions, the legacy API (openai-compat.md §6.3): a prompt in, text out, streamed as
 * `text_completion` chunks or answered whole. LangChain's `OpenAI` class and editors' autocomplete
 * still use it. A prompt stands alone: no conversation is continued or remembered; reasoning is not
 * part of this API's answer.
 */
import type { Request, Response } from 'express';
import { clientAbortSignal } from '../../host/context.js';
import type { FinishReason, OpenAIUsage } from '../../openai/chat-chunks.js';
import { normalizeMessages } from '../../openai/schemas.js';
import { stopList } from '../../openai/stop-sequences.js';
import { completionPrompt, completionRequestSchema, textCompletion, TextCompletionChunks } from '../../openai/text-completion.js';
import { failTurn, openRequest, prepareTurn, runOptions } from './chat-completions.js';
import { prepareResponse } from './http.js';
import { runTurn } from './run.js';
import { CollectingSink, StreamingSink } from './sinks.js';

export async function completions(req: Request, res: Response): Promise<void> {
  prepareResponse(req, res);
  try {
    const { auth, body } = await openRequest(req, res, completionRequestSchema);
    const { settings } = auth;
    const prompt = completionPrompt(body);
    const prepared = await prepareTurn({
      req,
      ...auth,
      body,
      messages: normalizeMessages([{ role: 'user', content: prompt }]),
      tools: [],
      toolChoice: 'none',
      // A prompt stands alone: nothing continued, nothing to continue later.
      oneShot: true,
    });
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
class CompletionStreamSink extends StreamingSink {
  private readonly chunks: TextCompletionChunks;

  constructor(
    res: Response,
    model: string,
    private readonly includeUsage: boolean,
    keepaliveMs: number | undefined,
  ) {
    super(res, keepaliveMs);
    this.chunks = new TextCompletionChunks(model);
  }

  reasoning(): void {}
  protected writeContent(text: string): void {
    this.writer.data(this.chunks.text(text));
  }
  toolCall(): void {}
  finish(reason: FinishReason, usage: OpenAIUsage): void {
    this.writer.data(this.chunks.finish(reason));
    if (this.includeUsage) this.writer.data(this.chunks.usage(usage));
    this.writer.done();
  }
}

/** One `text_completion` object with the whole text and usage (reasoning is not part of this API). */
class CompletionObjectSink extends CollectingSink {
  constructor(
    res: Response,
    private readonly model: string,
  ) {
    super(res);
  }

  protected render(reason: FinishReason, usage: OpenAIUsage): string {
    return textCompletion(this.model, this.text, reason, usage);
  }
}
