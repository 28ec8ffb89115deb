/**
 * Faithful Dify app event streams, built from the reference fixtures F1-F7
 * (../shared/reference/dify-service-api.md §2.4, §2.5, §4, §8): field names and order as Dify
 * produces them, per app mode and scenario, for any answer text.
 *
 * Everything here is plain data: arrays of event objects (`{event: 'ping'}` stands for an
 * `event: ping` frame). `frame()` serialises one the way a given Dify build does (compact orjson or
 * the legacy spaced, ASCII-escaped json.dumps style). `blockingBody()` gives the blocking response.
 *
 * Used by the chat-app tests (through an in-process AppHandle), by the standalone fake Service API
 * and by the benchmarks. Erasable TypeScript only and no runtime imports from src/, so plain
 * `node` can import it.
 */
import { randomUUID } from 'node:crypto';

export type AppModeName = 'chat' | 'agent-chat' | 'advanced-chat' | 'completion' | 'workflow';
export type FakeEvent = Record<string, unknown> & { event: string };

export interface UsageNumbers {
  prompt_tokens: number;
  completion_tokens: number;
}

export interface StreamOptions {
  /** Answer text; split into `chunks` deltas (default: by words, ~3 words a delta). */
  answer?: string;
  chunks?: string[];
  conversationId?: string;
  messageId?: string;
  taskId?: string;
  workflowRunId?: string;
  createdAt?: number;
  usage?: UsageNumbers;
  /** Dify `user` (appears in workflow created_by / sys.user_id). */
  user?: string;
  /** The query as Dify received it (sys.query of chatflows). */
  query?: string;
  /** Workflow apps: the End node's output variable (default `result`). */
  outputVariable?: string;
  /** Chatflow: `message_end` before `workflow_finished` (2026 builds, default) or after (<= 1.8). */
  terminalOrder?: 'message_end_first' | 'workflow_finished_first';
  /** Chatflow/workflow: start with an `event: ping` frame (2026 builds). Default true. */
  leadingPing?: boolean;
}

const uuid = (): string => randomUUID();

/** Dify's usage object as message_end carries it (prices are strings). */
export function difyUsage(u: UsageNumbers, latency = 0.9127753349999999): Record<string, unknown> {
  const total = u.prompt_tokens + u.completion_tokens;
  return {
    prompt_tokens: u.prompt_tokens,
    prompt_unit_price: '0.15',
    prompt_price_unit: '0.000001',
    prompt_price: (u.prompt_tokens * 0.00000015).toFixed(7),
    completion_tokens: u.completion_tokens,
    completion_unit_price: '0.6',
    completion_price_unit: '0.000001',
    completion_price: (u.completion_tokens * 0.0000006).toFixed(7),
    total_tokens: total,
    total_price: (u.prompt_tokens * 0.00000015 + u.completion_tokens * 0.0000006).toFixed(7),
    currency: 'USD',
    latency,
    time_to_first_token: null,
    time_to_generate: null,
  };
}

/** Splits an answer into token-like deltas (words with their leading space). */
export function splitAnswer(answer: string, wordsPerChunk = 3): string[] {
  const words = answer.match(/\s*\S+/g) ?? [answer];
  const out: string[] = [];
  for (let i = 0; i < words.length; i += wordsPerChunk) out.push(words.slice(i, i + wordsPerChunk).join(''));
  if (out.length === 0) out.push('');
  return out;
}

/** A rough token count (chars / 4), enough for usage numbers that track input size. */
export function roughTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

interface Ids {
  conversationId: string;
  messageId: string;
  taskId: string;
  workflowRunId: string;
  createdAt: number;
}

function ids(o: StreamOptions): Ids {
  return {
    conversationId: o.conversationId ?? uuid(),
    messageId: o.messageId ?? uuid(),
    taskId: o.taskId ?? uuid(),
    workflowRunId: o.workflowRunId ?? uuid(),
    createdAt: o.createdAt ?? Math.floor(Date.now() / 1000),
  };
}

/** Common prefix of chat-family events: event, conversation_id, message_id, created_at, task_id. */
function chatPrefix(event: string, i: Ids): FakeEvent {
  return { event, conversation_id: i.conversationId, message_id: i.messageId, created_at: i.createdAt, task_id: i.taskId };
}

function usageOf(o: StreamOptions, answer: string): UsageNumbers {
  return o.usage ?? { prompt_tokens: roughTokens(o.query ?? 'hi') + 10, completion_tokens: roughTokens(answer) };
}

