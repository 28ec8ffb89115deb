/**
 * The plugin host's AppHandle: a Dify app run through the daemon's reverse invocation
 * (plugin-protocol.md §4.4) over the shim's session: `invokeApp` (streaming chunks are the Service
 * API's "full" events; blocking gives one object), `fetchApp` (app info / parameters), `uploadFile`
 * (a signed upload URL the file is then POSTed to).
 *
 * The daemon's app invocation carries no `files`, so images reach an app only through one of its
 * file input variables (fileTransfer `upload_only`).
 */
import type { Logger } from 'pino';
import type { DifySession } from '@dify/plugin-sdk-shim';
import type { DifyEvent } from '../dify/events.js';
import { asDifyEvent } from '../dify/events.js';
import { DifyError, type AppHandle, type AppInfo, type AppInputField, type AppMode, type AppParameters, type AppRunRequest } from './types.js';

type Session = Pick<DifySession, 'invokeApp' | 'fetchApp' | 'uploadFile'>;

/** Blocking reverse invocations are never used (see run()); kept switchable for diagnosis. */
const FORCE_BLOCKING = false;

const MODES = new Set<AppMode>(['chat', 'agent-chat', 'advanced-chat', 'completion', 'workflow', 'agent']);

/** `{app_id}` from an app-selector value (object or bare id). */
export function appIdOf(selector: unknown): string {
  if (typeof selector === 'string') return selector;
  if (selector && typeof selector === 'object') {
    const s = selector as Record<string, unknown>;
    const id = s.app_id ?? s.appId ?? s.id;
    if (typeof id === 'string') return id;
  }
  return '';
}

/**
 * Classifies a reverse-invocation failure. The daemon reports Dify's failures as text
 * (`read app failed: request failed: <Dify's message or JSON envelope>`), so the code is recovered
 * from an embedded `{"code","message","status"}` where present, else from well-known messages.
 */
export function difyErrorFromInvocation(err: unknown): DifyError {
  if (err instanceof DifyError) return err;
  // The shim refused to write an invoke line over the daemon's 5 MiB stdout line limit (the daemon
  // would kill the plugin): the request is too large to pass to Dify, nothing upstream failed.
  if ((err as { name?: unknown } | null)?.name === 'ReverseInvocationTooLargeError') {
    return new DifyError((err as Error).message || 'The request is too large to pass to Dify.', 'request_too_large', 413);
  }
  const raw = err instanceof Error ? err.message : String(err);
  const json = /\{[^{}]*"code"\s*:\s*"[^"]+"[^{}]*\}/.exec(raw);
  if (json) {
    try {
      const e = JSON.parse(json[0]) as { code?: string; message?: string; status?: number };
      if (e.code) return new DifyError(e.message || raw, e.code, Number(e.status) || statusFor(e.code));
    } catch {
      /* fall through to text rules */
    }
  }
  const msg = raw.replace(/^.*?request failed:\s*/i, '') || raw;
  const lower = msg.toLowerCase();
  if (lower.includes('conversation not exists')) return new DifyError(msg, 'not_found', 404);
  if (lower.includes('too many requests') || lower.includes('rate limit')) return new DifyError(msg, 'too_many_requests', 429);
  if (lower.includes('quota')) return new DifyError(msg, 'provider_quota_exceeded', 400);
  if (lower.includes('required in input form') || lower.includes('must be') || lower.includes('invalid')) return new DifyError(msg, 'invalid_param', 400);
  if (lower.includes('app not found') || lower.includes('app unavailable')) return new DifyError(msg, 'app_unavailable', 400);
  if ((err as { name?: string })?.name === 'ReverseInvocationTimeoutError' || lower.includes('timeout')) return new DifyError(msg, 'upstream_timeout', 504);
  return new DifyError(msg, 'upstream_error', 502);
}

function statusFor(code: string): number {
  if (code === 'not_found') return 404;
  if (code === 'too_many_requests' || code === 'rate_limit_error') return 429;
  if (code === 'unauthorized') return 401;
  if (code === 'forbidden') return 403;
  if (code === 'internal_server_error') return 500;
  return 400;
}

