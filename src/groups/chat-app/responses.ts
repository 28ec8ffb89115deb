/**
 * POST /v1/responses over a Dify app: the subset Codex, openai-node and the AI SDK use. The app's
 * reasoning (think blocks, agent thoughts) becomes a reasoning item ahead of the message.
 */
import type { Request, Response } from 'express';
import { clientAbortSignal } from '../../host/context.js';
import type { FinishReason, OpenAIUsage } from '../../openai/chat-chunks.js';
import { streamErrorBody } from '../../openai/errors.js';
import { ResponseBuilder } from '../../openai/response-builder.js';
import {
  rejectUnsupportedResponses,
  responsesInputToMessages,
  responsesRequestSchema,
  responsesTools,
  type ResponsesRequest,
} from '../../openai/responses.js';
import { normalizeMessages, responseFormatHint } from '../../openai/schemas.js';
import type { TranslatorError } from '../../dify/translator.js';
import { failTurn, openRequest, prepareTurn, runOptions } from './chat-completions.js';
import { prepareResponse } from './http.js';
import { runTurn } from './run.js';
import { CollectingSink, StreamingSink, type AnswerToolCall } from './sinks.js';

export async function responses(req: Request, res: Response): Promise<void> {
  prepareResponse(req, res);
  try {
    const { auth, body } = await openRequest(req, res, responsesRequestSchema);
    const { settings } = auth;
    rejectUnsupportedResponses(body);
    const messages = normalizeMessages(responsesInputToMessages(body.input, body.instructions));
    const { tools, toolChoice } = responsesTools(body);
    const prepared = await prepareTurn({
      req,
      ...auth,
      body,
      messages,
      tools,
      toolChoice,
      instruction: responseFormatHint(textFormat(body)),
    });
    const model = prepared.app.modelId;
    const signal = clientAbortSignal(req, res);
    const sink = body.stream ? new ResponsesStreamSink(res, model, body, settings.keepalive_ms ?? undefined) : new ResponsesObjectSink(res, model, body);
    await runTurn(runOptions(prepared, signal, sink, body.stream === true));
  } catch (err) {
    failTurn(res, err);
  }
}

/** Responses' `text.format` (schema at its top level) in the chat API's response_format shape. */
function textFormat(body: ResponsesRequest): { type: string; json_schema: { schema?: unknown } } | undefined {
  const text = body.text as { format?: { type?: unknown; schema?: unknown } } | null | undefined;
  const format = text?.format;
  return format && typeof format.type === 'string' ? { type: format.type, json_schema: { schema: format.schema } } : undefined;
}

/** Streams the answer as Responses events: reasoning items, a message, then the function calls. */
class ResponsesStreamSink extends StreamingSink {
  private readonly builder: ResponseBuilder;

  constructor(res: Response, model: string, body: ResponsesRequest, keepaliveMs: number | undefined) {
    let builder: ResponseBuilder | undefined;
    super(res, keepaliveMs, () => `event: keepalive\ndata: {"type":"keepalive","sequence_number":${builder!.nextSeq()}}\n\n`);
    this.builder = builder = new ResponseBuilder(model, body, (type, data) => this.writer.event(type, JSON.stringify(data)));
  }

  protected override opened(): void {
    this.builder.started();
  }
  reasoning(text: string): void {
    this.builder.event({ type: 'reasoning', text });
  }
  protected writeContent(text: string): void {
    this.builder.event({ type: 'content', text });
  }
  toolCall(call: AnswerToolCall): void {
    this.builder.event({ type: 'tool_call', index: call.index, id: call.id, name: call.name, args: call.arguments });
  }
  finish(reason: FinishReason, usage: OpenAIUsage): void {
    this.builder.finish(usage, reason);
    this.writer.end();
  }
  override fail(error: TranslatorError): void {
    const body = streamErrorBody(error.code, error.message, error.status);
    this.builder.failed({ code: body.error.code ?? 'upstream_error', message: body.error.message });
    this.writer.end();
  }
}

/** Collects the answer; the response object is built at the end (moderation may replace the text). */
class ResponsesObjectSink extends CollectingSink {
  constructor(
    res: Response,
    private readonly model: string,
    private readonly body: ResponsesRequest,
  ) {
    super(res);
  }

  protected render(reason: FinishReason, usage: OpenAIUsage): string {
    const builder = new ResponseBuilder(this.model, this.body);
    if (this.reasoningText) builder.event({ type: 'reasoning', text: this.reasoningText });
    // An empty answer is still one (empty) message, as OpenAI answers it.
    if (this.text || this.calls.length === 0) builder.event({ type: 'content', text: this.text });
    for (const c of this.calls) builder.event({ type: 'tool_call', index: c.index, id: c.id, name: c.name, args: c.arguments });
    return JSON.stringify(builder.finish(usage, reason));
  }
}
