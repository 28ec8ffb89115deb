/** POST /v1/chat/completions over a Dify app: validation, planning, and the two answer sinks. */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import { clientAbortSignal, endpointContext } from '../../host/context.js';
import { ConversationStore } from '../../memory/conversation-store.js';
import { ChatChunkBuilder, chatCompletion, newCompletionId, type FinishReason, type OpenAIUsage, type ToolCall } from '../../openai/chat-chunks.js';
import { sendError, unsupported } from '../../openai/errors.js';
import { chatRequestSchema, normalizeMessages, normalizeTools, rejectUnsupported, responseFormatHint, zodToError } from '../../openai/schemas.js';
import { DEFAULT_KEEPALIVE_MS } from '../../openai/sse.js';
import { stopList } from '../../openai/stop-sequences.js';
import { appParameters, resolveApp } from './apps.js';
import { chatAppError } from './errors.js';
import { authenticate, prepareResponse, readJsonBody } from './http.js';
import { clientConversationId, clientInputs, planTurn } from './plan.js';
import { runTurn, type AnswerSink } from './run.js';
import { CollectingSink, StreamingSink, type AnswerToolCall } from './sinks.js';
import { parseSettings, type ChatAppSettings } from './settings.js';
import type { NormalizedMessage, FunctionTool, ToolChoice } from '../../openai/schemas.js';
import type { EndpointContext } from '../../host/context.js';
import type { ResolvedApp } from './apps.js';
import type { TurnPlan } from './plan.js';

export { CONVERSATION_HEADER } from './sinks.js';

/** Everything both APIs (chat completions, responses) need to run a turn. */
export interface PreparedTurn {
  ctx: EndpointContext;
  settings: ChatAppSettings;
  app: ResolvedApp & { key: string };
  plan: TurnPlan;
  emulateTools: boolean;
  toolNames: string[];
  store: ConversationStore;
  /** Append the app's citations: not to structured (JSON) answers, nor to a legacy completion's text. */
  citations: boolean;
}

/**
 * Open WebUI (ENABLE_FORWARD_USER_INFO_HEADERS) names its signed-in user in a header instead of the
 * body's `user`: it scopes memory and names the Dify end user the same way.
 */
function forwardedUser(req: Request): string | undefined {
  const v = req.headers['x-openwebui-user-id'];
  const s = Array.isArray(v) ? v[0] : v;
  return s && s.trim() ? s.trim().slice(0, 200) : undefined;
}

export function conversationHeader(req: Request): string | undefined {
  const v = req.headers['x-dify-conversation-id'];
  const s = Array.isArray(v) ? v[0] : v;
  return s && s.trim() ? s.trim() : undefined;
}

/** Auth + settings; the first step of every route. */
export function authorize(req: Request, res: Response): { ctx: EndpointContext; settings: ChatAppSettings; key: string } {
  const ctx = endpointContext(res);
  const settings = parseSettings(ctx.settings);
  const key = authenticate(req, settings.api_key);
  return { ctx, settings, key };
}

/** The first steps of every POST route: auth, settings, then the JSON body validated by `schema`. */
export async function openRequest<T>(req: Request, res: Response, schema: z.ZodType<T>): Promise<{ auth: ReturnType<typeof authorize>; body: T }> {
  const auth = authorize(req, res);
  const parsed = schema.safeParse(await readJsonBody(req));
  if (!parsed.success) throw zodToError(parsed.error);
  return { auth, body: parsed.data };
}

/**
 * Resolves the app and plans the turn. From the validated `body` it takes what every API shares:
 * `model`, `user` (or `safety_identifier`), the non-standard `inputs` and `conversation_id`.
 * `oneShot`: the turn neither continues nor is remembered (the legacy completions API).
 */
export async function prepareTurn(args: {
  req: Request;
  ctx: EndpointContext;
  settings: ChatAppSettings;
  key: string;
  body: { model: string; user?: string | null | undefined; safety_identifier?: string | null | undefined } & Record<string, unknown>;
  messages: NormalizedMessage[];
  tools: FunctionTool[];
  toolChoice: ToolChoice;
  instruction?: string | undefined;
  oneShot?: boolean;
}): Promise<PreparedTurn> {
  const { ctx, settings, body } = args;
  const inputs = clientInputs(body);
  const pinned = args.oneShot ? undefined : (conversationHeader(args.req) ?? clientConversationId(body));
  const app = await resolveApp(ctx, settings, body.model);
  // Parameters give completion/workflow apps their text input, default inputs and file inputs.
  const parameters = await appParameters(ctx, app.handle, app.key).catch(() => undefined);
  const forced = args.toolChoice === 'required' || typeof args.toolChoice === 'object';
  const emulateTools = settings.tool_emulation && args.tools.length > 0 && args.toolChoice !== 'none';
  if (forced && !settings.tool_emulation) {
    throw unsupported('tool_choice forces a tool call, but tool calling is switched off for this endpoint.', 'tool_choice', 'unsupported_value');
  }
  const store = new ConversationStore(ctx.store);
  const plan = await planTurn({
    settings,
    endpointId: ctx.endpointId,
    app: { handle: app.handle, info: app.info, parameters },
    messages: args.messages,
    tools: args.tools,
    toolChoice: args.toolChoice,
    emulateTools,
    clientKey: args.key,
    openaiUser: body.user ?? body.safety_identifier ?? forwardedUser(args.req),
    pinnedConversationId: pinned,
    store,
    ...(args.instruction ? { instruction: args.instruction } : {}),
    ...(inputs ? { inputs } : {}),
  });
  if (args.oneShot) delete plan.remember;
  const citations = settings.citations && !args.oneShot && !args.instruction;
  return { ctx, settings, app, plan, emulateTools, toolNames: args.tools.map((t) => t.function.name), store, citations };
}

