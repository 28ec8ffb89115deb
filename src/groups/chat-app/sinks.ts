/**
 * What the answer sinks of the three APIs (chat completions, responses, legacy completions) share.
 * A client that did not stream gets the answer gathered whole (CollectingSink: each API renders its
 * object from it at the end); a streaming client gets it as it comes (StreamingSink: each API writes
 * its own events). Either way the conversation id goes out as a response header.
 */
import type { Response } from 'express';
import type { TranslatorError } from '../../dify/translator.js';
import type { FinishReason, OpenAIUsage } from '../../openai/chat-chunks.js';
import { fromStreamError, sendError, streamErrorBody } from '../../openai/errors.js';
import { sendJson } from '../../openai/json-response.js';
import { SseWriter } from '../../openai/sse.js';
import type { AnswerSink } from './run.js';

export const CONVERSATION_HEADER = 'X-Dify-Conversation-Id';

export interface AnswerToolCall {
  index: number;
  id: string;
  name: string;
  arguments: string;
}

export abstract class CollectingSink implements AnswerSink {
  protected text = '';
  protected reasoningText = '';
  protected readonly calls: AnswerToolCall[] = [];
  private conversationId: string | undefined;

  constructor(protected readonly res: Response) {}

  start(meta: { conversationId: string | undefined }): void {
    this.conversationId = meta.conversationId;
  }
  reasoning(text: string): void {
    this.reasoningText += text;
  }
  content(text: string): void {
    this.text += text;
  }
  toolCall(call: AnswerToolCall): void {
    this.calls.push(call);
  }
  /** Moderation replaced the answer: the object carries only the replacement. */
  replace(text: string): void {
    this.text = text;
  }
  finish(reason: FinishReason, usage: OpenAIUsage): void {
    const body = this.render(reason, usage);
    if (this.conversationId) this.res.setHeader(CONVERSATION_HEADER, this.conversationId);
    sendJson(this.res, 200, body);
  }
  fail(error: TranslatorError): void {
    sendError(this.res, fromStreamError(error.code, error.message, error.status));
  }

  /** The API's whole response body, as JSON text. */
  protected abstract render(reason: FinishReason, usage: OpenAIUsage): string;
}

export abstract class StreamingSink implements AnswerSink {
  private sentText = false;
  protected readonly writer: SseWriter;

  /** `keepaliveFrame`: the API's own keepalive (Responses events carry a sequence number). */
  constructor(res: Response, keepaliveMs: number | undefined, keepaliveFrame?: () => string) {
    this.writer = new SseWriter(res, { ...(keepaliveMs ? { keepaliveMs } : {}), ...(keepaliveFrame ? { keepaliveFrame } : {}) });
  }

  start(meta: { conversationId: string | undefined }): void {
    this.writer.start(meta.conversationId ? { [CONVERSATION_HEADER]: meta.conversationId } : {});
    this.opened();
  }
  content(text: string): void {
    this.sentText = true;
    this.writeContent(text);
  }
  /** A stream cannot retract text: the replacement follows what was sent. */
  replace(text: string): void {
    this.content(this.sentText ? `\n\n${text}` : text);
  }
  fail(error: TranslatorError): void {
    this.writer.error(streamErrorBody(error.code, error.message, error.status));
  }

  /** Right after the headers: an API's opening events. */
  protected opened(): void {}
  protected abstract writeContent(text: string): void;
  abstract reasoning(text: string): void;
  abstract toolCall(call: AnswerToolCall): void;
  abstract finish(reason: FinishReason, usage: OpenAIUsage): void;
}
