/**
 * Plans one turn: what goes upstream (query, inputs, files, conversation) for an OpenAI history,
 * under the endpoint's memory mode (DESIGN.md "Conversation continuity").
 *
 * auto: the history up to the last assistant message is fingerprinted within the scope
 *   (endpoint + client key hash + OpenAI user). A stored fingerprint continues that Dify
 *   conversation with only the new message(s); a miss starts a new conversation seeded with the
 *   flattened history. After the answer, the history including the answer is stored.
 * history: every turn a new conversation with the flattened history.
 * last: every turn a new conversation with the last user message only.
 * Completion and workflow apps have no conversations: always flattened.
 */
import type { AppHandle, AppInfo, AppParameters, AppRunRequest, DifyFileInput } from '../../backend/types.js';
import { defaultInputs, fileInputOf, hasConversation, textInputVariable } from '../../dify/app-inputs.js';
import { stripChatPlatformMetadata } from '../../dify/input-filter.js';
import { ConversationStore } from '../../memory/conversation-store.js';
import { fingerprint, shortHash, type HistoryTurn } from '../../memory/fingerprint.js';
import { invalidRequest, unsupported } from '../../openai/errors.js';
import { memoized } from '../../util/memoize.js';
import { DownloadError, downloadPublic } from '../../util/public-download.js';
import type { FunctionTool, NormalizedMessage, ToolChoice } from '../../openai/schemas.js';
import { buildToolPrompt, renderToolTurns } from '../../openai/tool-emulation.js';
import type { ChatAppSettings } from './settings.js';

export interface TurnInput {
  settings: ChatAppSettings;
  endpointId: string;
  app: { handle: AppHandle; info: AppInfo; parameters: AppParameters | undefined };
  messages: NormalizedMessage[];
  tools: FunctionTool[];
  toolChoice: ToolChoice;
  /** Whether tool calls are emulated this turn (tools present, setting on, choice not none). */
  emulateTools: boolean;
  clientKey: string;
  openaiUser: string | undefined;
  pinnedConversationId: string | undefined;
  store: ConversationStore;
  /** Extra instruction for this turn (response_format), put before the message like the tool prompt. */
  instruction?: string;
  /** App variables the client set (the non-standard `inputs` body field); over the app's defaults. */
  inputs?: Record<string, unknown>;
}

export interface TurnPlan {
  request: Omit<AppRunRequest, 'streaming'>;
  /** Set when continuing a stored conversation: how to start over if Dify lost it. */
  fallback?: Omit<AppRunRequest, 'streaming'>;
  continued: boolean;
  /** What to store after a successful answer (auto mode, chat-family apps). */
  remember?: { scope: string; turns: HistoryTurn[] };
  /** Byte size of the text sent upstream (query + inputs), for tests and logs. */
  upstreamChars: number;
}

function toTurn(m: NormalizedMessage): HistoryTurn {
  const t: HistoryTurn = { role: m.role, text: m.text };
  if (m.toolCalls) t.toolCalls = m.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments }));
  if (m.images.length > 0) t.images = m.images.map((i) => i.url);
  return t;
}

/** OpenAI-shaped messages for the tool-emulation renderer. */
function asOpenAIMessages(ms: NormalizedMessage[]): Array<Record<string, unknown>> {
  return ms.map((m) => {
    const o: Record<string, unknown> = { role: m.role, content: m.text };
    if (m.toolCalls) {
      o.content = m.text || null;
      o.tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
    }
    if (m.toolCallId) o.tool_call_id = m.toolCallId;
    if (m.name) o.name = m.name;
    return o;
  });
}

function userText(m: NormalizedMessage, settings: ChatAppSettings): string {
  return settings.strip_platform_metadata ? stripChatPlatformMetadata(m.text) : m.text;
}

