/**
 * POST /v1/responses: the minimal Responses API subset (openai-compat.md §6.2) over the same model
 * invocation as chat completions. Stateless: `previous_response_id`, `conversation` and
 * `background` are refused, since clients that matter (Codex, the AI SDK) send full history.
 * Events and the response object come from the shared ResponseBuilder: native tool calls stream
 * argument fragments, reasoning becomes a reasoning item, a length stop ends as `response.incomplete`.
 */
import type { Request, Response } from 'express';
import { clientAbortSignal } from '../../host/context.js';
import { ResponseBuilder } from '../../openai/response-builder.js';
import { responsesInputToMessages } from '../../openai/responses.js';
import { SseWriter } from '../../openai/sse.js';
import { planChat } from './chat-request.js';
import { invalidRequest, modelNotFound, modelsUnavailable, unsupported } from './errors.js';
import { runAnswer } from './invoke.js';
import { openModelRequest } from './request.js';
import { matchesModel } from './settings.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Responses request -> the equivalent chat-completions body (then planned like any chat). */
export function toChatBody(body: Json): Json {
  for (const field of ['previous_response_id', 'conversation', 'prompt'] as const) {
    if (body[field] !== undefined && body[field] !== null) {
      throw unsupported(`'${field}' is not supported: this endpoint is stateless, send the full input each time.`, field, 'unsupported_parameter');
    }
  }
  if (body.background === true) throw unsupported("background responses are not supported.", 'background', 'unsupported_value');

  const input = body.input;
  if (typeof input !== 'string' && !Array.isArray(input)) {
    throw invalidRequest("'input' must be a string or an array of input items.", 'input', input === undefined ? 'missing_required_parameter' : 'invalid_value');
  }
  const messages = responsesInputToMessages(input, typeof body.instructions === 'string' ? body.instructions : undefined);
  if (messages.length === 0) throw invalidRequest("'input' is empty.", 'input');

  const chat: Json = { model: body.model, messages, stream: body.stream === true };
  for (const name of ['temperature', 'top_p', 'user', 'safety_identifier', 'seed']) {
    if (body[name] !== undefined) chat[name] = body[name];
  }
  if (body.max_output_tokens !== undefined && body.max_output_tokens !== null) chat.max_tokens = body.max_output_tokens;
  if (isObject(body.reasoning) && typeof body.reasoning.effort === 'string') chat.reasoning_effort = body.reasoning.effort;
  if (Array.isArray(body.tools)) {
    chat.tools = body.tools
      .filter((t): t is Json => isObject(t) && t.type === 'function')
      .map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));
  }
  const choice = body.tool_choice;
  if (isObject(choice) && choice.type === 'function') chat.tool_choice = { type: 'function', function: { name: choice.name } };
  else if (choice !== undefined) chat.tool_choice = choice;
  if (isObject(body.text) && isObject(body.text.format)) chat.response_format = body.text.format;
  return chat;
}

export async function createResponse(req: Request, res: Response): Promise<void> {
  const { context, settings, body, model } = await openModelRequest(req, res);
  if (!matchesModel(model, settings.llmId, settings.llm)) throw modelNotFound(model);
  const models = context.models;
  if (!models) throw modelsUnavailable();
  const plan = planChat(toChatBody(body), settings.llm);
  const signal = clientAbortSignal(req, res);

  if (!plan.stream) {
    const builder = new ResponseBuilder(model, body);
    const outcome = await runAnswer(models, plan.invoke, signal, { start() {}, event: (e) => builder.event(e) }, plan.structured);
    if ('error' in outcome) throw outcome.error;
    res.status(200).json(builder.finish(outcome.summary.usage, outcome.summary.finishReason));
    return;
  }

  let builder: ResponseBuilder | undefined;
  const writer = new SseWriter(res, {
    keepaliveFrame: () => `event: keepalive\ndata: ${JSON.stringify({ type: 'keepalive', sequence_number: builder!.nextSeq() })}\n\n`,
  });
  builder = new ResponseBuilder(model, body, (type, data) => writer.event(type, JSON.stringify(data)));
  const b = builder;
  const outcome = await runAnswer(
    models,
    plan.invoke,
    signal,
    {
      start() {
        writer.start();
        b.started();
      },
      event: (e) => b.event(e),
    },
    plan.structured,
  );
  if (signal.aborted) {
    writer.end();
    return;
  }
  if ('error' in outcome) b.failed(outcome.error);
  else b.finish(outcome.summary.usage, outcome.summary.finishReason);
  writer.end();
}
