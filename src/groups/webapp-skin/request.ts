/** Where the page lives as the browser sees it, behind Dify (/e/<hook>/) or standalone (any mount). */
import type { Request } from 'express';

/**
 * The path of the page's root as the browser sees it, ending in '/'. Behind Dify the daemon adds
 * `Dify-Hook-Url` (the public URL of this request); standalone, express knows the mount (baseUrl).
 */
export function basePath(req: Request): string {
  const hookUrl = req.headers['dify-hook-url'];
  if (typeof hookUrl === 'string' && hookUrl) {
    try {
      const publicPath = new URL(hookUrl).pathname;
      const hookId = req.headers['dify-hook-id'];
      if (typeof hookId === 'string' && hookId) {
        const at = publicPath.indexOf(`/e/${hookId}`);
        if (at >= 0) return publicPath.slice(0, at) + `/e/${hookId}/`;
      }
      // Without the hook id: strip the route path from the end of the public path.
      if (publicPath.endsWith(req.path)) return withSlash(publicPath.slice(0, publicPath.length - req.path.length));
    } catch {
      // fall through to the express mount
    }
  }
  return withSlash(req.baseUrl || '/');
}

function withSlash(p: string): string {
  return p.endsWith('/') ? p : p + '/';
}

export function isHttps(req: Request): boolean {
  if (req.secure) return true;
  const proto = req.headers['x-forwarded-proto'];
  if (typeof proto === 'string' && proto.split(',')[0]!.trim() === 'https') return true;
  const hookUrl = req.headers['dify-hook-url'];
  return typeof hookUrl === 'string' && hookUrl.startsWith('https:');
}

/** Reads a JSON or form body whether or not the host parsed it already. */
export async function readBody(req: Request, limit = 256 * 1024): Promise<Record<string, unknown>> {
  if (req.body && typeof req.body === 'object' && !Buffer.isBuffer(req.body)) return req.body as Record<string, unknown>;
  let raw: string;
  if (typeof req.body === 'string') raw = req.body;
  else if (Buffer.isBuffer(req.body)) raw = req.body.toString('utf8');
  else {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw new BodyError('request body too large', 413);
      chunks.push(chunk);
    }
    raw = Buffer.concat(chunks).toString('utf8');
  }
  const type = String(req.headers['content-type'] ?? '');
  if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  if (raw.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new BodyError('request body must be a JSON object', 400);
}

export class BodyError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