const ALWAYS_STREAMED = new Set(['agent-chat', 'agent']);

export function runOptions(p: PreparedTurn, signal: AbortSignal, sink: AnswerSink, clientStreams: boolean, stop: string[] = []) {
  return {
    ...(stop.length > 0 ? { stop } : {}),
    upstreamStreaming: clientStreams || ALWAYS_STREAMED.has(p.app.info.mode),
    handle: p.app.handle,
    info: p.app.info,
    plan: p.plan,
    sink,
    signal,
    reasoningOutput: p.settings.reasoning_output,
    ...(p.settings.workflow_progress ? { progress: true } : {}),
    ...(p.citations ? { citations: true } : {}),
    emulateTools: p.emulateTools,
    toolNames: p.toolNames,
    store: p.store,
    // Until the first answer token the response stays uncommitted (a failure is still an HTTP
    // error); a slow app gets its headers and keepalives when the keepalive interval passes.
    commitWaitMs: p.settings.first_event_wait_ms ?? p.settings.keepalive_ms ?? DEFAULT_KEEPALIVE_MS,
    ...(p.settings.files_base_url ? { filesBaseUrl: p.settings.files_base_url } : {}),
    // Resolved on use: the host may make a per-request logger lazily, and most turns log nothing.
    log: { warn: (obj: unknown, msg?: string) => p.ctx.log.warn(obj, msg) },
  };
}

export async function chatCompletions(req: Request, res: Response): Promise<void> {
  prepareResponse(req, res);
  try {
    const { auth, body } = await openRequest(req, res, chatRequestSchema);
    const { settings } = auth;
    rejectUnsupported(body);
    const messages = normalizeMessages(body.messages);
    const { tools, toolChoice, legacyFunctions } = normalizeTools(body);
    const prepared = await prepareTurn({
      req,
      ...auth,
      body,
      messages,
      tools,
      toolChoice,
      instruction: responseFormatHint(body.response_format),
    });
    const signal = clientAbortSignal(req, res);
    const model = prepared.app.modelId;
    if (body.stream) {
      const sink = new ChatStreamSink(res, model, body.stream_options?.include_usage === true, settings.keepalive_ms ?? undefined);
      await runTurn(runOptions(prepared, signal, sink, true, stopList(body.stop)));
    } else {
      const sink = new ChatObjectSink(res, model, legacyFunctions);
      await runTurn(runOptions(prepared, signal, sink, false, stopList(body.stop)));
    }
  } catch (err) {
    failTurn(res, err);
  }
}

/** A turn that threw: the error in OpenAI's envelope if nothing was sent yet, else the end of the response. */
export function failTurn(res: Response, err: unknown): void {
  if (!res.headersSent) sendError(res, chatAppError(err));
  else if (!res.writableEnded) res.end();
  logUnexpected(res, err);
}

export function logUnexpected(res: Response, err: unknown): void {
  if (err && typeof err === 'object' && ('status' in err || 'code' in err)) return;
  try {
    endpointContext(res).log.error({ err: err instanceof Error ? err.message : String(err) }, 'chat-app handler failed');
  } catch {
    /* no context: nothing to log to */
  }
}

/** Streams chat.completion.chunk objects (openai-compat.md §3.3). */
export class ChatStreamSink extends StreamingSink {
  private readonly chunks: ChatChunkBuilder;

  constructor(
    res: Response,
    model: string,
    private readonly includeUsage: boolean,
    keepaliveMs: number | undefined,
  ) {
    super(res, keepaliveMs);
    this.chunks = new ChatChunkBuilder(newCompletionId(), model);
  }

  protected override opened(): void {
    this.writer.data(this.chunks.role());
  }
  reasoning(text: string): void {
    this.writer.data(this.chunks.reasoning(text));
  }
  protected writeContent(text: string): void {
    this.writer.data(this.chunks.content(text));
  }
  toolCall(call: AnswerToolCall): void {
    this.writer.data(this.chunks.toolCallStart(call.index, call.id, call.name, ''));
    if (call.arguments) this.writer.data(this.chunks.toolCallArgs(call.index, call.arguments));
  }
  finish(reason: FinishReason, usage: OpenAIUsage): void {
    this.writer.data(this.chunks.finish(reason));
    if (this.includeUsage) this.writer.data(this.chunks.usage(usage));
    this.writer.done();
  }
}

/** Collects the answer into one chat.completion object. */
export class ChatObjectSink extends CollectingSink {
  constructor(
    res: Response,
    private readonly model: string,
    private readonly legacyFunctions: boolean,
  ) {
    super(res);
  }

  protected render(reason: FinishReason, usage: OpenAIUsage): string {
    const toolCalls: ToolCall[] = this.calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
    const obj = chatCompletion({
      id: newCompletionId(),
      model: this.model,
      content: this.text,
      reasoning: this.reasoningText,
      toolCalls,
      finishReason: reason,
      usage,
    });
    if (this.legacyFunctions && toolCalls.length > 0) {
      const choice = (obj.choices as Array<Record<string, unknown>>)[0]!;
      const message = choice.message as Record<string, unknown>;
      message.function_call = toolCalls[0]!.function;
      delete message.tool_calls;
      choice.finish_reason = 'function_call';
    }
    return JSON.stringify(obj);
  }
}
