/**
 * HTTP plumbing every OpenAI-compatible group shares (openai-compat.md §7.2, §7.3): CORS and
 * preflight, request ids, the client's key and its constant-time check, the JSON body with a size
 * limit. Group-specific bits (extra exposed headers, their own error wording) stay in the groups.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { invalidApiKey, OpenAIError } from './errors.js';
import { memoized } from '../util/memoize.js';

/** Headers every group lets browsers read. Groups add their own via `applyCors(req, res, extra)`. */
export const EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'retry-after-ms', 'x-should-retry'];

const DEFAULT_ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'api-key',
  'x-api-key',
  'openai-organization',
  'openai-project',
  'openai-beta',
  'x-stainless-arch',
  'x-stainless-lang',
  'x-stainless-os',
  'x-stainless-package-version',
  'x-stainless-retry-count',
  'x-stainless-runtime',
  'x-stainless-runtime-version',
  'x-stainless-timeout',
  'x-stainless-helper-method',
  'x-stainless-poll-helper',
];

/** CORS headers for every response (JSON, SSE, errors). `exposed`: extra headers of this group. */
export function applyCors(req: Request, res: Response, exposed: readonly string[] = []): void {
  const origin = req.headers.origin;
  res.setHeader('Access-Control-Allow-Origin', typeof origin === 'string' && origin ? origin : '*');
  res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Expose-Headers', [...EXPOSED_HEADERS, ...exposed].join(', '));
}

/** A request id that looks like a safe header value of sane length (ids are echoed and logged). */
const INCOMING_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * Sets and returns the response's x-request-id: the incoming `x-request-id` when there is one (the
 * standalone server assigns it so its logs and responses match), else a fresh `req_...`.
 */
export function requestId(req: Request, res: Response): string {
  const existing = res.getHeader('x-request-id');
  if (typeof existing === 'string' && existing) return existing;
  const incoming = req.headers['x-request-id'];
  const given = Array.isArray(incoming) ? incoming[0] : incoming;
  const id = given && INCOMING_ID.test(given.trim()) ? given.trim() : `req_${randomUUID().replaceAll('-', '')}`;
  res.setHeader('x-request-id', id);
  return id;
}

/** OPTIONS preflight: 204, no auth; allows whatever headers the browser asks for, Authorization always. */
export function preflight(req: Request, res: Response, options: { exposed?: readonly string[]; allowed?: readonly string[] } = {}): void {
  applyCors(req, res, options.exposed);
  requestId(req, res);
  const requested = req.headers['access-control-request-headers'];
  const base = [...DEFAULT_ALLOWED_HEADERS, ...(options.allowed ?? [])].join(', ');
  res.setHeader('Access-Control-Allow-Headers', typeof requested === 'string' && requested.trim() ? `${base}, ${requested}` : base);
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  res.setHeader('Access-Control-Max-Age', '86400');
  if (req.headers['access-control-request-private-network'] === 'true') {
    res.setHeader('Access-Control-Allow-Private-Network', 'true');
  }
  res.status(204).end();
}

/** The key a client presented: `Authorization: Bearer k`, `api-key: k` or `x-api-key: k`; '' if none. */
export function clientKey(req: Request): string {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.trim()) {
    const match = /^\s*Bearer\s+(.+?)\s*$/i.exec(auth);
    return (match?.[1] ?? auth).trim();
  }
  for (const name of ['api-key', 'x-api-key']) {
    const value = req.headers[name];
    if (typeof value === 'string' && value.trim()) return value.trim();
  }
  return '';
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Digests of the configured keys, made once: they come from settings, a small and fixed set. */
const configuredDigest = memoized(digest, 1000);

/**
 * Checks the client's key against the configured key(s), in constant time per candidate (digests
 * of equal length, every candidate compared).
 * `configured` string: that key is required (empty = misconfigured: nobody gets in).
 * `configured` string[]: any of them; an empty list means open access.
 * Returns the presented key (callers scope state by it); throws 401 `invalid_api_key` otherwise.
 */
export function authenticate(req: Request, configured: string | readonly string[] | null | undefined): string {
  const presented = clientKey(req);
  const list = Array.isArray(configured);
  const keys = (list ? (configured as readonly string[]) : [(configured as string | null | undefined) ?? '']).filter((k) => k !== '');
  if (list && keys.length === 0) return presented;
  const p = digest(presented);
  let ok = false;
  for (const k of keys) {
    if (timingSafeEqual(p, configuredDigest(k))) ok = true;
  }
  if (presented === '') throw missingApiKey();
  if (!ok) throw invalidApiKey();
  return presented;
}