/** Renders a stretch of non-system messages as text: plain turns as "Role: text", tool turns via tool-emulation. */
function renderTurns(ms: NormalizedMessage[], settings: ChatAppSettings, labels: boolean): string {
  const out: string[] = [];
  let toolRun: NormalizedMessage[] = [];
  const flushTools = () => {
    if (toolRun.length > 0) out.push(renderToolTurns(asOpenAIMessages(toolRun) as never));
    toolRun = [];
  };
  for (const m of ms) {
    if (m.role === 'tool' || (m.role === 'assistant' && m.toolCalls)) {
      toolRun.push(m);
      continue;
    }
    flushTools();
    if (m.role === 'system') continue;
    const text = m.role === 'user' ? userText(m, settings) : m.text;
    if (!labels) out.push(text);
    else out.push(`${m.role === 'user' ? 'User' : 'Assistant'}: ${text}`);
  }
  flushTools();
  return out.filter((s) => s !== '').join('\n\n');
}

function systemText(messages: NormalizedMessage[]): string {
  return messages
    .filter((m) => m.role === 'system')
    .map((m) => m.text)
    .filter(Boolean)
    .join('\n\n');
}

/** The query for a new conversation: history (if any) flattened, then the current message(s). */
function seedQuery(messages: NormalizedMessage[], settings: ChatAppSettings): string {
  const nonSystem = messages.filter((m) => m.role !== 'system');
  let lastAssistant = -1;
  for (let i = nonSystem.length - 1; i >= 0; i--) if (nonSystem[i]!.role === 'assistant') { lastAssistant = i; break; }
  // Current = everything after the last plain assistant answer (user turns, tool results).
  let cut = nonSystem.length;
  while (cut > 0 && nonSystem[cut - 1]!.role !== 'assistant') cut--;
  if (cut > 0 && nonSystem[cut - 1]!.toolCalls) {
    // tool round trip in progress: include the assistant's calls with their results
    cut--;
  }
  const history = nonSystem.slice(0, cut);
  const current = nonSystem.slice(cut);
  void lastAssistant;
  const currentText = renderTurns(current, settings, false);
  if (history.length === 0) return currentText;
  return `Here is the conversation so far:\n\n<history>\n${renderTurns(history, settings, true)}\n</history>\n\nReply to the latest message:\n\n${currentText}`;
}

function withPrefix(prefix: string, query: string): string {
  if (!prefix) return query;
  return query ? `${prefix}\n\n${query}` : prefix;
}

/**
 * App variables from the request body's `inputs` (not an OpenAI field: the SDKs send it as an extra
 * body field). Values go to Dify as they are; Dify checks them against the app's form.
 */
export function clientInputs(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const inputs = body.inputs;
  if (inputs === undefined || inputs === null) return undefined;
  if (typeof inputs !== 'object' || Array.isArray(inputs)) {
    throw invalidRequest("'inputs' must be an object that maps the app's input variables to values.", 'inputs', 'invalid_type');
  }
  return inputs as Record<string, unknown>;
}

/**
 * The non-standard body `conversation_id`: the same pin as the X-Dify-Conversation-Id header, for
 * clients and gateways that can set body fields but not headers.
 */
export function clientConversationId(body: Record<string, unknown>): string | undefined {
  const id = body.conversation_id;
  if (id === undefined || id === null || id === '') return undefined;
  if (typeof id !== 'string') throw invalidRequest("'conversation_id' must be a string (a Dify conversation id).", 'conversation_id', 'invalid_type');
  return id.trim() || undefined;
}

/** Client-key and scope hashes, made once per distinct value (a server sees few keys and users). */
const clientKeyHash = memoized((key: string) => shortHash(key, 32), 10_000);
const scopeHash = memoized((scope: string) => shortHash(scope, 16), 10_000);

export function scopeOf(endpointId: string, clientKey: string, openaiUser: string | undefined): string {
  return `${endpointId}\u0000${clientKeyHash(clientKey)}\u0000${openaiUser ?? ''}`;
}

/** The Dify `user`: readable where the client named one, always separated by endpoint and key. */
export function difyUserOf(scope: string, openaiUser: string | undefined): string {
  const h = scopeHash(scope);
  const readable = (openaiUser ?? '').replace(/[^\w.@-]/g, '').slice(0, 64);
  return readable ? `${readable}-${h}` : `openai-${h}`;
}

