/**
 * An app's input form (Dify "user input" variables), as every group fills it: defaults where the
 * app gives them, and which variable carries the text for apps without a conversation.
 */
import type { AppParameters } from '../backend/types.js';

/** Dify modes that keep a conversation; completion and workflow apps take their text as an input. */
const CONVERSATION_MODES = new Set(['chat', 'agent-chat', 'advanced-chat', 'agent']);

export function hasConversation(mode: string): boolean {
  return CONVERSATION_MODES.has(mode);
}

/** The app's own defaults; a required select without one gets its first option (Dify would refuse it empty). */
export function defaultInputs(params: AppParameters | undefined): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const f of params?.inputs ?? []) {
    if (f.default !== undefined && f.default !== null && f.default !== '') inputs[f.variable] = f.default;
    else if (f.required && f.type === 'select' && f.options && f.options.length > 0) inputs[f.variable] = f.options[0];
  }
  return inputs;
}

/**
 * The app's file input (a single file or a file list): where files go on a host whose app invocation
 * carries none (the plugin daemon's).
 */
export function fileInputOf(params: AppParameters | undefined): { variable: string; list: boolean } | undefined {
  const field = params?.inputs.find((f) => f.type === 'file' || f.type === 'file-list');
  return field ? { variable: field.variable, list: field.type === 'file-list' } : undefined;
}

/**
 * The variable that carries the text of completion/workflow apps: the first paragraph/text input not
 * already taken (by a system prompt, or set by the client), else `query`.
 */
export function textInputVariable(params: AppParameters | undefined, taken: ReadonlySet<string> = new Set()): string {
  const f = (params?.inputs ?? []).find((x) => (x.type === 'paragraph' || x.type === 'text-input') && !taken.has(x.variable));
  return f ? f.variable : 'query';
}
