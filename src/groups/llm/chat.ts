/**
 * POST /v1/chat/completions over the Dify model chosen in the endpoint settings.
 */
import type { Request, Response } from 'express';
import { clientAbortSignal } from '../../host/context.js';
import { ChatChunkBuilder, chatCompletion, newCompletionId, nowSeconds, type FinishReason, type OpenAIUsage } from '../../openai/chat-chunks.js';
import { SseWriter } from '../../openai/sse.js';
import type { AnswerEvent } from './answer.js';
import { planChat } from './chat-request.js';
import { modelNotFound, modelsUnavailable } from './errors.js';
import { runAnswer } from './invoke.js';
import { openModelRequest } from './request.js';
import { matchesModel } from './settings.js';

export async function chatCompletions(req: Request, res: Response): Promise<void> {
  const { context, settings, body, model } = await openModelRequest(req, res);
  if (!matchesModel(model, settings.llmId, settings.llm)) throw modelNotFound(model);
  const models = context.models;
  if (!models) throw modelsUnavailable();

  const plan = planChat(body, settings.llm);
  const signal = clientAbortSignal(req, res);
  const id = newCompletionId();
  const created = nowSeconds();

  if (!plan.stream) {
    const outcome = await runAnswer(models, plan.invoke, signal, { start() {}, event() {} }, plan.structured);
    if ('error' in outcome) throw outcome.error;
    const { summary } = outcome;
    if (plan.legacyFunctions && summary.toolCalls.length > 0) {
      const call = summary.toolCalls[0]!;
      const completion = chatCompletion({ id, model, created, content: summary.content || null, finishReason: 'function_call', usage: summary.usage });
      const message = (completion.choices as Array<{ message: Record<string, unknown> }>)[0]!.message;
      message.function_call = { name: call.function.name, arguments: call.function.arguments };
      if (summary.reasoning) message.reasoning_content = summary.reasoning;
      res.status(200).json(completion);
      return;
    }
    const args: Parameters<typeof chatCompletion>[0] = {
      id,
      model,
      created,
      content: summary.content,
      toolCalls: summary.toolCalls,
      finishReason: summary.finishReason,
      usage: summary.usage,
    };
    if (summary.reasoning) args.reasoning = summary.reasoning;
    res.status(200).json(chatCompletion(args));
    return;
  }

  const writer = new SseWriter(res);
  const chunks = new ChatChunkBuilder(id, model, created);
  const legacy = plan.legacyFunctions;
  const outcome = await runAnswer(
    models,
    plan.invoke,
    signal,
    {
      start() {
        writer.start();
        writer.data(chunks.role());
      },
      event(event: AnswerEvent) {
        const chunk = legacy ? legacyChunk(chunks, event) : chunkFor(chunks, event);
        if (chunk) writer.data(chunk);
      },
    },
    plan.structured,
  );
  endStream(writer, signal, outcome, chunks, plan.includeUsage, (reason) => (legacy && reason === 'tool_calls' ? 'function_call' : reason));
}

/**
 * Ends a streamed answer whose chunks `chunks` builds (chat or legacy completion): nothing more once
 * the client left, a failure in band, else the finish chunk, the usage chunk when asked, `[DONE]`.
 */
export function endStream(
  writer: SseWriter,
  signal: AbortSignal,
  outcome: Awaited<ReturnType<typeof runAnswer>>,
  chunks: { finish(reason: FinishReason): string; usage(usage: OpenAIUsage): string },
  includeUsage: boolean,
  finishReason: (reason: FinishReason) => FinishReason = (reason) => reason,
): void {
  if (signal.aborted) {
    writer.end();
    return;
  }
  if ('error' in outcome) {
    writer.error(outcome.error.body());
    return;
  }
  writer.data(chunks.finish(finishReason(outcome.summary.finishReason)));
  if (includeUsage) writer.data(chunks.usage(outcome.summary.usage));
  writer.done();
}

function chunkFor(chunks: ChatChunkBuilder, event: AnswerEvent): string {
  switch (event.type) {
    case 'content':
      return chunks.content(event.text);
    case 'reasoning':
      return chunks.reasoning(event.text);
    case 'tool_call':
      return chunks.toolCallStart(event.index, event.id, event.name, event.args);
    case 'tool_args':
      return chunks.toolCallArgs(event.index, event.fragment);
  }
}

/** Legacy `functions` requests get `delta.function_call` (first call only, as that API has one). */
function legacyChunk(chunks: ChatChunkBuilder, event: AnswerEvent): string | null {
  if (event.type === 'content' || event.type === 'reasoning') return chunkFor(chunks, event);
  if (event.index !== 0) return null;
  const fn = event.type === 'tool_call' ? { name: event.name, arguments: event.args } : { arguments: event.fragment };
  const base = JSON.parse(chunks.content('')) as { choices: Array<{ delta: Record<string, unknown> }> };
  base.choices[0]!.delta = { function_call: fn };
  return JSON.stringify(base);
}
