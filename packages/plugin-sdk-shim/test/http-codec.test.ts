import { describe, expect, test } from 'vitest';
import { decodeRawHttpRequest, HttpCodecError, parseHttpRequest } from '../src/http-codec.js';

const hex = (s: string | Buffer) => Buffer.from(s).toString('hex');

describe('raw HTTP codec', () => {
  test('decodes the daemon example: method, path, raw and parsed query, headers, body', () => {
    const raw =
      'POST /chat/completions?a=1&b=2&b=3 HTTP/1.1\r\nHost: dify.example.com\r\nUser-Agent: curl/8.5.0\r\nContent-Length: 7\r\n' +
      'Accept: */*\r\nAuthorization: Bearer sk-123\r\nContent-Type: application/json\r\nDify-Hook-Id: abcd1234efgh5678\r\n\r\n{"x":1}';
    const req = decodeRawHttpRequest(hex(raw));
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/chat/completions');
    expect(req.query).toBe('a=1&b=2&b=3');
    expect(req.queryParams).toEqual({ a: '1', b: ['2', '3'] });
    expect(req.headers['authorization']).toBe('Bearer sk-123');
    expect(req.headers['dify-hook-id']).toBe('abcd1234efgh5678');
    expect(req.rawHeaders.slice(0, 2)).toEqual(['Host', 'dify.example.com']);
    expect(req.body.toString()).toBe('{"x":1}');
  });

  test('uppercase hex is accepted too', () => {
    expect(decodeRawHttpRequest(hex('GET / HTTP/1.1\r\nHost: x\r\n\r\n').toUpperCase()).method).toBe('GET');
  });

  test('an empty POST body sent chunked (Go Request.Write) decodes to an empty body', () => {
    const req = decodeRawHttpRequest(hex('POST /v1/models HTTP/1.1\r\nHost: x\r\nUser-Agent: Go-http-client/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'));
    expect(req.body.length).toBe(0);
    expect(req.headers['transfer-encoding']).toBeUndefined();
    expect(req.headers['content-length']).toBe('0');
    expect(req.rawHeaders).toContain('Content-Length');
  });

  test('a chunked body with several chunks, extensions and trailers is reassembled', () => {
    const req = parseHttpRequest(Buffer.from('PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n'));
    expect(req.body.toString()).toBe('hello world');
    expect(req.headers['content-length']).toBe('11');
  });

  test('repeated headers are joined; binary bodies are kept byte for byte', () => {
    const body = Buffer.from([0, 255, 13, 10, 128]);
    const req = parseHttpRequest(Buffer.concat([Buffer.from('POST / HTTP/1.1\r\nAccept: a\r\nAccept: b\r\nCookie: c=1\r\nCookie: d=2\r\nContent-Length: 5\r\n\r\n'), body]));
    expect(req.headers['accept']).toBe('a, b');
    expect(req.headers['cookie']).toBe('c=1; d=2');
    expect(req.body.equals(body)).toBe(true);
  });

  test.each([
    ['bad hex digits', 'zz'],
    ['odd-length hex', hex('GET / HTTP/1.1\r\n\r\n') + '0'],
  ])('%s is rejected', (_name, input) => {
    expect(() => decodeRawHttpRequest(input)).toThrow(HttpCodecError);
  });

  test.each([
    ['no header terminator', 'GET / HTTP/1.1\r\nHost: x\r\n'],
    ['garbage request line', 'HELLO\r\n\r\n'],
    ['HTTP/2 request line', 'GET / HTTP/2.0\r\n\r\n'],
    ['both Content-Length and Transfer-Encoding', 'POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['conflicting Content-Length', 'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'],
    ['conflicting Content-Length list', 'POST / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\nab'],
    ['non-numeric Content-Length', 'POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n'],
    ['header name with a space', 'GET / HTTP/1.1\r\nBad Name: x\r\n\r\n'],
    ['header name with a slash', 'GET / HTTP/1.1\r\nBad/Name: x\r\n\r\n'],
    ['space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
    ['obsolete line folding', 'GET / HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n'],
    ['NUL in a header value', 'GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n'],
    ['body shorter than Content-Length', 'POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc'],
    ['bytes after the body (smuggling)', 'POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n'],
    ['body without framing', 'POST / HTTP/1.1\r\n\r\nabc'],
    ['unsupported transfer coding', 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc'],
    ['truncated chunk', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabc'],
    ['bad chunk size', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'],
  ])('malformed HTTP is rejected: %s', (_name, raw) => {
    expect(() => parseHttpRequest(Buffer.from(raw, 'latin1'))).toThrow(HttpCodecError);
  });

  test('a request-target in absolute form is reduced to its path and query', () => {
    const req = parseHttpRequest(Buffer.from('GET http://h.example/a/b?c=d HTTP/1.1\r\n\r\n'));
    expect(req.path).toBe('/a/b');
    expect(req.query).toBe('c=d');
  });

  test('a __proto__ query key or header name cannot pollute prototypes', () => {
    const req = parseHttpRequest(Buffer.from('GET /?__proto__=x HTTP/1.1\r\n__proto__: y\r\n\r\n'));
    expect(req.queryParams['__proto__']).toBe('x');
    expect(req.headers['__proto__']).toBe('y');
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });
});