function chunksOf(o: StreamOptions): { answer: string; chunks: string[] } {
  if (o.chunks) return { answer: o.chunks.join(''), chunks: o.chunks };
  const answer = o.answer ?? "Hello! I'm doing well, thanks for asking. How can I help you today?";
  return { answer, chunks: splitAnswer(answer) };
}

/** `message` delta (chat, chatflow, completion). Completion apps have no conversation_id. */
export function messageEvent(i: Ids, answer: string, mode: AppModeName = 'chat'): FakeEvent {
  if (mode === 'completion') {
    return { event: 'message', message_id: i.messageId, created_at: i.createdAt, task_id: i.taskId, id: i.messageId, answer, from_variable_selector: null };
  }
  return { ...chatPrefix('message', i), id: i.messageId, answer, from_variable_selector: mode === 'advanced-chat' ? ['llm', 'text'] : null };
}

export function messageEndEvent(i: Ids, usage: UsageNumbers, mode: AppModeName = 'chat'): FakeEvent {
  const metadata = { annotation_reply: null, retriever_resources: [], usage: difyUsage(usage) };
  if (mode === 'completion') {
    return { event: 'message_end', message_id: i.messageId, created_at: i.createdAt, task_id: i.taskId, id: i.messageId, metadata, files: null };
  }
  return { ...chatPrefix('message_end', i), id: i.messageId, metadata, files: mode === 'advanced-chat' ? [] : null };
}

/** F1: chat app. `message`* -> `message_end`. */
export function chatStream(o: StreamOptions = {}): FakeEvent[] {
  const i = ids(o);
  const { answer, chunks } = chunksOf(o);
  return [...chunks.map((c) => messageEvent(i, c)), messageEndEvent(i, usageOf(o, answer))];
}

/** F1-reasoning: a chat app on a reasoning model, `<think>` inline, a ping in the middle. */
export function chatReasoningStream(o: StreamOptions & { reasoning?: string } = {}): FakeEvent[] {
  const i = ids(o);
  const reasoning = o.reasoning ?? 'The user asks what 17 × 23 is. 17 × 20 = 340, 17 × 3 = 51, so 391.';
  const answer = o.answer ?? '17 × 23 = **391**.';
  const r = splitAnswer(reasoning, 4);
  const events: FakeEvent[] = [messageEvent(i, '<think>\n' + r[0])];
  for (let k = 1; k < r.length; k++) {
    events.push(messageEvent(i, r[k]!));
    if (k === 1) events.push({ event: 'ping' });
  }
  events.push(messageEvent(i, '\n</think>\n\n'));
  for (const c of splitAnswer(answer, 3)) events.push(messageEvent(i, c));
  events.push(messageEndEvent(i, o.usage ?? { prompt_tokens: 15, completion_tokens: 212 }));
  return events;
}

/** Older stacks' thinking wrapper (`<details ...><summary> Thinking... </summary>` ... `</details>`). */
export const LEGACY_DETAILS_OPEN =
  '<details style="color:gray;background-color: #f8f8f8;padding: 8px;border-radius: 4px;" open> <summary> Thinking... </summary>\n';
export const LEGACY_DETAILS_CLOSE = '</details>';

export function chatLegacyThinkingStream(o: StreamOptions & { reasoning?: string } = {}): FakeEvent[] {
  const i = ids(o);
  const reasoning = o.reasoning ?? 'Thinking about the greeting.';
  const answer = o.answer ?? 'Hi there!';
  return [
    messageEvent(i, LEGACY_DETAILS_OPEN),
    ...splitAnswer(reasoning, 2).map((c) => messageEvent(i, c)),
    messageEvent(i, LEGACY_DETAILS_CLOSE),
    ...splitAnswer(answer, 2).map((c) => messageEvent(i, c)),
    messageEndEvent(i, usageOf(o, answer)),
  ];
}

/** F1-legacy: a 2024-era build: no from_variable_selector, metadata with usage only. Serialise with `frame(ev, 'legacy')`. */
export function chatLegacyStream(o: StreamOptions = {}): FakeEvent[] {
  const i = ids(o);
  const { answer, chunks } = chunksOf({ ...o, answer: o.answer ?? '你好！有什么可以帮你？', chunks: o.chunks ?? (o.answer ? undefined : ['你好', '！有什么', '可以帮你？']) } as StreamOptions);
  const u = usageOf(o, answer);
  const usage = difyUsage(u);
  delete usage.time_to_first_token;
  delete usage.time_to_generate;
  return [
    ...chunks.map((c) => ({ ...chatPrefix('message', i), id: i.messageId, answer: c })),
    { ...chatPrefix('message_end', i), id: i.messageId, metadata: { usage }, files: null },
  ];
}

