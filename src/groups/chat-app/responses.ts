/** POST /v1/responses over a Dify app: the subset Codex, openai-node and the AI SDK use. */
import type { Request, Response } from 'express';
import { clientAbortSignal } from '../../host/context.js';
import type { FinishReason, OpenAIUsage } from '../../openai/chat-chunks.js';
import { fromStreamError, sendError, streamErrorBody } from '../../openai/errors.js';
import {
  ResponseState,
  ResponsesStreamWriter,
  rejectUnsupportedResponses,
  responsesInputToMessages,
  responsesRequestSchema,
  responsesTools,
  responsesUsage,
} from '../../openai/responses.js';
import { normalizeMessages, zodToError } from '../../openai/schemas.js';
import type { TranslatorError } from '../../dify/translator.js';
import { authorize, CONVERSATION_HEADER, failTurn, prepareTurn, runOptions } from './chat-completions.js';
import { sendJson } from '../../openai/json-response.js';
import { prepareResponse, readJsonBody } from './http.js';
import { runTurn, type AnswerSink } from './run.js';

export async function responses(req: Request, res: Response): Promise<void> {
  prepareResponse(req, res);
  try {
    const { ctx, settings, key } = authorize(req, res);
    const parsed = responsesRequestSchema.safeParse(await readJsonBody(req));
    if (!parsed.success) throw zodToError(parsed.error);
    const body = parsed.data;
    rejectUnsupportedResponses(body);
    const messages = normalizeMessages(responsesInputToMessages(body));
    const { tools, toolChoice } = responsesTools(body);
    const prepared = await prepareTurn({
      req,
      ctx,
      settings,
      key,
      model: body.model,
      messages,
      tools,
      toolChoice,
      user: body.user ?? body.safety_identifier ?? undefined,
    });
    const state = new ResponseState(prepared.app.modelId, body);
    const signal = clientAbortSignal(req, res);
    const sink = body.stream ? new ResponsesStreamSink(res, state, settings.keepalive_ms ?? undefined) : new ResponsesObjectSink(res, state);
    await runTurn(runOptions(prepared, signal, sink, body.stream === true));
  } catch (err) {
    failTurn(res, err);
  }
}

class ResponsesStreamSink implements AnswerSink {
  private readonly w: ResponsesStreamWriter;
  private sentText = false;
  constructor(res: Response, state: ResponseState, keepaliveMs: number | undefined) {
    this.w = new ResponsesStreamWriter(res, state, keepaliveMs);
  }
  start(meta: { conversationId: string | undefined }): void {
    this.w.start(meta.conversationId ? { [CONVERSATION_HEADER]: meta.conversationId } : {});
  }
  reasoning(): void {
    /* reasoning is not surfaced on the Responses API subset */
  }
  content(text: string): void {
    this.sentText = true;
    this.w.text_(text);
  }
  toolCall(call: { id: string; name: string; arguments: string }): void {
    this.w.functionCall(call.id, call.name, call.arguments);
  }
  replace(text: string): void {
    this.content(this.sentText ? `\n\n${text}` : text);
  }
  finish(_reason: FinishReason, usage: OpenAIUsage): void {
    this.w.complete(usage);
  }
  fail(error: TranslatorError): void {
    const body = streamErrorBody(error.code, error.message, error.status);
    this.w.fail(body.error.code ?? 'upstream_error', body.error.message);
  }
}

class ResponsesObjectSink implements AnswerSink {
  private text = '';
  private readonly calls: Array<{ id: string; name: string; arguments: string }> = [];
  private conversationId: string | undefined;
  constructor(
    private readonly res: Response,
    private readonly state: ResponseState,
  ) {}
  start(meta: { conversationId: string | undefined }): void {
    this.conversationId = meta.conversationId;
  }
  reasoning(): void {}
  content(text: string): void {
    this.text += text;
  }
  toolCall(call: { id: string; name: string; arguments: string }): void {
    this.calls.push(call);
  }
  replace(text: string): void {
    this.text = text;
  }
  finish(_reason: FinishReason, usage: OpenAIUsage): void {
    if (this.text || this.calls.length === 0) {
      const m = this.state.newMessage();
      m.content = [{ type: 'output_text', text: this.text, annotations: [], logprobs: [] }];
      m.status = 'completed';
    }
    for (const c of this.calls) this.state.newFunctionCall(c.id, c.name, c.arguments);
    this.state.status = 'completed';
    this.state.usage = responsesUsage(usage);
    if (this.conversationId) this.res.setHeader(CONVERSATION_HEADER, this.conversationId);
    sendJson(this.res, 200, JSON.stringify(this.state.toJSON()));
  }
  fail(error: TranslatorError): void {
    sendError(this.res, fromStreamError(error.code, error.message, error.status));
  }
}
