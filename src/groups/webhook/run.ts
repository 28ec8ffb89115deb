/**
 * One app run for one delivery, reduced to its outcome: a workflow's status and outputs, or a
 * chat/completion app's answer, or the error that ended it.
 */
import type { AppHandle, AppMode, AppRunRequest } from '../../backend/types.js';
import { DifyError } from '../../backend/types.js';
import type { DifyEvent } from '../../dify/events.js';

export type RunOutcome =
  | { ok: true; kind: 'workflow'; status: string; workflowRunId?: string; outputs: Record<string, unknown> }
  | { ok: true; kind: 'message'; answer: string; messageId?: string; conversationId?: string; workflowRunId?: string }
  | {
      ok: false;
      /** False when Dify refused the run before it started (nothing ran). */
      started: boolean;
      code: string;
      message: string;
      workflowRunId?: string;
      /** Dify's HTTP status when it refused the run. */
      httpStatus?: number;
      retryAfterSeconds?: number;
    };

/**
 * Whether the app takes the payload as its query. Only workflow and completion apps do not; an
 * unknown mode gets one too (Dify ignores a query for a workflow app's run).
 */
export function takesQuery(mode: AppMode | string | undefined): boolean {
  return mode !== 'workflow' && mode !== 'completion';
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Workflow statuses that mean the run did not do its job. */
const FAILED_STATUSES = new Set(['failed', 'stopped']);

export async function runApp(app: AppHandle, request: AppRunRequest, signal: AbortSignal): Promise<RunOutcome> {
  let workflowRunId: string | undefined;
  let finished: { status: string; outputs: Record<string, unknown>; error?: string } | undefined;
  let errorEvent: { code: string; message: string } | undefined;
  let answer = '';
  let sawMessage = false;
  let messageId: string | undefined;
  let conversationId: string | undefined;
  let started = false;

  try {
    for await (const event of app.run(request, signal) as AsyncIterable<DifyEvent>) {
      started = true;
      workflowRunId ??= str(event.workflow_run_id);
      messageId ??= str(event.message_id);
      conversationId ??= str(event.conversation_id);
      switch (event.event) {
        case 'workflow_started':
          workflowRunId ??= str(record(event.data)?.id);
          break;
        case 'workflow_finished': {
          const data = record(event.data) ?? {};
          workflowRunId ??= str(data.id);
          finished = {
            status: str(data.status) ?? 'succeeded',
            outputs: record(data.outputs) ?? {},
            ...(str(data.error) ? { error: str(data.error)! } : {}),
          };
          break;
        }
        case 'message':
        case 'agent_message':
          sawMessage = true;
          if (typeof event.answer === 'string') answer += event.answer;
          break;
        case 'message_replace':
          sawMessage = true;
          answer = typeof event.answer === 'string' ? event.answer : answer;
          break;
        case 'message_end':
          sawMessage = true;
          messageId ??= str(event.id);
          break;
        case 'error':
          errorEvent ??= { code: str(event.code) ?? 'run_failed', message: str(event.message) ?? 'The app run failed.' };
          break;
        default:
          break;
      }
    }
  } catch (error) {
    if (error instanceof DifyError && !started) {
      return {
        ok: false,
        started: false,
        code: error.code,
        message: error.message,
        httpStatus: error.status,
        ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
      };
    }
    return {
      ok: false,
      started,
      code: error instanceof DifyError ? error.code : 'run_interrupted',
      message: error instanceof Error ? error.message : String(error),
      ...(workflowRunId ? { workflowRunId } : {}),
    };
  }

  const ids = workflowRunId ? { workflowRunId } : {};
  // The workflow's own error says what failed; the `error` event that may follow repeats it with a prefix.
  if (finished && FAILED_STATUSES.has(finished.status)) {
    return { ok: false, started: true, code: `workflow_${finished.status}`, message: finished.error ?? errorEvent?.message ?? `The workflow run ${finished.status}.`, ...ids };
  }
  if (errorEvent) return { ok: false, started: true, code: errorEvent.code, message: errorEvent.message, ...ids };

  // Decided by what came back, not by the app's reported mode: the plugin host cannot always tell
  // the mode (fetch_app carries none), and a chatflow sends both messages and workflow events.
  if (sawMessage) {
    return {
      ok: true,
      kind: 'message',
      answer,
      ...(messageId ? { messageId } : {}),
      ...(conversationId ? { conversationId } : {}),
      ...ids,
    };
  }
  if (!finished) return { ok: false, started, code: 'no_result', message: 'The app run ended without a result.', ...ids };
  return { ok: true, kind: 'workflow', status: finished.status, outputs: finished.outputs, ...ids };
}