/** F7: output moderation replaces the answer, then TTS events. */
export function chatReplaceStream(o: StreamOptions & { replacement?: string } = {}): FakeEvent[] {
  const i = ids(o);
  const { answer, chunks } = chunksOf(o);
  return [
    ...chunks.map((c) => messageEvent(i, c)),
    { ...chatPrefix('message_replace', i), answer: o.replacement ?? "Sorry, I can't help with that request.", reason: 'output_moderation' },
    messageEndEvent(i, usageOf(o, answer)),
    { ...chatPrefix('tts_message_end', i), audio: '' },
  ];
}

/** F5a: provider error after two deltas; no message_end. */
export function chatErrorMidStream(o: StreamOptions & { code?: string; status?: number; message?: string } = {}): FakeEvent[] {
  const i = ids(o);
  return [
    messageEvent(i, 'Sure, here'),
    messageEvent(i, ' is the summary'),
    {
      event: 'error',
      conversation_id: i.conversationId,
      message_id: i.messageId,
      created_at: i.createdAt,
      code: o.code ?? 'completion_request_error',
      status: o.status ?? 400,
      message:
        o.message ??
        '[openai_api_compatible] Error: PluginInvokeError: {"args":{"description":"[models] Error: API request failed with status code 429"},"error_type":"InvokeRateLimitError","message":"[models] Error: API request failed with status code 429"}',
    },
  ];
}

