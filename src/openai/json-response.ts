import type { Response } from 'express';

/**
 * Sends a JSON text as the whole response. What express's res.send does for a POST answer, minus
 * its content-type parsing, charset rewriting and freshness checks (a measurable share of a
 * non-streaming relay's CPU).
 */
export function sendJson(res: Response, status: number, json: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(json, 'utf8'));
  res.end(json);
}
