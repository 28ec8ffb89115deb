/**
 * The llm group's use of the shared HTTP plumbing (src/openai/http.ts): its handlers' key check
 * against the one `api_key` setting, an object-only JSON body, and the error wrapper.
 */
import type { Request, RequestHandler, Response } from 'express';
import * as http from '../../openai/http.js';
import { OpenAIError, invalidRequest } from './errors.js';
import { sendError } from '../../openai/errors.js';

export { sendError };

/** Sets x-request-id and the CORS headers every response carries (JSON, SSE and errors alike). */
export function prepareResponse(req: Request, res: Response): string {
  http.applyCors(req, res);
  return http.requestId(req, res);
}

/** OPTIONS preflight: 204, no auth; allows whatever headers the browser asks for, Authorization always. */
export const preflight: RequestHandler = (req, res) => http.preflight(req, res);

/** Throws a 401 unless the presented key equals the endpoint's key (constant-time). */
export function checkKey(req: Request, expected: string): void {
  http.authenticate(req, expected);
}

/** The request's JSON object body (read and parsed here when the host has not). */
export async function readJsonBody(req: Request, _res?: Response): Promise<Record<string, unknown>> {
  const body = await http.readJsonBody(req);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequest('The request body must be a JSON object.', null, 'invalid_json');
  }
  return body as Record<string, unknown>;
}

/** Handlers throw OpenAIError (or anything); this turns it into the envelope. */
export function wrap(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res) => {
    handler(req, res).catch((err: unknown) => {
      const httpError =
        err instanceof OpenAIError
          ? err
          : new OpenAIError(500, 'The server had an error while processing your request.', 'server_error', null, 'internal_error');
      if (!(err instanceof OpenAIError)) {
        try {
          (res.locals.endpointContext as { log?: { error: (o: unknown, m: string) => void } } | undefined)?.log?.error(
            { err },
            'llm handler failed',
          );
        } catch {
          /* logging must not mask the answer */
        }
      }
      sendError(res, httpError);
    });
  };
}