/** `user_input_form` (Dify's old structure: `[{ "<type>": {variable, label, required, ...} }]`) flattened. */
export function parseInputForm(form: unknown): AppInputField[] {
  if (!Array.isArray(form)) return [];
  const out: AppInputField[] = [];
  for (const entry of form) {
    if (!entry || typeof entry !== 'object') continue;
    const [type, body] = Object.entries(entry as Record<string, unknown>)[0] ?? [];
    if (!type || !body || typeof body !== 'object') continue;
    const b = body as Record<string, unknown>;
    if (typeof b.variable !== 'string') continue;
    const field: AppInputField = { variable: b.variable, type: typeof b.type === 'string' ? b.type : type, required: b.required === true };
    if (typeof b.label === 'string') field.label = b.label;
    if (typeof b.max_length === 'number') field.maxLength = b.max_length;
    if (Array.isArray(b.options)) field.options = b.options.filter((o): o is string => typeof o === 'string');
    if (b.default !== undefined && b.default !== null && b.default !== '') field.default = b.default;
    out.push(field);
  }
  return out;
}

function parametersFrom(rec: Record<string, unknown>): AppParameters {
  const params: AppParameters = {
    suggestedQuestions: Array.isArray(rec.suggested_questions) ? rec.suggested_questions.filter((q): q is string => typeof q === 'string') : [],
    inputs: parseInputForm(rec.user_input_form),
  };
  if (typeof rec.opening_statement === 'string' && rec.opening_statement) params.openingStatement = rec.opening_statement;
  if ((rec.suggested_questions_after_answer as { enabled?: unknown } | undefined)?.enabled === true) params.followUps = true;
  if ((rec.text_to_speech as { enabled?: unknown } | undefined)?.enabled === true) params.speech = true;
  if ((rec.speech_to_text as { enabled?: unknown } | undefined)?.enabled === true) params.dictation = true;
  const fu = rec.file_upload as Record<string, unknown> | undefined;
  if (fu && typeof fu === 'object') {
    const image = fu.image as Record<string, unknown> | undefined;
    const enabled = fu.enabled === true || image?.enabled === true;
    params.fileUpload = { enabled };
  }
  return params;
}

/** Unwraps `{data, error}` envelopes some daemon versions pass through; an error string becomes an error event. */
function toEvent(chunk: unknown): DifyEvent | null {
  const ev = asDifyEvent(chunk);
  if (ev) return ev;
  if (chunk && typeof chunk === 'object') {
    const c = chunk as { data?: unknown; error?: unknown };
    if (typeof c.error === 'string' && c.error) return { event: 'error', code: 'upstream_error', status: 500, message: c.error };
    return asDifyEvent(c.data);
  }
  return null;
}

/** A blocking answer as the equivalent terminal events. */
export function blockingToEvents(body: Record<string, unknown>): DifyEvent[] {
  if (body.workflow_run_id !== undefined && body.data && typeof body.data === 'object') {
    return [{ event: 'workflow_finished', task_id: body.task_id, workflow_run_id: body.workflow_run_id, data: body.data }];
  }
  const common: Record<string, unknown> = { message_id: body.message_id ?? body.id, task_id: body.task_id, created_at: body.created_at };
  if (typeof body.conversation_id === 'string') common.conversation_id = body.conversation_id;
  return [
    { event: 'message', ...common, id: body.message_id ?? body.id, answer: typeof body.answer === 'string' ? body.answer : '' },
    { event: 'message_end', ...common, id: body.message_id ?? body.id, metadata: body.metadata ?? {} },
  ];
}

/**
 * What is known about each app across requests. Dify's fetch_app answers the app's parameters only
 * (no name, no mode), so the mode is learned from the first run's events; the info object is shared
 * so caches holding it see the learned mode.
 */
const known = new Map<string, { info: AppInfo; modeKnown: boolean }>();

/** The app mode a stream's first events reveal, if they do. */
export function modeFromEvent(ev: DifyEvent): AppMode | undefined {
  const conv = typeof ev.conversation_id === 'string' && ev.conversation_id !== '';
  switch (ev.event) {
    case 'agent_thought':
    case 'agent_message':
      return 'agent-chat';
    case 'workflow_started':
    case 'node_started':
    case 'text_chunk':
      return conv ? 'advanced-chat' : 'workflow';
    case 'message':
      if (!conv) return 'completion';
      return Array.isArray(ev.from_variable_selector) ? 'advanced-chat' : 'chat';
    default:
      return undefined;
  }
}