/** F2: agent-chat: empty thought, tool call (dalle3), message_file, observation, final answer. */
export function agentChatStream(o: StreamOptions & { imageUrl?: string; tool?: string } = {}): FakeEvent[] {
  const i = ids(o);
  const tool = o.tool ?? 'dalle3';
  const t1 = uuid();
  const t2 = uuid();
  const fileId = uuid();
  const url =
    o.imageUrl ??
    'https://dify.example.com/files/tools/92276658-1e27-41c0-8a6a-63ec24ede6a4.png?timestamp=1776053107&nonce=8b2ee7b20fb7eee9eff2ced4bbcd6cf6&sign=GyFG-ZAG5hR_ZOLFhef6RPwCELzOyjNnP5MK-XrNjV8=';
  const labels = { [tool]: { zh_Hans: 'DALL-E 3 绘画', en_US: 'DALL-E 3', pt_BR: 'DALL-E 3', ja_JP: 'DALL-E 3' } };
  const toolInput = JSON.stringify({ [tool]: { prompt: 'a cute cat sitting on a windowsill, watercolor' } }).replace(/":/g, '": ').replace(/,"/g, ', "');
  const observation = JSON.stringify({ [tool]: 'image has been created and sent to user already, you do not need to create it, just tell the user to check it now.' }).replace(/":/g, '": ');
  const answer = o.answer ?? "I've drawn a watercolor cat on a windowsill for you — check the image above.";
  const thought = (id: string, position: number, f: Record<string, unknown>) => ({
    ...chatPrefix('agent_thought', i),
    id,
    position,
    thought: '',
    observation: '',
    tool: '',
    tool_labels: {},
    tool_input: '',
    message_files: [],
    ...f,
  });
  return [
    thought(t1, 1, {}),
    { ...chatPrefix('agent_message', i), id: i.messageId, answer: '' },
    thought(t1, 1, { tool, tool_labels: labels, tool_input: toolInput }),
    { ...chatPrefix('message_file', i), id: fileId, type: 'image', belongs_to: 'assistant', url },
    thought(t1, 1, { observation, tool, tool_labels: labels, tool_input: toolInput, message_files: [fileId] }),
    thought(t2, 2, {}),
    ...splitAnswer(answer, 3).map((c) => ({ ...chatPrefix('agent_message', i), id: i.messageId, answer: c })),
    thought(t2, 2, { thought: answer }),
    messageEndEvent(i, o.usage ?? { prompt_tokens: 612, completion_tokens: 58 }),
  ];
}

/** Agent-chat without tools: an empty thought, agent_message deltas, the thought repeating the answer. */
export function agentChatPlainStream(o: StreamOptions = {}): FakeEvent[] {
  const i = ids(o);
  const { answer, chunks } = chunksOf(o);
  const t = uuid();
  const base = { id: t, position: 1, observation: '', tool: '', tool_labels: {}, tool_input: '', message_files: [] };
  return [
    { ...chatPrefix('agent_thought', i), ...base, thought: '' },
    ...chunks.map((c) => ({ ...chatPrefix('agent_message', i), id: i.messageId, answer: c })),
    { ...chatPrefix('agent_thought', i), ...base, thought: answer },
    messageEndEvent(i, usageOf(o, answer)),
  ];
}

function wfPrefix(event: string, i: Ids, chatflow: boolean): FakeEvent {
  return chatflow
    ? { ...chatPrefix(event, i), workflow_run_id: i.workflowRunId }
    : { event, workflow_run_id: i.workflowRunId, task_id: i.taskId };
}

function nodeStarted(i: Ids, chatflow: boolean, nodeId: string, nodeType: string, title: string, execId: string): FakeEvent {
  return {
    ...wfPrefix('node_started', i, chatflow),
    data: {
      id: execId,
      node_id: nodeId,
      node_type: nodeType,
      title,
      index: 1,
      predecessor_node_id: null,
      inputs: null,
      inputs_truncated: false,
      created_at: i.createdAt,
      extras: {},
      iteration_id: null,
      loop_id: null,
      agent_strategy: null,
    },
  };
}

function nodeFinished(
  i: Ids,
  chatflow: boolean,
  nodeId: string,
  nodeType: string,
  title: string,
  execId: string,
  outputs: Record<string, unknown>,
  status = 'succeeded',
  error: string | null = null,
): FakeEvent {
  return {
    ...wfPrefix('node_finished', i, chatflow),
    data: {
      id: execId,
      node_id: nodeId,
      node_type: nodeType,
      title,
      index: 1,
      predecessor_node_id: null,
      inputs: {},
      inputs_truncated: false,
      process_data: {},
      process_data_truncated: false,
      outputs,
      outputs_truncated: false,
      status,
      error,
      elapsed_time: 0.41352,
      execution_metadata: null,
      created_at: i.createdAt,
      finished_at: i.createdAt,
      files: [],
      iteration_id: null,
      loop_id: null,
    },
  };
}

function workflowStarted(i: Ids, chatflow: boolean, inputs: Record<string, unknown>): FakeEvent {
  return {
    ...wfPrefix('workflow_started', i, chatflow),
    data: { id: i.workflowRunId, workflow_id: 'wf-7f150524', inputs, created_at: i.createdAt, reason: 'initial' },
  };
}

function workflowFinished(
  i: Ids,
  chatflow: boolean,
  status: string,
  outputs: Record<string, unknown>,
  totalTokens: number,
  user: string,
  error: string | null = null,
): FakeEvent {
  return {
    ...wfPrefix('workflow_finished', i, chatflow),
    data: {
      id: i.workflowRunId,
      workflow_id: 'wf-7f150524',
      status,
      outputs,
      error,
      elapsed_time: 1.372955,
      total_tokens: totalTokens,
      total_steps: 3,
      created_by: { id: 'end-user-ec66a787', user },
      created_at: i.createdAt,
      finished_at: i.createdAt,
      exceptions_count: 0,
      files: [],
    },
  };
}

/** F3: chatflow: ping, workflow_started, nodes, message deltas, message_end + workflow_finished (either order). */
export function chatflowStream(o: StreamOptions = {}): FakeEvent[] {
  const i = ids(o);
  const { answer, chunks } = chunksOf(o);
  const u = usageOf(o, answer);
  const user = o.user ?? 'user-42';
  const sys = { 'sys.files': [], 'sys.user_id': user, 'sys.query': o.query ?? 'What is Dify?', 'sys.dialogue_count': 1 };
  const llm = uuid();
  const ans = uuid();
  const start = uuid();
  const events: FakeEvent[] = [];
  if (o.leadingPing !== false) events.push({ event: 'ping' });
  events.push(
    workflowStarted(i, true, sys),
    nodeStarted(i, true, 'start', 'start', 'Start', start),
    nodeFinished(i, true, 'start', 'start', 'Start', start, sys),
    nodeStarted(i, true, 'llm', 'llm', 'LLM', llm),
    ...chunks.map((c) => messageEvent(i, c, 'advanced-chat')),
    nodeFinished(i, true, 'llm', 'llm', 'LLM', llm, { text: answer, usage: difyUsage(u), finish_reason: 'stop' }),
    nodeStarted(i, true, 'answer', 'answer', 'Answer', ans),
    nodeFinished(i, true, 'answer', 'answer', 'Answer', ans, { answer, files: [] }),
  );
  const end = messageEndEvent(i, u, 'advanced-chat');
  const fin = workflowFinished(i, true, 'succeeded', { answer, files: [] }, u.prompt_tokens + u.completion_tokens, user);
  if (o.terminalOrder === 'workflow_finished_first') events.push(fin, end);
  else events.push(end, fin);
  return events;
}

/** F5b: chatflow node failure: node_finished(failed) -> workflow_finished(failed) -> error. */
export function chatflowNodeFailureStream(o: StreamOptions & { error?: string } = {}): FakeEvent[] {
  const i = ids(o);
  const user = o.user ?? 'user-42';
  const err = o.error ?? '[openai_api_compatible] Error: PluginInvokeError: {"args":{},"error_type":"InvokeAuthorizationError","message":"Incorrect API key provided"}';
  const llm = uuid();
  return [
    { event: 'ping' },
    workflowStarted(i, true, { 'sys.query': o.query ?? 'hi', 'sys.user_id': user }),
    nodeStarted(i, true, 'llm', 'llm', 'LLM', llm),
    nodeFinished(i, true, 'llm', 'llm', 'LLM', llm, {}, 'failed', err),
    workflowFinished(i, true, 'failed', {}, 0, user, err),
    { ...chatPrefix('error', i), code: 'invalid_param', status: 400, message: `Run failed: ${err}` },
  ].map((e) => {
    if (e.event === 'error') delete (e as Record<string, unknown>).task_id;
    return e;
  });
}

/** F4: workflow app with text_chunk events and outputs (`outputVariable`, default `result`). */
export function workflowStream(o: StreamOptions & { textChunks?: boolean; outputs?: Record<string, unknown> } = {}): FakeEvent[] {
  const i = ids(o);
  const { answer, chunks } = chunksOf({ ...o, answer: o.answer ?? "Dify facilite la mise en production d'applications LLM." });
  const u = usageOf(o, answer);
  const user = o.user ?? 'user-42';
  const variable = o.outputVariable ?? 'result';
  const outputs = o.outputs ?? { [variable]: answer };
  const start = uuid();
  const llm = uuid();
  const end = uuid();
  const events: FakeEvent[] = [];
  if (o.leadingPing !== false) events.push({ event: 'ping' });
  events.push(
    workflowStarted(i, false, { 'sys.files': [], 'sys.user_id': user }),
    nodeStarted(i, false, 'start', 'start', 'Start', start),
    nodeFinished(i, false, 'start', 'start', 'Start', start, {}),
    nodeStarted(i, false, 'llm', 'llm', 'LLM', llm),
  );
  if (o.textChunks !== false) {
    events.push(
      { ...wfPrefix('text_chunk', i, false), data: { text: '', from_variable_selector: ['llm', 'text'] } },
      ...chunks.map((c) => ({ ...wfPrefix('text_chunk', i, false), data: { text: c, from_variable_selector: ['llm', 'text'] } })),
    );
  }
  events.push(
    nodeFinished(i, false, 'llm', 'llm', 'LLM', llm, { text: answer, usage: difyUsage(u), finish_reason: 'stop' }),
    nodeStarted(i, false, 'end', 'end', 'End', end),
    nodeFinished(i, false, 'end', 'end', 'End', end, outputs),
    workflowFinished(i, false, 'succeeded', outputs, u.prompt_tokens + u.completion_tokens, user),
  );
  return events;
}

/** F5c: workflow node failure: node_finished(failed) -> workflow_finished(failed); no error event. */
export function workflowNodeFailureStream(o: StreamOptions & { error?: string } = {}): FakeEvent[] {
  const i = ids(o);
  const user = o.user ?? 'user-42';
  const err = o.error ?? 'Code execution failed: division by zero';
  const node = uuid();
  return [
    { event: 'ping' },
    workflowStarted(i, false, { text: 'x', 'sys.files': [], 'sys.user_id': user }),
    nodeStarted(i, false, 'code', 'code', 'Compute', node),
    nodeFinished(i, false, 'code', 'code', 'Compute', node, {}, 'failed', err),
    workflowFinished(i, false, 'failed', {}, 0, user, err),
  ];
}

/** F6: completion app. */
export function completionStream(o: StreamOptions = {}): FakeEvent[] {
  const i = ids(o);
  const { answer, chunks } = chunksOf({ ...o, answer: o.answer ?? "Hola (Spanish for 'hello')." });
  return [...chunks.map((c) => messageEvent(i, c, 'completion')), messageEndEvent(i, usageOf(o, answer), 'completion')];
}

/** The default successful stream of a mode for an answer. */
export function answerStream(mode: AppModeName, o: StreamOptions = {}): FakeEvent[] {
  switch (mode) {
    case 'chat':
      return chatStream(o);
    case 'agent-chat':
      return agentChatPlainStream(o);
    case 'advanced-chat':
      return chatflowStream(o);
    case 'completion':
      return completionStream(o);
    case 'workflow':
      return workflowStream(o);
  }
}

/** Errors Dify answers before any stream (F5d), as HTTP status + Dify envelope. */
export const PRE_STREAM_ERRORS = {
  unauthorized: { status: 401, code: 'unauthorized', message: 'Access token is invalid' },
  conversationNotFound: { status: 404, code: 'not_found', message: 'Conversation Not Exists.' },
  userMissing: { status: 400, code: 'invalid_param', message: 'Arg user must be provided.' },
  agentBlocking: { status: 400, code: 'invalid_param', message: 'Agent Chat App does not support blocking mode' },
  tooManyRequests: {
    status: 429,
    code: 'too_many_requests',
    message: 'Too many requests. Please try again later. The current maximum concurrent requests allowed for 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f is 10.',
  },
  quotaExceeded: {
    status: 400,
    code: 'provider_quota_exceeded',
    message: 'Your quota for Dify Hosted OpenAI has been exhausted. Please go to Settings -> Model Provider to complete your own provider credentials.',
  },
  inputRequired: { status: 400, code: 'invalid_param', message: 'city is required in input form' },
  appUnavailable: { status: 400, code: 'app_unavailable', message: 'App unavailable, please check your app configurations.' },
} as const;

/** Python json.dumps default style: `", "` / `": "` separators, non-ASCII escaped as \uXXXX. */
function pyString(v: string): string {
  return JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
export function legacyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return pyString(value);
  if (Array.isArray(value)) return '[' + value.map(legacyJson).join(', ') + ']';
  if (typeof value === 'object') {
    return (
      '{' +
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => pyString(k) + ': ' + legacyJson(v))
        .join(', ') +
      '}'
    );
  }
  return JSON.stringify(value);
}

/** One SSE frame as Dify writes it. */
export function frame(ev: FakeEvent, style: 'compact' | 'legacy' = 'compact'): string {
  if (ev.event === 'ping') return 'event: ping\n\n';
  return 'data: ' + (style === 'legacy' ? legacyJson(ev) : JSON.stringify(ev)) + '\n\n';
}

/**
 * The blocking response equivalent to a stream (dify-service-api.md §2.2, §3, §4): chat family and
 * completion -> `{event:"message", ..., answer, metadata}`; workflow -> `{task_id, workflow_run_id, data}`.
 */
export function blockingBody(mode: AppModeName, events: FakeEvent[]): Record<string, unknown> {
  if (mode === 'workflow') {
    const fin = events.find((e) => e.event === 'workflow_finished');
    const d = (fin?.data ?? {}) as Record<string, unknown>;
    return {
      task_id: fin?.task_id,
      workflow_run_id: fin?.workflow_run_id,
      data: {
        id: d.id,
        workflow_id: d.workflow_id,
        status: d.status,
        outputs: d.outputs,
        error: d.error,
        elapsed_time: d.elapsed_time,
        total_tokens: d.total_tokens,
        total_steps: d.total_steps,
        created_at: d.created_at,
        finished_at: d.finished_at,
      },
    };
  }
  let answer = '';
  for (const e of events) {
    if ((e.event === 'message' || e.event === 'agent_message') && typeof e.answer === 'string') answer += e.answer;
    if (e.event === 'message_replace' && typeof e.answer === 'string') answer = e.answer;
  }
  const end: Record<string, unknown> = events.find((e) => e.event === 'message_end') ?? {};
  const first: Record<string, unknown> = events.find((e) => e.event !== 'ping') ?? {};
  const body: Record<string, unknown> = {
    event: 'message',
    task_id: first.task_id,
    id: first.message_id,
    message_id: first.message_id,
  };
  if (mode !== 'completion') body.conversation_id = first.conversation_id;
  body.mode = mode;
  body.answer = answer;
  body.metadata = end.metadata ?? {};
  body.created_at = first.created_at;
  return body;
}