function missingApiKey(): OpenAIError {
  return new OpenAIError(
    401,
    "You didn't provide an API key. Send the key of this endpoint as `Authorization: Bearer <key>`.",
    'invalid_request_error',
    null,
    'invalid_api_key',
  );
}

/**
 * The plugin daemon passes at most 10 MiB of a request body to a plugin and silently drops the
 * rest: a body that reaches this size may have been cut, so it is refused rather than half-read.
 */
export const DAEMON_BODY_LIMIT = 10 * 1024 * 1024;

/** 32 MiB: chat histories with base64 images are large (standalone; the daemon cuts at 10 MiB). */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

export function bodyTooLarge(limit: number): OpenAIError {
  return new OpenAIError(413, `The request body is larger than the ${formatBytes(limit)} limit.`, 'invalid_request_error', null, 'request_too_large', {
    'x-should-retry': 'false',
  });
}

function daemonTruncated(): OpenAIError {
  return new OpenAIError(
    413,
    'The request body is too large: Dify passes at most 10 MiB (10485760 bytes) of a request to a plugin endpoint and cuts the rest. Send a smaller request (fewer or smaller images, a shorter history).',
    'invalid_request_error',
    null,
    'request_too_large',
    { 'x-should-retry': 'false' },
  );
}

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`;
}

/**
 * Reads the request stream; past `limit` it stops keeping chunks but reads on to the end (the
 * connection can then carry the 413; destroying the request would drop it), then rejects.
 */
function readRaw(req: Request, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += b.length;
      if (size <= limit) chunks.push(b);
      else chunks.length = 0;
    });
    req.once('end', () => (size > limit ? reject(bodyTooLarge(limit)) : resolve(Buffer.concat(chunks))));
    req.once('error', reject);
  });
}

/** The request's raw body (multipart uploads): what the host kept, or read here; over `limit` a 413. */
export async function readRawBody(req: Request, limit: number): Promise<Buffer> {
  const body: unknown = req.body;
  if (Buffer.isBuffer(body)) {
    if (body.length > limit) throw bodyTooLarge(limit);
    return body;
  }
  return readRaw(req, limit);
}

export interface ReadJsonOptions {
  /** Largest body read (default 32 MiB). */
  limit?: number;
  /**
   * Whether the body came through the Dify plugin daemon, which cuts bodies at 10 MiB. Default:
   * the request was dispatched by the plugin runtime (the shim's express adapter puts the daemon's
   * request context in `res.locals.dify`).
   */
  daemon?: boolean;
}

/** The same words as the standalone server's body parser errors (src/openai/errors.ts toOpenAIError). */
export const INVALID_JSON_MESSAGE = 'We could not parse the JSON body of your request.';

/**
 * The request's JSON body: already parsed by the host (express.json), or read here (raw body, a
 * Buffer or string from the host). Malformed JSON -> 400 `invalid_json`; over the limit -> 413
 * `request_too_large`, both in the OpenAI envelope. Through the daemon a body of 10 MiB or more is
 * 413 as well: it may have been cut (a body of exactly 10 MiB may even parse). An empty body is
 * `{}` (the request schema then names what is missing).
 */
export async function readJsonBody(req: Request, options: ReadJsonOptions = {}): Promise<unknown> {
  const limit = options.limit ?? MAX_BODY_BYTES;
  const body: unknown = req.body;
  if (body !== undefined && !Buffer.isBuffer(body) && typeof body !== 'string') return body;
  let raw: Buffer;
  if (Buffer.isBuffer(body)) raw = body;
  else if (typeof body === 'string') raw = Buffer.from(body, 'utf8');
  else raw = await readRaw(req, limit);
  if (raw.length > limit) throw bodyTooLarge(limit);
  const viaDaemon = options.daemon ?? (req.res?.locals as { dify?: unknown } | undefined)?.dify !== undefined;
  if (raw.length >= DAEMON_BODY_LIMIT && viaDaemon) throw daemonTruncated();
  const text = raw.toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON cut off at the daemon's limit is not the client's malformed JSON (whatever the host).
    if (raw.length >= DAEMON_BODY_LIMIT) throw daemonTruncated();
    throw new OpenAIError(400, INVALID_JSON_MESSAGE, 'invalid_request_error', null, 'invalid_json');
  }
  req.body = parsed;
  return parsed;
}
