/**
 * Optional access password. The cookie holds HMAC(password, endpoint id): nothing secret is stored in
 * the browser, a changed password invalidates every session, and it is a single Set-Cookie header
 * (the plugin daemon forwards one value per header name).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { basePath, isHttps } from './request.js';

const TOKEN_CONTEXT = 'dify-bridge/webapp-skin/session/v1:';
const MAX_AGE_SECONDS = 30 * 24 * 3600;

export function sessionToken(password: string, endpointId: string): string {
  return createHmac('sha256', password).update(TOKEN_CONTEXT + endpointId).digest('base64url');
}

/** One cookie name per endpoint, so two protected pages on one Dify host do not overwrite each other. */
export function cookieName(endpointId: string): string {
  return 'dbw_' + createHash('sha256').update(endpointId).digest('hex').slice(0, 12);
}

/** Constant-time comparison of two strings of any length (both hashed first, so lengths never leak). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

export function isAuthorized(req: Request, password: string | undefined, endpointId: string): boolean {
  if (!password) return true;
  const presented = readCookie(req, cookieName(endpointId));
  if (!presented) return false;
  return safeEqual(presented, sessionToken(password, endpointId));
}

export function passwordMatches(given: string, password: string): boolean {
  return safeEqual(given, password);
}

export function setSessionCookie(req: Request, res: Response, password: string, endpointId: string): void {
  res.setHeader('Set-Cookie', cookie(req, cookieName(endpointId), sessionToken(password, endpointId), MAX_AGE_SECONDS));
}

export function clearSessionCookie(req: Request, res: Response, endpointId: string): void {
  res.setHeader('Set-Cookie', cookie(req, cookieName(endpointId), '', 0));
}

function cookie(req: Request, name: string, value: string, maxAge: number): string {
  const parts = [`${name}=${value}`, `Path=${basePath(req)}`, `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Lax'];
  if (isHttps(req)) parts.push('Secure');
  return parts.join('; ');
}
