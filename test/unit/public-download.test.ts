/** Downloads on a client's behalf never reach the host's own network unless the operator allows it. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadPublic, isPublicAddress } from '../../src/util/public-download.js';

let server: Server;
let base: string;
const PNG = Buffer.from('89504e470d0a1a0a', 'hex');

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/img.png') return void res.writeHead(200, { 'content-type': 'image/png; charset=binary' }).end(PNG);
    if (req.url === '/hop') return void res.writeHead(302, { location: '/img.png' }).end();
    if (req.url === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
    if (req.url === '/big') return void res.writeHead(200).end(Buffer.alloc(5000));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('public addresses', () => {
  it.each([
    ['8.8.8.8', true],
    ['1.1.1.1', true],
    ['2606:4700:4700::1111', true],
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.20.0.5', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.100.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['fd00::1', false],
    ['fe80::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:8.8.8.8', true],
    ['not-an-ip', false],
  ])('%s public: %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});

describe('downloadPublic', () => {
  it('refuses loopback by IP and by name, and private IPv6 literals', async () => {
    await expect(downloadPublic(`${base}/img.png`)).rejects.toThrow(/not a public address/);
    await expect(downloadPublic(base.replace('127.0.0.1', 'localhost') + '/img.png')).rejects.toThrow(/not a public address/);
    await expect(downloadPublic('http://[::1]:9/img.png')).rejects.toThrow(/not a public address/);
    await expect(downloadPublic('file:///etc/passwd')).rejects.toThrow(/only http and https/);
  });

  it('with private addresses allowed: the bytes and the media type, redirects followed, limits kept', async () => {
    const got = await downloadPublic(`${base}/hop`, { allowPrivate: true });
    expect(Buffer.from(got.data).equals(PNG)).toBe(true);
    expect(got.mimeType).toBe('image/png');
    await expect(downloadPublic(`${base}/loop`, { allowPrivate: true })).rejects.toThrow(/too many redirects/);
    await expect(downloadPublic(`${base}/big`, { allowPrivate: true, maxBytes: 1000 })).rejects.toThrow(/larger than 1000 bytes/);
    await expect(downloadPublic(`${base}/missing`, { allowPrivate: true })).rejects.toThrow(/answered 404/);
  });
});
