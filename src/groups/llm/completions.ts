/**
 * POST /v1/completions, the legacy API, over the endpoint's model: the prompt becomes one user
 * message and is planned like any chat (stop, max_tokens, temperature carry over); the answer's text
 * comes back as `text_completion` objects. Reasoning is not part of this API's answer.
 */
import type { Request, Response } from 'express';
import { clientAbortSignal } from '../../host/context.js';
import { zodToError } from '../../openai/schemas.js';
import { SseWriter } from '../../openai/sse.js';
import { completionPrompt, completionRequestSchema, textCompletion, TextCompletionChunks } from '../../openai/text-completion.js';
import { endStream } from './chat.js';
import { planChat } from './chat-request.js';
import { modelNotFound, modelsUnavailable } from './errors.js';
import { runAnswer } from './invoke.js';
import { openModelRequest } from './request.js';
import { matchesModel } from './settings.js';

export async function createCompletion(req: Request, res: Response): Promise<void> {
  const { context, settings, body, model } = await openModelRequest(req, res);
  if (!matchesModel(model, settings.llmId, settings.llm)) throw modelNotFound(model);
  const models = context.models;
  if (!models) throw modelsUnavailable();
  const parsed = completionRequestSchema.safeParse(body);
  if (!parsed.success) throw zodToError(parsed.error);
  const request = parsed.data;
  const chat: Record<string, unknown> = { model, messages: [{ role: 'user', content: completionPrompt(request) }], stream: request.stream === true };
  for (const name of ['stop', 'max_tokens', 'temperature', 'top_p', 'user', 'stream_options'] as const) {
    if (request[name] !== undefined && request[name] !== null) chat[name] = request[name];
  }
  const plan = planChat(chat, settings.llm);
  const signal = clientAbortSignal(req, res);

  if (!plan.stream) {
    const outcome = await runAnswer(models, plan.invoke, signal, { start() {}, event() {} }, plan.structured);
    if ('error' in outcome) throw outcome.error;
    const { summary } = outcome;
    res.status(200).type('application/json').send(textCompletion(model, summary.content, summary.finishReason, summary.usage));
    return;
  }

  const writer = new SseWriter(res);
  const chunks = new TextCompletionChunks(model);
  const outcome = await runAnswer(
    models,
    plan.invoke,
    signal,
    {
      start: () => writer.start(),
      event: (event) => {
        if (event.type === 'content') writer.data(chunks.text(event.text));
      },
    },
    plan.structured,
  );
  endStream(writer, signal, outcome, chunks, plan.includeUsage);
}
