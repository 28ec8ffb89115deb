/**
 * The chat-app group's own error mapping on top of src/openai/errors.ts: failures whose meaning
 * for a client is specific to running one Dify app from a plugin.
 */
import { DifyError } from '../../backend/types.js';
import { OpenAIError } from '../../openai/errors.js';

/**
 * The request cannot be handed to Dify through the plugin daemon: its reverse invocation (the
 * message with the history and inputs that go with it) would exceed the daemon's 5 MiB line limit.
 * Retrying the same request cannot help, so 413 with x-should-retry: false.
 */
export function tooLargeForDaemon(): OpenAIError {
  return new OpenAIError(
    413,
    'The message is too large for the Dify plugin daemon: a plugin can pass at most 5 MiB per call to a Dify app, and this message (with its conversation history and inputs) is larger. Send a shorter message or start a new conversation.',
    'invalid_request_error',
    'messages',
    'request_too_large',
    { 'x-should-retry': 'false' },
  );
}

/** Whether an app failure's code means the request was too large to pass to Dify. */
export function isTooLargeCode(code: string | null | undefined): boolean {
  return code === 'request_too_large';
}

/** Anything a chat-app handler caught, with this group's mappings applied; other errors pass through unchanged. */
export function chatAppError(err: unknown): unknown {
  if (err instanceof DifyError && isTooLargeCode(err.code)) return tooLargeForDaemon();
  return err;
}
