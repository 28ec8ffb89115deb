/**
 * Who may start a run: a shared bearer token, an HMAC-SHA256 signature over the raw body bytes
 * (GitHub style `X-Hub-Signature-256: sha256=<hex>`), or Slack's request signing (`X-Slack-Signature:
 * v0=<hex>` over `v0:<timestamp>:<body>`, the timestamp within five minutes). Comparisons are
 * constant-time; secrets and the values received never appear in answers or logs.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { WebhookHttpError } from './errors.js';
import type { Verification } from './settings.js';

/** Constant-time equality of two byte strings of any length (hashing first removes the length leak). */
export function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function unauthorized(code: string, message: string, scheme?: string): WebhookHttpError {
  return new WebhookHttpError(401, code, message, scheme ? { 'WWW-Authenticate': scheme } : {});
}

/**
 * Decodes a signature header value: `sha256=<hex>` (GitHub), bare hex, or base64 (Shopify-style).
 * Returns null when it is none of those.
 */
export function decodeSignature(value: string): Buffer | null {
  let digest = value.trim();
  const eq = digest.indexOf('=');
  if (eq > 0 && /^sha-?256$/i.test(digest.slice(0, eq))) digest = digest.slice(eq + 1).trim();
  if (/^[0-9a-f]{64}$/i.test(digest)) return Buffer.from(digest, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(digest) || /^[A-Za-z0-9_-]{43}$/.test(digest)) {
    const bytes = Buffer.from(digest, digest.includes('-') || digest.includes('_') ? 'base64url' : 'base64');
    return bytes.length === 32 ? bytes : null;
  }
  return null;
}

export interface VerificationSettings {
  verification: Verification;
  secret: string;
  signatureHeader: string;
}

/** Slack refuses requests older than this, and so do we (replays of a captured request). */
const SLACK_MAX_AGE_S = 5 * 60;

/** Throws a 401 WebhookHttpError unless the delivery carries valid credentials. */
export function verifyDelivery(settings: VerificationSettings, headers: IncomingHttpHeaders, raw: Buffer, now = Date.now()): void {
  switch (settings.verification) {
    case 'none':
      return;
    case 'bearer': {
      const authorization = header(headers, 'authorization');
      const match = authorization ? /^Bearer\s+(.+)$/i.exec(authorization.trim()) : null;
      if (!match) throw unauthorized('missing_token', 'This webhook needs an Authorization: Bearer <token> header.', 'Bearer');
      if (!safeEqual(Buffer.from(match[1]!.trim()), Buffer.from(settings.secret))) {
        throw unauthorized('invalid_token', 'The bearer token is not valid for this webhook.', 'Bearer');
      }
      return;
    }
    case 'hmac_sha256': {
      const value = header(headers, settings.signatureHeader);
      if (!value) {
        throw unauthorized('missing_signature', `This webhook needs an HMAC-SHA256 signature of the body in the ${settings.signatureHeader} header.`);
      }
      const received = decodeSignature(value);
      const expected = createHmac('sha256', settings.secret).update(raw).digest();
      // Compare even when the header does not decode, so a malformed header costs the same time.
      const ok = safeEqual(received ?? Buffer.alloc(32), expected) && received !== null;
      if (!ok) throw unauthorized('invalid_signature', `The ${settings.signatureHeader} signature does not match the body.`);
      return;
    }
    case 'slack': {
      const timestamp = header(headers, 'x-slack-request-timestamp');
      const signature = header(headers, 'x-slack-signature');
      if (!timestamp || !signature) {
        throw unauthorized('missing_signature', 'This webhook needs the X-Slack-Signature and X-Slack-Request-Timestamp headers Slack sends.');
      }
      const seconds = Number(timestamp);
      if (!/^\d{1,12}$/.test(timestamp.trim()) || Math.abs(now / 1000 - seconds) > SLACK_MAX_AGE_S) {
        throw unauthorized('stale_request', 'The X-Slack-Request-Timestamp is more than five minutes from now.');
      }
      const match = /^v0=([0-9a-f]{64})$/i.exec(signature.trim());
      const received = match ? Buffer.from(match[1]!, 'hex') : null;
      const expected = createHmac('sha256', settings.secret).update(`v0:${timestamp.trim()}:`).update(raw).digest();
      const ok = safeEqual(received ?? Buffer.alloc(32), expected) && received !== null;
      if (!ok) throw unauthorized('invalid_signature', 'The X-Slack-Signature does not match the request.');
      return;
    }
  }
}
