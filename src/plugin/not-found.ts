// The plugin's answer to a request no declared route takes (the shim's `notFound` option): the
// OpenAI error envelope instead of the SDK's text 404, with CORS headers and an x-request-id like
// every other answer. A known path asked with another method is 405 with Allow.
import type { Request, RequestHandler, Response } from 'express';
import { RuleRouter } from '@dify/plugin-sdk-shim';
import { applyCors, requestId } from '../openai/http.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

function sendEnvelope(res: Response, status: number, message: string, code: string): void {
  res
    .status(status)
    .type('application/json')
    .send(JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } }));
}

/** `routes`: what the runtime serves; `mergeSlashes` as given to the runtime. */
export function notFoundHandler(routes: ReadonlyArray<{ rule: string; method: string }>, options: { mergeSlashes: boolean }): RequestHandler {
  const router = new RuleRouter<true>({ mergeSlashes: options.mergeSlashes });
  for (const route of routes) router.add(route.rule, route.method, true);
  return (req: Request, res: Response) => {
    applyCors(req, res);
    requestId(req, res);
    const rawPath = (req.originalUrl || req.url || '/').split('?')[0] || '/';
    const allowed = METHODS.filter((method) => router.match(method, rawPath).ok);
    let shown = rawPath;
    try {
      shown = decodeURI(rawPath);
    } catch {
      // keep the encoded form
    }
    if (allowed.length > 0 && !allowed.includes(req.method.toUpperCase())) {
      res.setHeader('Allow', allowed.join(', '));
      sendEnvelope(res, 405, `Method ${req.method} is not allowed for ${shown}. Allowed: ${allowed.join(', ')}.`, 'method_not_allowed');
      return;
    }
    sendEnvelope(res, 404, `Invalid URL (${req.method} ${shown})`, 'not_found');
  };
}
