import type { RequestHandler } from 'express';

/**
 * An endpoint group: its handlers by name. Endpoint YAML files bind a route (werkzeug rule + method)
 * to one of these names through `extra.node.handler`.
 */
export interface GroupModule {
  /** Matches settings/<name>.yaml. */
  name: 'chat-app' | 'llm' | 'webapp-skin' | 'webhook';
  handlers: Record<string, RequestHandler>;
}
