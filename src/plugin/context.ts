// The middleware that turns the shim's per-request `res.locals.dify` into the product's EndpointContext.
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { DifyRequestContext } from '@dify/plugin-sdk-shim';
import { createPluginAppHandle } from '../backend/plugin-apps.js';
import { createPluginModelsClient } from '../backend/plugin-models.js';
import { createPluginStorageStore } from '../backend/plugin-storage.js';
import type { ModelsClient } from '../backend/types.js';
import { setEndpointContext, type EndpointContext } from '../host/context.js';

/**
 * `https://dify.example.com/e/abc123` from the daemon's Dify-Hook-Url header (`<scheme>://<host>/e/<hook><path>`,
 * possibly behind a path prefix), or '' without one.
 */
export function hookBaseUrl(hookUrl: string | undefined, hookId?: string): string {
  if (!hookUrl) return '';
  if (hookId) {
    const at = hookUrl.indexOf(`/e/${hookId}`);
    if (at >= 0) return hookUrl.slice(0, at + 3 + hookId.length);
  }
  const match = /^(https?:\/\/.*?\/e\/[^/?#]+)/.exec(hookUrl);
  return match ? match[1]! : '';
}

export function endpointContextMiddleware(log: Logger): RequestHandler {
  return (req, res, next) => {
    const dify = res.locals.dify as DifyRequestContext | undefined;
    if (!dify) return next(new Error('no plugin request context: the route was not dispatched by the plugin runtime'));
    const session = dify.session;
    const endpointId = dify.endpointId ?? req.get('dify-hook-id') ?? '';
    const requestLog = log.child({ endpoint: endpointId });
    let models: ModelsClient | undefined;
    const context: EndpointContext = {
      endpointId,
      settings: dify.settings ?? {},
      app: (selector) => createPluginAppHandle(session, selector, requestLog),
      apps: () => [],
      // Created on first use: most requests of most groups never touch models.
      get models() {
        return (models ??= createPluginModelsClient(session));
      },
      store: createPluginStorageStore(session),
      log: requestLog,
      baseUrl: hookBaseUrl(req.get('dify-hook-url'), req.get('dify-hook-id')),
    };
    setEndpointContext(res, context);
    next();
  };
}
