/**
 * The delivery body: read as raw bytes (signatures are computed over exactly those bytes), then
 * interpreted as JSON, form fields or text.
 */
import type { Request } from 'express';
import { WebhookHttpError } from './errors.js';

/**
 * The daemon keeps only the first 10 MiB of a request body and forwards it without a word
 * (plugin-protocol.md §3.6), so a body of exactly 10 MiB may be a truncated one. Bodies of 10 MiB
 * and more are refused with 413 rather than run on (or fail a signature over) a cut-off document.
 */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

function tooLarge(): WebhookHttpError {
  return new WebhookHttpError(413, 'payload_too_large', `The delivery body must be smaller than ${MAX_BODY_BYTES} bytes (10 MiB).`);
}

/**
 * Reads the request body as it came off the wire. Works when nothing upstream parsed it, and when
 * the host mounted `express.raw()` (then `req.body` is the Buffer). A host that parsed JSON or forms
 * before this handler has thrown the bytes away; that is a wiring bug, reported as such.
 */
export async function readRawBody(req: Request, limit = MAX_BODY_BYTES): Promise<Buffer> {
  if (Buffer.isBuffer(req.body)) {
    if (req.body.length >= limit) throw tooLarge();
    return req.body;
  }
  if (req.readableEnded || (req.body !== undefined && req.body !== null && typeof req.body === 'object' && Object.keys(req.body).length > 0)) {
    throw new WebhookHttpError(
      500,
      'body_already_parsed',
      'The host parsed the request body before the webhook handler; signatures need the raw bytes. Mount the webhook routes without a body parser (or with express.raw()).',
    );
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared >= limit) {
    req.resume(); // discard the rest so the connection can be answered and reused
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size >= limit) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, size);
}

export type BodyKind = 'json' | 'form' | 'text';

export interface ParsedBody {
  kind: BodyKind;
  /** What json paths are read from: the parsed JSON, the form fields as an object, or the text. */
  document: unknown;
  /** The payload as a string, for the app input that takes the whole payload (and a chat app's query). */
  text: string;
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

function decodeText(raw: Buffer): string {
  const text = raw.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WebhookHttpError(400, 'invalid_json', `The delivery body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Form fields as an object; a repeated field becomes an array of its values. */
function formFields(text: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const existing = fields[key];
    if (existing === undefined) fields[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else fields[key] = [existing, value];
  }
  return fields;
}

export function parseBody(raw: Buffer, contentType: string | undefined): ParsedBody {
  const type = mediaType(contentType);
  const text = decodeText(raw);
  if (type === 'multipart/form-data') {
    throw new WebhookHttpError(415, 'unsupported_media_type', 'multipart/form-data deliveries are not supported; send JSON, form fields or text.');
  }
  if (type === 'application/json' || type.endsWith('+json')) {
    if (text.trim() === '') return { kind: 'json', document: null, text: '' };
    return { kind: 'json', document: parseJson(text), text };
  }
  if (type === 'application/x-www-form-urlencoded') {
    const fields = formFields(text);
    // GitHub (and others) send form deliveries as a single `payload` field that holds the JSON document.
    const keys = Object.keys(fields);
    const only = keys.length === 1 && keys[0] === 'payload' ? fields.payload : undefined;
    if (typeof only === 'string') {
      try {
        return { kind: 'json', document: JSON.parse(only), text: only };
      } catch {
        // not JSON after all: keep it as an ordinary form field
      }
    }
    return { kind: 'form', document: fields, text: JSON.stringify(fields) };
  }
  if (type === '') {
    // No Content-Type: a JSON-looking body is taken as JSON, anything else as text.
    const trimmed = text.trimStart();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        return { kind: 'json', document: JSON.parse(text), text };
      } catch {
        // fall through to text
      }
    }
  }
  return { kind: 'text', document: text, text };
}
