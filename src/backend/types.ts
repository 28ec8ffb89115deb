/**
 * The backend interface: everything a handler may ask of Dify, whichever host it runs in.
 * Plugin host: reverse invocation through the daemon. Standalone host: Dify's public Service API.
 * Handlers depend on these types only; they never see raw Dify JSON or the wire.
 */
import type { DifyEvent } from '../dify/events.js';

/** Dify app modes as reported by Dify (GET /info, fetch_app). */
export type AppMode = 'chat' | 'agent-chat' | 'advanced-chat' | 'completion' | 'workflow' | 'agent';

export interface AppInfo {
  /** Stable id of the app where known (plugin: app_id); standalone: derived from the key, never the key itself. */
  id: string;
  name: string;
  mode: AppMode;
  description?: string;
}

/** One entry of the app's user_input_form, flattened. */
export interface AppInputField {
  variable: string;
  type: 'text-input' | 'paragraph' | 'select' | 'number' | 'checkbox' | 'file' | 'file-list' | 'json' | string;
  label?: string;
  required: boolean;
  maxLength?: number;
  options?: string[];
  default?: unknown;
}

export interface AppParameters {
  openingStatement?: string;
  suggestedQuestions: string[];
  /** The app suggests follow-up questions after each answer (Dify's "suggested questions after answer"). */
  followUps?: boolean;
  /** The app reads answers aloud with its own voice (Dify's "text to speech"). */
  speech?: boolean;
  /** The app turns recorded speech into text (Dify's "speech to text"). */
  dictation?: boolean;
  inputs: AppInputField[];
  fileUpload?: {
    enabled: boolean;
    allowedTypes?: string[];
    transferMethods?: Array<'remote_url' | 'local_file'>;
    numberLimits?: number;
  };
}

/** A file handed to Dify with a run. */
export type DifyFileInput =
  | { type: 'image' | 'document' | 'audio' | 'video' | 'custom'; transfer_method: 'remote_url'; url: string }
  | { type: 'image' | 'document' | 'audio' | 'video' | 'custom'; transfer_method: 'local_file'; upload_file_id: string };

export interface AppRunRequest {
  /** Chat-family apps: the user's message. Completion/workflow apps take inputs instead. */
  query?: string;
  inputs: Record<string, unknown>;
  /** Empty or absent: a new conversation. */
  conversationId?: string;
  /** Dify `user`: scopes conversations and files. */
  user: string;
  files?: DifyFileInput[];
  /** Ask upstream for a streamed answer (agent apps always stream upstream regardless). */
  streaming: boolean;
  /**
   * Aborted when the consumer has all the answer it wants (a stop sequence) but would still like the
   * run's end event, which carries usage. Hosts with `canStopEarly` then stop the run upstream and go
   * on yielding until Dify ends the stream; others ignore it.
   */
  finishEarly?: AbortSignal;
}

/** A Dify app this endpoint may run. */
export interface AppHandle {
  info(): Promise<AppInfo>;
  parameters(): Promise<AppParameters>;
  /**
   * Runs the app and yields Dify's events in order (blocking upstream answers are yielded as the
   * equivalent single terminal event). Throws `DifyError` for errors before the first event;
   * an `error` event inside the stream is yielded, not thrown. Aborting `signal` stops the run upstream
   * where the host can (standalone: POST .../stop; plugin: the reverse invocation is dropped).
   */
  run(request: AppRunRequest, signal: AbortSignal): AsyncIterable<DifyEvent>;
  /**
   * Optional: the same run as `run`, the same events in the same order, yielded as non-empty arrays
   * (the events decoded from one upstream read) so a consumer pays one await per read, not per event.
   */
  runBatches?(request: AppRunRequest, signal: AbortSignal): AsyncIterable<DifyEvent[]>;
  /** Uploads a file for later runs; absent where the host cannot (then files are refused with a 400). */
  uploadFile?(file: { data: Uint8Array; filename: string; mimeType: string }, user: string): Promise<{ id: string }>;
  /** How this host can hand image_url parts to the app. */
  readonly fileTransfer: 'remote_url_and_upload' | 'upload_only' | 'none';
  /** The host honours `AppRunRequest.finishEarly` (standalone: Dify's stop API, then the stopped run's end event). */
  readonly canStopEarly?: boolean;
  /** Follow-up questions Dify suggests after an answer (chat-family apps with the feature on); absent where the host cannot ask. */
  suggestedQuestions?(messageId: string, user: string): Promise<string[]>;
  /** Records an end user's like / dislike (null: withdrawn) on an answer; absent where the host cannot. */
  rateMessage?(messageId: string, rating: 'like' | 'dislike' | null, user: string): Promise<void>;
  /** Speech to text with the app's model (WAV, MP3, M4A...); absent where the host cannot. */
  transcribe?(audio: { data: Uint8Array; filename: string; mimeType: string }, user: string): Promise<string>;
  /** An answer read aloud in the app's voice (audio bytes as they come); absent where the host cannot. */
  speak?(messageId: string, user: string, signal: AbortSignal): Promise<{ contentType: string; audio: AsyncIterable<Uint8Array> }>;
}

/** A model-selector value as Dify stores it. */
export interface ModelSelector {
  provider: string;
  model: string;
  model_type?: string;
  mode?: string;
  completion_params?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface LlmPromptMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | Array<Record<string, unknown>> | null;
  name?: string;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

export interface LlmInvokeRequest {
  model: ModelSelector;
  promptMessages: LlmPromptMessage[];
  completionParams: Record<string, unknown>;
  tools?: Array<{ name: string; description: string; parameters: Record<string, unknown> }>;
  stop?: string[];
  stream: boolean;
  /** JSON schema for structured output (llm_structured_output invocation). */
  structuredOutputSchema?: Record<string, unknown>;
}

/** One LLMResultChunk, normalised (prices as numbers, lists never null). */
export interface LlmResultChunk {
  model: string;
  delta: {
    index: number;
    message: {
      content: string | Array<Record<string, unknown>> | null;
      tool_calls: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
    };
    usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
    finish_reason?: string | null;
  };
  structured_output?: Record<string, unknown> | null;
}

export interface EmbeddingResult {
  model: string;
  embeddings: number[][];
  usage: { tokens: number; total_tokens: number };
}

/** Dify-configured models (plugin host only). */
export interface ModelsClient {
  invokeLlm(request: LlmInvokeRequest, signal: AbortSignal): AsyncIterable<LlmResultChunk>;
  embed(model: ModelSelector, texts: string[], inputType: 'query' | 'document'): Promise<EmbeddingResult>;
  /** Text to speech with a Dify TTS model (the selector carries the voice): audio bytes as they come. */
  speak?(model: ModelSelector, text: string, signal: AbortSignal): AsyncIterable<Uint8Array>;
  /** Speech to text with a Dify speech2text model. */
  transcribe?(model: ModelSelector, audio: Uint8Array): Promise<string>;
}

/** A small string key-value store with optional expiry (plugin storage, SQLite or Redis). */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  delete(key: string): Promise<void>;
}

/** An error from Dify before any event was produced (HTTP error, invoke error), already classified. */
export class DifyError extends Error {
  constructor(
    message: string,
    /** Dify's error code (`invalid_param`, `app_unavailable`, `not_found`, `provider_quota_exceeded`...) or a transport code. */
    readonly code: string,
    /** Dify's HTTP status where there was one (plugin host: best guess from the message). */
    readonly status: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DifyError';
  }
}
