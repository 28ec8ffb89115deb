// Placeholder: the chat-app engineer replaces this file with the real plugin-host app backend.
import type { Logger } from 'pino';
import type { AppHandle } from './types.js';

/** Resolves an app-selector value (`{ app_id }`) to an app run through the daemon's reverse invocation. */
export function createPluginAppHandle(_session: unknown, _selector: unknown, _log: Logger): AppHandle {
  throw new Error('plugin app backend not implemented yet');
}
