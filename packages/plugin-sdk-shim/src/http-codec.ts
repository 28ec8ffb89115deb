// Raw HTTP/1.1 request codec: the daemon sends the client's request, rebuilt by Go's
// Request.Write, as lowercase hex (plugin-protocol.md §3.2-3.3). Anything whose framing is
// ambiguous is refused rather than guessed at: the bytes come from the open internet.

export interface DecodedRequest {
  method: string;
  /** request-target as sent, e.g. `/v1/chat?x=1` */
  target: string;
  /** path part of the target, still percent-encoded */
  path: string;
  /** raw query string without `?` ('' when absent) */
  query: string;
  queryParams: Record<string, string | string[]>;
  httpVersion: '1.0' | '1.1';
  /** lowercase names; repeated fields joined with `, ` (`cookie` with `; `) */
  headers: Record<string, string>;
  /** name/value pairs in wire order, as Node's IncomingMessage.rawHeaders */
  rawHeaders: string[];
  body: Buffer;
}

export class HttpCodecError extends Error {
  override readonly name = 'HttpCodecError';
}

/** Decodes the hex form; Buffer.from stops at the first bad digit, so a length check catches it. */
export function decodeHex(hex: string): Buffer {
  const bytes = Buffer.from(hex, 'hex');
  if (bytes.length * 2 !== hex.length) throw new HttpCodecError('raw_http_request is not valid hex');
  return bytes;
}

export function decodeRawHttpRequest(hex: string): DecodedRequest {
  return parseHttpRequest(decodeHex(hex));
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// field-value: visible ASCII, obs-text, SP and HTAB (no CR, LF or NUL)
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.([01])$/;

export function parseHttpRequest(bytes: Buffer): DecodedRequest {
  const headEnd = findHeadEnd(bytes);
  if (headEnd === null) throw new HttpCodecError('malformed HTTP request: no end of header section');
  const head = bytes.toString('latin1', 0, headEnd.index);
  const lines = head.split(/\r?\n/);
  const requestLine = REQUEST_LINE.exec(lines[0] ?? '');
  if (!requestLine) throw new HttpCodecError('malformed HTTP request line');
  const method = requestLine[1]!;
  let target = requestLine[2]!;
  const httpVersion = requestLine[3] === '0' ? '1.0' : '1.1';
  if (!target.startsWith('/')) {
    // absolute-form is legal HTTP; keep only origin-form parts
    const absolute = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
    if (!absolute) throw new HttpCodecError('malformed HTTP request target');
    target = absolute[1] || '/';
    if (!target.startsWith('/')) target = '/' + target;
  }

  const rawHeaders: string[] = [];
  const headers: Record<string, string> = Object.create(null);
  const contentLengths: string[] = [];
  let transferEncoding: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    if (line[0] === ' ' || line[0] === '\t') throw new HttpCodecError('malformed HTTP header: obsolete line folding');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HttpCodecError('malformed HTTP header line');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HttpCodecError('invalid character in HTTP header name');
    const value = line.slice(colon + 1).trim();
    if (!FIELD_VALUE.test(value)) throw new HttpCodecError('invalid character in HTTP header value');
    rawHeaders.push(name, value);
    const lower = name.toLowerCase();
    if (lower === 'content-length') contentLengths.push(...value.split(',').map((v) => v.trim()));
    else if (lower === 'transfer-encoding') transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
    const previous = headers[lower];
    headers[lower] = previous === undefined ? value : `${previous}${lower === 'cookie' ? '; ' : ', '}${value}`;
  }

  const rest = bytes.subarray(headEnd.bodyStart);
  let body: Buffer;
  if (transferEncoding !== undefined) {
    if (contentLengths.length > 0) throw new HttpCodecError('ambiguous HTTP framing: both Content-Length and Transfer-Encoding');
    if (transferEncoding.trim().toLowerCase() !== 'chunked') throw new HttpCodecError(`unsupported Transfer-Encoding: ${transferEncoding}`);
    body = decodeChunked(rest);
    // the body is now plain bytes: describe it so body parsers see an ordinary request
    delete headers['transfer-encoding'];
    headers['content-length'] = String(body.length);
    for (let i = 0; i < rawHeaders.length; i += 2) {
      if (rawHeaders[i]!.toLowerCase() === 'transfer-encoding') {
        rawHeaders[i] = 'Content-Length';
        rawHeaders[i + 1] = String(body.length);
      }
    }
  } else if (contentLengths.length > 0) {
    const first = contentLengths[0]!;
    if (!/^\d{1,15}$/.test(first)) throw new HttpCodecError('invalid Content-Length');
    if (contentLengths.some((v) => v !== first)) throw new HttpCodecError('ambiguous HTTP framing: conflicting Content-Length values');
    const length = Number(first);
    if (rest.length < length) throw new HttpCodecError('HTTP body shorter than Content-Length');
    if (rest.length > length) throw new HttpCodecError('unexpected bytes after HTTP body');
    body = rest;
    headers['content-length'] = first;
  } else {
    if (rest.length > 0) throw new HttpCodecError('HTTP body without Content-Length or Transfer-Encoding');
    body = rest;
  }

  const q = target.indexOf('?');
  const hash = target.indexOf('#');
  const pathEnd = q !== -1 ? q : hash !== -1 ? hash : target.length;
  const path = target.slice(0, pathEnd);
  const query = q === -1 ? '' : target.slice(q + 1, hash > q ? hash : target.length);
  return { method, target, path, query, queryParams: parseQuery(query), httpVersion, headers, rawHeaders, body };
}

function findHeadEnd(bytes: Buffer): { index: number; bodyStart: number } | null {
  const crlf = bytes.indexOf('\r\n\r\n', 0, 'latin1');
  const lf = bytes.indexOf('\n\n', 0, 'latin1');
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { index: crlf, bodyStart: crlf + 4 };
  if (lf !== -1) return { index: lf, bodyStart: lf + 2 };
  return null;
}

function decodeChunked(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset, 'latin1');
    if (lineEnd === -1) throw new HttpCodecError('malformed chunked body: missing chunk size');
    const sizeField = data.toString('latin1', offset, lineEnd).split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeField)) throw new HttpCodecError('malformed chunked body: bad chunk size');
    const size = parseInt(sizeField, 16);
    offset = lineEnd + 2;
    if (size === 0) break;
    if (offset + size + 2 > data.length) throw new HttpCodecError('malformed chunked body: truncated chunk');
    parts.push(data.subarray(offset, offset + size));
    offset += size;
    if (data[offset] !== 0x0d || data[offset + 1] !== 0x0a) throw new HttpCodecError('malformed chunked body: missing CRLF after chunk');
    offset += 2;
  }
  // trailer section, then the final CRLF
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset, 'latin1');
    if (lineEnd === -1) throw new HttpCodecError('malformed chunked body: missing final CRLF');
    const isLast = lineEnd === offset;
    offset = lineEnd + 2;
    if (isLast) break;
  }
  if (offset !== data.length) throw new HttpCodecError('unexpected bytes after chunked body');
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

export function parseQuery(query: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  if (query === '') return out;
  for (const [key, value] of new URLSearchParams(query)) {
    const previous = out[key];
    if (previous === undefined) out[key] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else out[key] = [previous, value];
  }
  return out;
}
