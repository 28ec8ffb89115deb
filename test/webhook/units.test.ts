import { describe, expect, it } from 'vitest';
import { DeliveryLedger } from '../../src/groups/webhook/deliveries.js';
import { parsePath, valueAtPath } from '../../src/groups/webhook/inputs.js';
import { parseInputMapping, readSettings } from '../../src/groups/webhook/settings.js';
import { decodeSignature, safeEqual } from '../../src/groups/webhook/verify.js';
import { memoryStore } from './helpers.js';

describe('json paths', () => {
  const doc = { a: { b: [{ c: 1 }, { 'd.e': 'dotted' }] }, 'x-y': true, n: null };

  it('reads dots, indexes, quoted keys and a leading $', () => {
    expect(valueAtPath(doc, 'a.b[0].c')).toBe(1);
    expect(valueAtPath(doc, 'a.b.0.c')).toBe(1);
    expect(valueAtPath(doc, '$.a.b[1]["d.e"]')).toBe('dotted');
    expect(valueAtPath(doc, "a.b[1]['d.e']")).toBe('dotted');
    expect(valueAtPath(doc, 'x-y')).toBe(true);
  });

  it('leads nowhere without throwing', () => {
    expect(valueAtPath(doc, 'a.z.q')).toBeUndefined();
    expect(valueAtPath(doc, 'a.b[5].c')).toBeUndefined();
    expect(valueAtPath(doc, 'n.x')).toBeUndefined();
    expect(valueAtPath('text', 'length')).toBeUndefined();
    expect(valueAtPath(doc, 'constructor')).toBeUndefined();
    expect(parsePath('a.')).toBeNull();
    expect(parsePath('a[')).toBeNull();
  });
});

describe('input_mapping', () => {
  it('accepts comma and newline separated pairs with spaces', () => {
    expect(parseInputMapping('title=pull_request.title, author = sender.login\n\nn=a[0]')).toEqual([
      { input: 'title', path: 'pull_request.title' },
      { input: 'author', path: 'sender.login' },
      { input: 'n', path: 'a[0]' },
    ]);
    expect(parseInputMapping('')).toEqual([]);
  });

  it('rejects pairs without = or with a bad input name', () => {
    expect(() => parseInputMapping('title')).toThrow(/title/);
    expect(() => parseInputMapping('9x=a')).toThrow(/9x=a/);
    expect(() => parseInputMapping('x=')).toThrow();
  });
});

describe('settings: unset is absent, null or blank', () => {
  const OPTIONAL = ['verification', 'signature_header', 'payload_input', 'input_mapping', 'name_input', 'response_mode'] as const;
  const defaults = { app: 'a', verification: 'hmac_sha256', secret: 's', signatureHeader: 'X-Hub-Signature-256', payloadInput: 'payload', inputMapping: [], nameInput: '', responseMode: 'sync' };

  it('absent, null and "" all take the defaults', () => {
    expect(readSettings({ app: 'a', secret: 's' })).toEqual(defaults);
    expect(readSettings({ app: 'a', secret: 's', ...Object.fromEntries(OPTIONAL.map((k) => [k, null])) })).toEqual(defaults);
    // payload_input "" keeps its documented meaning: pass no payload
    expect(readSettings({ app: 'a', secret: 's', ...Object.fromEntries(OPTIONAL.map((k) => [k, ''])) })).toEqual({ ...defaults, payloadInput: '' });
    expect(readSettings({ app: 'a', secret: 's', ...Object.fromEntries(OPTIONAL.map((k) => [k, '  '])) })).toEqual({ ...defaults, payloadInput: '' });
  });

  it('secret unset (null or "") with verification none is fine; with a verification it names the problem', () => {
    for (const secret of [undefined, null, '']) {
      expect(readSettings({ app: 'a', verification: 'none', secret }).secret).toBe('');
      expect(() => readSettings({ app: 'a', secret })).toThrow(/no secret is set/);
    }
  });

  it('a missing app is still a misconfiguration', () => {
    for (const app of [undefined, null, '']) expect(() => readSettings({ app, secret: 's' })).toThrow(/check the setting\(s\): app/);
  });
});

describe('signature decoding', () => {
  const hex = 'a'.repeat(64);
  it('reads sha256=<hex>, bare hex (any case) and base64', () => {
    expect(decodeSignature(`sha256=${hex}`)?.toString('hex')).toBe(hex);
    expect(decodeSignature(hex.toUpperCase())?.toString('hex')).toBe(hex);
    expect(decodeSignature(Buffer.from(hex, 'hex').toString('base64'))?.toString('hex')).toBe(hex);
  });
  it('refuses other digests and lengths', () => {
    expect(decodeSignature(`sha1=${'a'.repeat(40)}`)).toBeNull();
    expect(decodeSignature('sha256=abc')).toBeNull();
    expect(decodeSignature('')).toBeNull();
  });
  it('safeEqual compares values of different lengths', () => {
    expect(safeEqual(Buffer.from('abc'), Buffer.from('abc'))).toBe(true);
    expect(safeEqual(Buffer.from('abc'), Buffer.from('abcd'))).toBe(false);
  });
});

describe('delivery ledger', () => {
  it('treats a record older than the window as absent even if the store kept it', async () => {
    let now = 1_000_000;
    const store = memoryStore();
    // A store without expiry (the record stays), so only the ledger's own clock decides.
    store.set = async (key, value) => void store.entries.set(key, { value, expires: Infinity });
    const ledger = new DeliveryLedger(store, 'ep', 300, () => now);
    expect(await ledger.claim('id', 'run-1')).toEqual({ fresh: true });
    now += 299_000;
    expect(await ledger.claim('id', 'run-2')).toEqual({ fresh: false, runId: 'run-1' });
    now += 2_000;
    expect(await ledger.claim('id', 'run-3')).toEqual({ fresh: true });
  });

  it('keeps endpoints apart and makes keys the plugin storage accepts', async () => {
    const store = memoryStore();
    const a = new DeliveryLedger(store, 'endpoint-a');
    const b = new DeliveryLedger(store, 'endpoint-b');
    expect(await a.claim('same', 'r1')).toEqual({ fresh: true });
    expect(await b.claim('same', 'r2')).toEqual({ fresh: true });
    const key = a.key('../../weird//id\\');
    expect(key.length).toBeLessThanOrEqual(256);
    expect(key).not.toMatch(/\.\.|\/\/|\\/);
  });
});