export async function planTurn(t: TurnInput): Promise<TurnPlan> {
  const { settings, messages } = t;
  const chat = hasConversation(t.app.info.mode);
  const scope = scopeOf(t.endpointId, t.clientKey, t.openaiUser);
  const user = difyUserOf(scope, t.openaiUser);
  const sys = systemText(messages);
  const sysMode = settings.system_prompt;
  const sysVar = settings.system_prompt_variable;
  const inputs = { ...defaultInputs(t.app.parameters), ...t.inputs };
  let prefix = '';
  if (sys) {
    if (sysMode === 'input') {
      if (!sysVar) {
        prefix = sys; // misconfigured: better prefixed than lost
      } else inputs[sysVar] = sys;
    } else if (sysMode === 'prefix') prefix = sys;
  }
  const toolPrompt = withPrefix(t.emulateTools ? buildToolPrompt(t.tools as never, t.toolChoice as never) : '', t.instruction ?? '');

  if (!messages.some((m) => m.role === 'user' || m.role === 'tool')) {
    throw invalidRequest("'messages' must contain at least one user message.", 'messages');
  }

  // Which messages go upstream this turn, and with which conversation.
  let conversationId: string | undefined;
  let continued = false;
  let query: string;
  let fallbackQuery: string | undefined;
  let lastAssistant = -1;
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'assistant') { lastAssistant = i; break; }
  const tail = messages.slice(lastAssistant + 1).filter((m) => m.role !== 'system');
  const tailImages = tail.flatMap((m) => m.images);

  const mode = chat ? settings.memory_mode : 'history';
  if (chat && t.pinnedConversationId) {
    conversationId = t.pinnedConversationId;
    continued = true;
    query = withPrefix(toolPrompt, renderTail(messages, lastAssistant, settings));
  } else if (mode === 'auto' && chat) {
    if (lastAssistant >= 0) {
      const fp = fingerprint(scope, messages.slice(0, lastAssistant + 1).map(toTurn));
      // A store outage costs memory, not the answer: treat it as a miss.
      const hit = await t.store.continuation(fp).catch(() => null);
      if (hit) {
        conversationId = hit.conversationId;
        continued = true;
      }
    }
    const seeded = withPrefix(toolPrompt, withPrefix(prefix, seedQuery(messages, settings)));
    if (continued) {
      query = withPrefix(toolPrompt, renderTail(messages, lastAssistant, settings));
      fallbackQuery = seeded;
    } else query = seeded;
  } else if (mode === 'last') {
    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    const current = tail.some((m) => m.role === 'tool') ? renderTail(messages, lastAssistant, settings) : lastUser ? userText(lastUser, settings) : '';
    query = withPrefix(toolPrompt, withPrefix(prefix, current));
  } else {
    query = withPrefix(toolPrompt, withPrefix(prefix, seedQuery(messages, settings)));
  }

  const files = await filesFor(t, tailImages, user, inputs);

  const base: Omit<AppRunRequest, 'streaming' | 'query'> = { inputs, user };
  if (files.length > 0) base.files = files;
  let request: Omit<AppRunRequest, 'streaming'>;
  let fallback: Omit<AppRunRequest, 'streaming'> | undefined;
  if (chat) {
    request = { ...base, query };
    if (conversationId) request.conversationId = conversationId;
    if (fallbackQuery !== undefined && !t.pinnedConversationId) fallback = { ...base, query: fallbackQuery };
  } else {
    const taken = new Set(Object.keys(t.inputs ?? {}));
    if (sysMode === 'input' && sysVar) taken.add(sysVar);
    const v = textInputVariable(t.app.parameters, taken);
    request = { ...base, inputs: { ...inputs, [v]: query } };
    if (t.app.info.mode === 'completion') request.query = query;
  }
  const plan: TurnPlan = {
    request,
    continued,
    upstreamChars: query.length + JSON.stringify(inputs).length,
  };
  if (fallback) plan.fallback = fallback;
  if (chat && (mode === 'auto' || t.pinnedConversationId)) plan.remember = { scope, turns: messages.map(toTurn) };
  return plan;
}

