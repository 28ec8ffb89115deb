// KeyValueStore over the daemon's plugin storage (reverse invocation `storage`, through the shim).
// The daemon has no expiry, so a value is stored with its expiry time and an expired value reads as
// missing (and is deleted on that read). Keys are mapped to the daemon's key rules: short safe keys
// keep their name under `kv:`, anything else becomes `kvh:<sha256>`, so two keys never collide.
import { createHash } from 'node:crypto';
import type { DifyStorage } from '@dify/plugin-sdk-shim';
import type { KeyValueStore } from './types.js';

const SAFE_KEY = /^[A-Za-z0-9_.:-]{1,200}$/;

export function pluginStorageKey(key: string): string {
  if (SAFE_KEY.test(key) && !key.includes('..')) return `kv:${key}`;
  return `kvh:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

interface Envelope {
  /** the value */
  v: string;
  /** expiry, ms since the epoch */
  e?: number;
}

function decode(raw: Buffer): Envelope | null {
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as Partial<Envelope>;
    if (typeof parsed.v !== 'string') return null;
    return parsed.e === undefined || typeof parsed.e === 'number' ? (parsed as Envelope) : null;
  } catch {
    return null;
  }
}

export function createPluginStorageStore(session: { readonly storage: DifyStorage }, now: () => number = Date.now): KeyValueStore {
  const storage = session.storage;
  return {
    async get(key) {
      const name = pluginStorageKey(key);
      const raw = await storage.get(name);
      if (raw === null) return null;
      const envelope = decode(raw);
      if (!envelope) return null;
      if (envelope.e !== undefined && envelope.e <= now()) {
        await storage.del(name).catch(() => undefined);
        return null;
      }
      return envelope.v;
    },
    async set(key, value, ttlSeconds) {
      const name = pluginStorageKey(key);
      if (ttlSeconds !== undefined && ttlSeconds <= 0) {
        await storage.del(name);
        return;
      }
      const envelope: Envelope = ttlSeconds === undefined ? { v: value } : { v: value, e: now() + ttlSeconds * 1000 };
      await storage.set(name, JSON.stringify(envelope));
    },
    async delete(key) {
      await storage.del(pluginStorageKey(key));
    },
  };
}
