/**
 * What a handler gets from its host for one request: the endpoint's settings, the Dify apps and
 * models it may use, a key-value store and a logger. Plugin and standalone hosts fill it in the
 * same shape, so handlers never know where they run.
 */
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { AppHandle, KeyValueStore, ModelsClient } from '../backend/types.js';

export interface EndpointContext {
  /** Identifies this endpoint (plugin: endpoint id; standalone: config name). Part of every memory scope. */
  endpointId: string;
  /** The endpoint's settings as the host holds them; each group validates them with its own zod schema. */
  settings: Record<string, unknown>;
  /**
   * Resolves an app-selector setting value to an app. Plugin: `{ app_id }` from the app-selector;
   * standalone: whatever the config gives (an app API key reference).
   */
  app(selector: unknown): AppHandle;
  /** Every app this endpoint exposes (standalone env mode: all DIFY_API_KEYS apps). Empty in plugin mode. */
  apps(): AppHandle[];
  /** Dify-configured models; absent where the host has none (standalone). */
  models?: ModelsClient;
  store: KeyValueStore;
  log: Logger;
  /**
   * True where work may go on after the response is finished (standalone). The plugin daemon cancels a
   * session's reverse invocations once its HTTP request ends, so there it is false or absent.
   */
  backgroundWork?: boolean;
  /** Where the host serves this endpoint, for absolute URLs in pages (no trailing slash); '' when relative is fine. */
  baseUrl?: string;
}

const CONTEXT_KEY = 'endpointContext';

export function setEndpointContext(res: Response, context: EndpointContext): void {
  res.locals[CONTEXT_KEY] = context;
}

export function endpointContext(res: Response): EndpointContext {
  const context = res.locals[CONTEXT_KEY] as EndpointContext | undefined;
  if (!context) throw new Error('no endpoint context: the host did not set one for this request');
  return context;
}

/** Request-scoped abort signal that fires when the client goes away. */
export function clientAbortSignal(req: Request, res: Response): AbortSignal {
  const controller = new AbortController();
  const abort = () => {
    if (!res.writableFinished) controller.abort();
  };
  res.once('close', abort);
  req.once('aborted', abort);
  return controller.signal;
}