/** Messages after the last assistant turn (plus that turn when it called tools) as the next query. */
function renderTail(messages: NormalizedMessage[], lastAssistant: number, settings: ChatAppSettings): string {
  const from = lastAssistant >= 0 && messages[lastAssistant]!.toolCalls ? lastAssistant : lastAssistant + 1;
  return renderTurns(messages.slice(from).filter((m) => m.role !== 'system'), settings, false);
}

/** Stores the turn's history + answer so the next request continues the same Dify conversation. */
export async function rememberTurn(
  store: ConversationStore,
  remember: NonNullable<TurnPlan['remember']>,
  answer: HistoryTurn,
  conversationId: string,
  messageId: string | undefined,
  continued: boolean,
): Promise<void> {
  const fp = fingerprint(remember.scope, [...remember.turns, answer]);
  await store.remember(fp, messageId ? { conversationId, messageId } : { conversationId }, continued);
}

const DATA_URL = /^data:([^;,]+)?(?:;[^,]*)?;base64,(.*)$/s;

async function filesFor(t: TurnInput, images: Array<{ url: string; param: string }>, user: string, inputs: Record<string, unknown>): Promise<DifyFileInput[]> {
  if (images.length === 0) return [];
  const handle = t.app.handle;
  const first = images[0]!;
  if (handle.fileTransfer === 'none') {
    throw unsupported(
      'This endpoint cannot pass images to the Dify app (the host has no way to attach files). Send text only.',
      `${first.param}.type`,
      'unsupported_value',
    );
  }
  const upload = async (img: { url: string; param: string }): Promise<string> => {
    if (!handle.uploadFile) {
      throw unsupported('This endpoint cannot upload images to the Dify app.', `${img.param}.type`, 'unsupported_value');
    }
    let data: Uint8Array;
    let mimeType: string;
    const m = DATA_URL.exec(img.url);
    if (m) {
      mimeType = m[1] || 'image/png';
      data = Buffer.from(m[2]!, 'base64');
    } else if (/^https?:\/\//i.test(img.url)) {
      // The host downloads it on the client's behalf: never from its own network unless allowed.
      const got = await downloadPublic(img.url, { allowPrivate: t.settings.allow_private_image_urls }).catch((err: unknown) => {
        const why = err instanceof DownloadError ? `: ${err.message}` : '';
        throw invalidRequest(`Could not download the image at '${img.param}.image_url.url'${why}.`, `${img.param}.image_url.url`);
      });
      mimeType = got.mimeType || 'image/png';
      data = got.data;
    } else {
      throw invalidRequest('image_url.url must be an http(s) URL or a base64 data URL.', `${img.param}.image_url.url`);
    }
    const ext = mimeType.split('/')[1]?.replace(/[^a-z0-9]/gi, '') || 'png';
    const { id } = await handle.uploadFile({ data, filename: `image.${ext}`, mimeType }, user);
    return id;
  };

  if (handle.fileTransfer === 'upload_only') {
    // The plugin host's app invocation carries no files: they go in through the app's file input.
    const field = fileInputOf(t.app.parameters);
    if (!field) {
      throw unsupported(
        "Images cannot be passed to this Dify app from a plugin endpoint: Dify's app invocation for plugins carries no files, and the app has no file input variable to receive them. Add a file input to the app, or send text only.",
        `${first.param}.type`,
        'unsupported_value',
      );
    }
    const objs = [];
    for (const img of field.list ? images : images.slice(0, 1)) {
      objs.push({ type: 'image', transfer_method: 'local_file', upload_file_id: await upload(img) });
    }
    inputs[field.variable] = field.list ? objs : objs[0];
    return [];
  }
  const out: DifyFileInput[] = [];
  for (const img of images) {
    if (/^https?:\/\//i.test(img.url)) out.push({ type: 'image', transfer_method: 'remote_url', url: img.url });
    else out.push({ type: 'image', transfer_method: 'local_file', upload_file_id: await upload(img) });
  }
  return out;
}
