/**
 * Downloads a client-supplied http(s) URL without letting the client reach the host's own network
 * (server-side request forgery): every address the name resolves to is checked at connect time
 * (so a DNS answer cannot change between the check and the connection), IP literals are checked
 * too, redirects are followed a few times under the same rule, and the body is capped.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Loopback, private, link-local, shared, multicast and reserved ranges. */
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !NOT_PUBLIC.check(address, 'ipv4');
  if (family !== 6) return false;
  // IPv4-mapped IPv6 (::ffff:10.0.0.1) reaches the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return !NOT_PUBLIC.check(mapped[1]!, 'ipv4');
  return !NOT_PUBLIC.check(address, 'ipv6');
}

export class DownloadError extends Error {}

/** A resolver that refuses names with any non-public address. */
const publicLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => !isPublicAddress(a.address));
    if (bad || list.length === 0) return callback(new DownloadError(`${hostname} is not a public address`), '', 0);
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
};

export interface DownloadOptions {
  /** Allow loopback and private addresses (an operator's choice, e.g. an internal image host). */
  allowPrivate?: boolean;
  maxBytes?: number;
  timeoutMs?: number;
  maxRedirects?: number;
}

export interface Download {
  data: Uint8Array;
  /** The response's media type without parameters, when it gave one. */
  mimeType: string | undefined;
}

export async function downloadPublic(url: string, options: DownloadOptions = {}): Promise<Download> {
  const maxBytes = options.maxBytes ?? 20 * 1024 * 1024;
  let target = new URL(url);
  for (let hop = 0; ; hop++) {
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new DownloadError('only http and https URLs can be downloaded');
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (!options.allowPrivate && isIP(literal) && !isPublicAddress(literal)) throw new DownloadError(`${literal} is not a public address`);
    const res = await get(target, options.allowPrivate ? undefined : publicLookup, options.timeoutMs ?? 15_000);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (hop >= (options.maxRedirects ?? 3)) throw new DownloadError('too many redirects');
      target = new URL(res.headers.location, target);
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new DownloadError(`the server answered ${status}`);
    }
    const declared = Number(res.headers['content-length'] ?? 0);
    if (declared > maxBytes) {
      res.destroy();
      throw new DownloadError(`larger than ${maxBytes} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy();
        throw new DownloadError(`larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
    const type = res.headers['content-type']?.split(';')[0]?.trim();
    return { data: Buffer.concat(chunks, size), mimeType: type || undefined };
  }
}

function get(url: URL, lookup: LookupFunction | undefined, timeoutMs: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, { ...(lookup ? { lookup } : {}), timeout: timeoutMs, headers: { accept: 'image/*,*/*;q=0.5' } }, resolve);
    req.on('timeout', () => req.destroy(new DownloadError('timed out')));
    req.on('error', reject);
  });
}
