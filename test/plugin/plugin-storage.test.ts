import { describe, expect, it } from 'vitest';
import { validateStorageKey, type DifyStorage } from '@dify/plugin-sdk-shim';
import { createPluginStorageStore, pluginStorageKey } from '../../src/backend/plugin-storage.js';

/** The daemon's storage as the shim exposes it: bytes by key, the daemon's key rules, no expiry. */
function daemonStorage(): DifyStorage & { data: Map<string, Buffer> } {
  const data = new Map<string, Buffer>();
  return {
    data,
    async get(key) {
      validateStorageKey(key);
      return data.get(key) ?? null;
    },
    async set(key, value) {
      validateStorageKey(key);
      data.set(key, Buffer.from(value));
    },
    async del(key) {
      validateStorageKey(key);
      data.delete(key);
    },
    async exist(key) {
      validateStorageKey(key);
      return data.has(key);
    },
  };
}

describe('createPluginStorageStore', () => {
  it('stores, reads and deletes strings', async () => {
    const storage = daemonStorage();
    const store = createPluginStorageStore({ storage });
    expect(await store.get('conv:abc')).toBeNull();
    await store.set('conv:abc', '{"conversation_id":"c1"} ✓');
    expect(await store.get('conv:abc')).toBe('{"conversation_id":"c1"} ✓');
    await store.delete('conv:abc');
    expect(await store.get('conv:abc')).toBeNull();
    await store.delete('never-set');
  });

  it('emulates expiry: an expired value reads as missing and is removed', async () => {
    const storage = daemonStorage();
    let now = 1_000_000;
    const store = createPluginStorageStore({ storage }, () => now);
    await store.set('k', 'v', 60);
    await store.set('forever', 'v');
    now += 59_999;
    expect(await store.get('k')).toBe('v');
    now += 1;
    expect(await store.get('k')).toBeNull();
    expect(storage.data.has(pluginStorageKey('k'))).toBe(false);
    now += 10 ** 12;
    expect(await store.get('forever')).toBe('v');
    await store.set('forever', 'gone', 0);
    expect(await store.get('forever')).toBeNull();
  });

  it('maps any key to one the daemon accepts, without collisions', async () => {
    const storage = daemonStorage();
    const store = createPluginStorageStore({ storage });
    const keys = ['plain-key', 'a/../b', 'x//y', 'back\\slash', 'k'.repeat(300), 'ünïcode key', `kvh:${'0'.repeat(64)}`];
    for (const [i, key] of keys.entries()) await store.set(key, `value ${i}`);
    for (const [i, key] of keys.entries()) expect(await store.get(key)).toBe(`value ${i}`);
    expect(storage.data.size).toBe(keys.length);
    expect(pluginStorageKey('plain-key')).toBe('kv:plain-key');
    expect(pluginStorageKey('a/../b')).toMatch(/^kvh:[0-9a-f]{64}$/);
  });
});
