import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeyValueStore } from '../../src/memory/redis-store.js';
import { SqliteKeyValueStore } from '../../src/memory/sqlite-store.js';
import { startRedis, tempDir, waitFor } from './helpers.js';

describe('SQLite key-value store', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('survives a restart (a new store on the same file)', async () => {
    const file = join(dir, 'nested', 'bridge.sqlite');
    const first = new SqliteKeyValueStore({ file });
    await first.set('conv:a', '{"conversation_id":"c1"}');
    await first.set('conv:b', 'soon gone', 3600);
    first.close();
    const second = new SqliteKeyValueStore({ file });
    expect(await second.get('conv:a')).toBe('{"conversation_id":"c1"}');
    expect(await second.get('conv:b')).toBe('soon gone');
    await second.delete('conv:a');
    expect(await second.get('conv:a')).toBeNull();
    second.close();
  });

  it('commits a burst of writes together and reads its own uncommitted writes', async () => {
    const file = join(dir, 'burst.sqlite');
    const store = new SqliteKeyValueStore({ file });
    for (let i = 0; i < 100; i++) await store.set(`k${i}`, String(i));
    await store.delete('k5');
    expect(await store.get('k7')).toBe('7');
    expect(await store.get('k5')).toBeNull();
    store.close();
    const reopened = new SqliteKeyValueStore({ file });
    expect(await reopened.get('k99')).toBe('99');
    expect(await reopened.get('k5')).toBeNull();
    reopened.close();
  });

  it('expires entries and purges them', async () => {
    let now = 1_000_000;
    const store = new SqliteKeyValueStore({ file: ':memory:', now: () => now });
    await store.set('k', 'v', 10);
    await store.set('forever', 'v');
    expect(await store.get('k')).toBe('v');
    now += 10_001;
    expect(await store.get('k')).toBeNull();
    await store.set('k2', 'v', 1);
    now += 2000;
    expect(store.purgeExpired()).toBe(1);
    expect(await store.get('forever')).toBe('v');
    store.close();
  });

  it('lets two handles on one file see each other (two processes on one data dir)', async () => {
    const file = join(dir, 'shared.sqlite');
    const a = new SqliteKeyValueStore({ file });
    const b = new SqliteKeyValueStore({ file });
    const committed = () => new Promise((r) => setTimeout(r, 60));
    await a.set('x', '1');
    await committed();
    expect(await b.get('x')).toBe('1');
    await b.set('x', '2');
    await committed();
    expect(await a.get('x')).toBe('2');
    a.close();
    b.close();
  });
});

describe('Redis key-value store (real redis-server)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('shares values between two clients and expires them', async () => {
    const a = new RedisKeyValueStore({ url: redis.url, prefix: 't1:' });
    const b = new RedisKeyValueStore({ url: redis.url, prefix: 't1:' });
    await a.connect();
    await b.connect();
    await a.set('conv', 'c1');
    expect(await b.get('conv')).toBe('c1');
    await b.set('short', 'v', 0.2);
    expect(await a.get('short')).toBe('v');
    await waitFor(async () => (await a.get('short')) === null, 3000, 'expiry');
    await a.delete('conv');
    expect(await b.get('conv')).toBeNull();
    await a.close();
    await b.close();
  });

  it('keeps namespaces apart by prefix', async () => {
    const a = new RedisKeyValueStore({ url: redis.url, prefix: 'one:' });
    const b = new RedisKeyValueStore({ url: redis.url, prefix: 'two:' });
    await a.set('k', 'a');
    expect(await b.get('k')).toBeNull();
    await a.close();
    await b.close();
  });

  it('fails to connect with a message that hides the URL', async () => {
    const store = new RedisKeyValueStore({ url: 'redis://:s3cretpass@127.0.0.1:1/0' });
    const error = (await store.connect().catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/REDIS_URL/);
    expect(error.message).not.toContain('s3cretpass');
    store.client.disconnect();
  });
});
