/**
 * HTTP plumbing shared by the llm group's handlers: request ids, CORS, key check, JSON body, errors.
 * (Local to this group until src/openai provides the shared equivalents.)
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { OpenAIError, invalidRequest } from './errors.js';
import { sendError } from '../../openai/errors.js';

export { sendError };

export const BODY_LIMIT = '32mb';

/** Sets x-request-id and the CORS headers every response carries (JSON, SSE and errors alike). */
export function prepareResponse(req: Request, res: Response): string {
  const id = `req_${randomUUID().replaceAll('-', '')}`;
  res.setHeader('x-request-id', id);
  const origin = req.headers.origin;
  res.setHeader('Access-Control-Allow-Origin', typeof origin === 'string' && origin ? origin : '*');
  res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Expose-Headers', 'x-request-id, retry-after, retry-after-ms, x-should-retry');
  return id;
}

/** OPTIONS preflight: 204, no auth; allows whatever headers the browser asks for, Authorization always. */
export const preflight: RequestHandler = (req, res) => {
  prepareResponse(req, res);
  const requested = req.headers['access-control-request-headers'];
  const base = 'authorization, content-type, api-key, x-api-key';
  res.setHeader('Access-Control-Allow-Headers', typeof requested === 'string' && requested ? `${base}, ${requested}` : base);
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  res.setHeader('Access-Control-Max-Age', '86400');
  if (req.headers['access-control-request-private-network'] === 'true') {
    res.setHeader('Access-Control-Allow-Private-Network', 'true');
  }
  res.status(204).end();
};

/** The key a client presented: `Authorization: Bearer k`, `api-key: k` or `x-api-key: k`. */
export function presentedKey(req: Request): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.trim()) {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    return (match?.[1] ?? auth).trim();
  }
  for (const name of ['api-key', 'x-api-key']) {
    const value = req.headers[name];
    if (typeof value === 'string' && value.trim()) return value.trim();
  }
  return undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Throws a 401 unless the presented key equals the configured one (constant-time). */
export function checkKey(req: Request, expected: string): void {
  const key = presentedKey(req);
  if (key === undefined) {
    throw new OpenAIError(
      401,
      "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' (the endpoint's api_key setting).",
      'invalid_request_error',
      null,
      'invalid_api_key',
    );
  }
  if (!timingSafeEqual(digest(key), digest(expected))) {
    throw new OpenAIError(401, 'Incorrect API key provided.', 'invalid_request_error', null, 'invalid_api_key');
  }
}

const jsonParser = express.json({ limit: BODY_LIMIT, type: () => true });

/** The request's JSON object body; parses it here when the host has not. */
export async function readJsonBody(req: Request, res: Response): Promise<Record<string, unknown>> {
  let body: unknown = req.body;
  if (body === undefined || Buffer.isBuffer(body) || typeof body === 'string') {
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      body = parseText(body.toString());
    } else {
      body = await new Promise<unknown>((resolve, reject) => {
        jsonParser(req, res, (err?: unknown) => {
          if (err) reject(bodyError(err));
          else resolve(req.body);
        });
      });
    }
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequest('The request body must be a JSON object.', null, 'invalid_json');
  }
  return body as Record<string, unknown>;
}

function parseText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidRequest('We could not parse the JSON body of your request.', null, 'invalid_json');
  }
}

function bodyError(err: unknown): OpenAIError {
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large') {
    return new OpenAIError(413, `The request body is larger than the ${BODY_LIMIT} limit.`, 'invalid_request_error', null, 'request_too_large');
  }
  return invalidRequest('We could not parse the JSON body of your request.', null, 'invalid_json');
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
