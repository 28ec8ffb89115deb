// How the daemon rebuilds a client's request before hex-encoding it (plugin-protocol.md §3.2 step 4,
// daemon-calibration.md 1): Go's Request.Write output for the copied request.

export const MAX_REQUEST_BODY = 10 * 1024 * 1024;

const DELETED_HEADERS = new Set(['x-forwarded-for', 'x-real-ip', 'x-forwarded', 'x-original-forwarded-for', 'x-original-url', 'x-original-host']);
// Request.Write writes these itself
const WRITE_EXCLUDED = new Set(['host', 'user-agent', 'content-length', 'transfer-encoding', 'trailer']);
// Go probes the body of these methods; an empty body is then sent without any framing header
const USUALLY_BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'PROPFIND', 'SEARCH']);

/** textproto.CanonicalMIMEHeaderKey */
export function canonicalHeaderKey(key: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(key)) return key;
  return key.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/** url.URL.EscapedPath for a path without RawPath (shouldEscape in encodePath mode) */
export function goEscapePath(path: string): string {
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c)) out += c;
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** url.QueryEscape */
function goQueryEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** url.Values.Encode of the parsed query: keys sorted, values in order. */
export function goEncodeQuery(raw: string): string {
  if (!raw) return '';
  const params = new URLSearchParams(raw);
  const keys = [...new Set([...params.keys()])].sort();
  const parts: string[] = [];
  for (const key of keys) for (const value of params.getAll(key)) parts.push(`${goQueryEscape(key)}=${goQueryEscape(value)}`);
  return parts.join('&');
}

export interface ClientRequest {
  method: string;
  /** path after /e/<hook_id>, as the client sent it */
  path: string;
  query?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
  /** the client's Host (default dify.example.com) */
  host?: string;
  hookId?: string;
  scheme?: 'http' | 'https';
}

export function buildRawHttpRequest(req: ClientRequest): Buffer {
  const method = req.method.toUpperCase();
  const hookId = req.hookId ?? 'abcd1234efgh5678';
  let body = req.body === undefined ? Buffer.alloc(0) : typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : Buffer.from(req.body);
  if (body.length > MAX_REQUEST_BODY) body = body.subarray(0, MAX_REQUEST_BODY);

  const headers = new Map<string, string[]>();
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    const key = canonicalHeaderKey(name);
    const values = Array.isArray(value) ? value : [value];
    headers.set(key, [...(headers.get(key) ?? []), ...values]);
  }
  const hostHeader = headers.get('X-Original-Host')?.[0] ?? headers.get('Host')?.[0] ?? req.host ?? 'dify.example.com';
  for (const key of [...headers.keys()]) if (DELETED_HEADERS.has(key.toLowerCase())) headers.delete(key);
  let decodedPath = req.path.startsWith('/') ? req.path : '/' + req.path;
  try {
    decodedPath = decodeURIComponent(decodedPath);
  } catch {
    /* gin keeps undecodable paths as they are */
  }
  const forwardedProto = headers.get('X-Forwarded-Proto')?.[0];
  const scheme = req.scheme ?? (forwardedProto === 'https' ? 'https' : 'http');
  headers.set('Dify-Hook-Id', [hookId]);
  if (!headers.has('Dify-Hook-Url')) headers.set('Dify-Hook-Url', [`${scheme}://${hostHeader}/e/${hookId}${decodedPath}`]);

  const query = goEncodeQuery(req.query?.replace(/^\?/, '') ?? '');
  let head = `${method} ${goEscapePath(decodedPath)}${query ? '?' + query : ''} HTTP/1.1\r\n`;
  head += `Host: ${hostHeader}\r\n`;
  head += `User-Agent: ${headers.get('User-Agent')?.[0] ?? 'Go-http-client/1.1'}\r\n`;
  let wireBody = body;
  if (body.length > 0) head += `Content-Length: ${body.length}\r\n`;
  else if (!USUALLY_BODYLESS.has(method)) {
    head += 'Transfer-Encoding: chunked\r\n';
    wireBody = Buffer.from('0\r\n\r\n');
  }
  for (const key of [...headers.keys()].sort()) {
    if (WRITE_EXCLUDED.has(key.toLowerCase())) continue;
    for (const value of headers.get(key)!) head += `${key}: ${value.replace(/[\r\n]+/g, ' ')}\r\n`;
  }
  head += '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), wireBody]);
}
