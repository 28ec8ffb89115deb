/** Auth, CORS and request ids for the chat-app routes (openai-compat.md §7.2, §7.3). */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { invalidApiKey, OpenAIError } from '../../openai/errors.js';

export const EXPOSED_HEADERS = 'x-request-id, retry-after, retry-after-ms, x-should-retry, x-dify-conversation-id, x-ratelimit-limit-requests, x-ratelimit-remaining-requests';
const DEFAULT_ALLOWED_HEADERS =
  'authorization, content-type, api-key, x-api-key, x-dify-conversation-id, openai-organization, openai-project, openai-beta, x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout, x-stainless-helper-method, x-stainless-poll-helper';

/** CORS headers for every response (JSON, SSE, errors). */
export function applyCors(req: Request, res: Response): void {
  const origin = req.headers.origin;
  res.setHeader('Access-Control-Allow-Origin', typeof origin === 'string' && origin ? origin : '*');
  if (origin) res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
}

export function requestId(res: Response): string {
  const id = 'req_' + randomUUID().replace(/-/g, '');
  res.setHeader('x-request-id', id);
  return id;
}

/** OPTIONS preflight: 204, no auth. */
export function preflight(req: Request, res: Response): void {
  applyCors(req, res);
  const requested = req.headers['access-control-request-headers'];
  const allowed = typeof requested === 'string' && requested.trim() ? `${requested}, authorization` : DEFAULT_ALLOWED_HEADERS;
  res.setHeader('Access-Control-Allow-Headers', allowed);
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  res.setHeader('Access-Control-Max-Age', '86400');
  if (req.headers['access-control-request-private-network'] === 'true') {
    res.setHeader('Access-Control-Allow-Private-Network', 'true');
  }
  res.status(204).end();
}

/** The key the client sent: Bearer, api-key or x-api-key. */
export function clientKey(req: Request): string {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth) {
    const m = /^\s*Bearer\s+(.+?)\s*$/i.exec(auth);
    return m ? m[1]! : auth.trim();
  }
  const apiKey = req.headers['api-key'] ?? req.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : '';
}

function digest(v: string): Buffer {
  return createHash('sha256').update(v).digest();
}

/**
 * Checks the client key against the configured key(s), in constant time per candidate.
 * `configured` string: that key is required (empty string = misconfigured: nobody gets in).
 * `configured` string[]: any of them; an empty list means open access.
 * Returns the accepted key (for scoping), throws 401 otherwise.
 */
export function authenticate(req: Request, configured: string | string[] | null | undefined): string {
  const presented = clientKey(req);
  const keys = Array.isArray(configured) ? configured.filter((k) => k !== '') : [configured ?? ''];
  if (Array.isArray(configured) && keys.length === 0) return presented;
  const p = digest(presented);
  let ok = false;
  for (const k of keys) {
    if (k === '') continue;
    if (timingSafeEqual(p, digest(k)) && presented !== '') ok = true;
  }
  if (!ok) throw invalidApiKey();
  return presented;
}

const DAEMON_BODY_LIMIT = 10 * 1024 * 1024;

/** 32 MiB: chat histories with base64 images are large (the daemon itself truncates at 10 MiB). */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * The JSON body: already parsed by the host (express.json), or read from the request here.
 * Malformed JSON -> 400, oversize -> 413, both in the OpenAI envelope.
 */
export async function readJsonBody(req: Request, limit = MAX_BODY_BYTES): Promise<unknown> {
  if (req.body !== undefined && !(Buffer.isBuffer(req.body)) && typeof req.body !== 'string') return req.body;
  let raw: string;
  if (Buffer.isBuffer(req.body) || typeof req.body === 'string') raw = req.body.toString();
  else {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer | string>) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += b.length;
      if (size > limit) throw new OpenAIError(413, `The request body is larger than ${limit} bytes.`, 'invalid_request_error', null, 'request_too_large');
      chunks.push(b);
    }
    raw = Buffer.concat(chunks).toString('utf8');
  }
  if (raw.trim() === '') return {};
  try {
    const body: unknown = JSON.parse(raw);
    req.body = body;
    return body;
  } catch {
    // The plugin daemon silently cuts bodies at 10 MiB: unparseable JSON of that size was cut.
    if (Buffer.byteLength(raw) >= DAEMON_BODY_LIMIT) {
      throw new OpenAIError(413, 'The request body is too large: Dify passes at most 10 MiB to a plugin endpoint.', 'invalid_request_error', null, 'request_too_large');
    }
    throw new OpenAIError(400, 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload.)', 'invalid_request_error', null, 'invalid_json');
  }
}