export function createPluginAppHandle(session: unknown, selector: unknown, log: Logger): AppHandle {
  const s = session as Session;
  const appId = appIdOf(selector);
  let fetched: Promise<Record<string, unknown>> | undefined;
  const fetchRecord = () =>
    (fetched ??= s.fetchApp(appId).catch((err: unknown) => {
      fetched = undefined;
      throw difyErrorFromInvocation(err);
    }));

  const handle: AppHandle = {
    fileTransfer: 'upload_only',

    async info(): Promise<AppInfo> {
      if (!appId) throw new DifyError("No app is selected in this endpoint's settings.", 'app_unavailable', 400);
      const entry = known.get(appId);
      if (entry) return entry.info;
      const rec = await fetchRecord();
      const app = (rec.app && typeof rec.app === 'object' ? rec.app : rec) as Record<string, unknown>;
      const modeKnown = typeof app.mode === 'string' && MODES.has(app.mode as AppMode);
      // Unknown until a run shows it; 'chat' handling is tolerant of every mode's stream.
      const mode = modeKnown ? (app.mode as AppMode) : 'chat';
      const name = typeof app.name === 'string' && app.name ? app.name : `dify-app-${appId.slice(0, 8)}`;
      const info: AppInfo = { id: appId, name, mode };
      if (typeof app.description === 'string') info.description = app.description;
      known.set(appId, { info, modeKnown });
      return info;
    },

    async parameters(): Promise<AppParameters> {
      const rec = await fetchRecord();
      const p = (rec.parameters && typeof rec.parameters === 'object' ? rec.parameters : rec) as Record<string, unknown>;
      return parametersFrom(p);
    },

    run(request: AppRunRequest, signal: AbortSignal): AsyncIterable<DifyEvent> {
      return {
        async *[Symbol.asyncIterator]() {
          if (request.files && request.files.length > 0) {
            log.warn({ files: request.files.length }, 'the daemon app invocation carries no files; dropping them');
          }
          const base = {
            app_id: appId,
            inputs: request.inputs,
            query: request.query ?? null,
            conversation_id: request.conversationId ?? null,
            user: request.user,
          };
          // Always streamed: the daemon relays chunks either way, agent apps require it, and a
          // stream lets a client disconnect drop the run. (`blockingToEvents` covers blocking bodies.)
          if (request.streaming === false && FORCE_BLOCKING) {
            let body: unknown;
            try {
              body = await s.invokeApp({ ...base, response_mode: 'blocking' }, { signal });
            } catch (err) {
              throw difyErrorFromInvocation(err);
            }
            const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
            const inner = !('event' in b) && !('workflow_run_id' in b) && b.data && typeof b.data === 'object' ? (b.data as Record<string, unknown>) : b;
            yield* blockingToEvents(inner);
            return;
          }
          const entry = known.get(appId);
          let started = false;
          let request_ = base;
          for (let attempt = 0; ; attempt++) {
            try {
              for await (const chunk of s.invokeApp({ ...request_, response_mode: 'streaming' }, { signal })) {
                const ev = toEvent(chunk);
                if (!ev) continue;
                if (entry && !entry.modeKnown) {
                  const mode = modeFromEvent(ev);
                  if (mode) {
                    entry.info.mode = mode;
                    entry.modeKnown = true;
                  }
                }
                started = true;
                yield ev;
              }
              return;
            } catch (err) {
              if (signal.aborted) return;
              const e = difyErrorFromInvocation(err);
              // Mode not known yet and the app wants its text in an input (workflow/completion): once more, so.
              if (!started && attempt === 0 && entry && !entry.modeKnown && request.query && /required in input form/i.test(e.message)) {
                const params = await handle.parameters().catch(() => undefined);
                const field = params?.inputs.find((f) => f.type === 'paragraph' || f.type === 'text-input');
                if (field && request_.inputs[field.variable] === undefined) {
                  request_ = { ...base, inputs: { ...base.inputs, [field.variable]: request.query } };
                  continue;
                }
              }
              if (!started) throw e;
              // After the first event an invocation failure is part of the stream.
              yield { event: 'error', code: e.code, status: e.status, message: e.message };
              return;
            }
          }
        },
      };
    },

    async uploadFile(file, _user): Promise<{ id: string }> {
      let url: string;
      try {
        ({ url } = await s.uploadFile({ filename: file.filename, mimetype: file.mimeType }));
      } catch (err) {
        throw difyErrorFromInvocation(err);
      }
      const form = new FormData();
      form.append('file', new Blob([file.data as Uint8Array<ArrayBuffer>], { type: file.mimeType }), file.filename);
      const res = await fetch(url, { method: 'POST', body: form });
      const body = (await res.json().catch(() => ({}))) as { id?: unknown; message?: unknown; code?: unknown };
      if (!res.ok || typeof body.id !== 'string') {
        throw new DifyError(typeof body.message === 'string' ? body.message : `file upload failed (${res.status})`, typeof body.code === 'string' ? body.code : 'upload_failed', res.status || 502);
      }
      return { id: body.id };
    },
  };
  return handle;
}
