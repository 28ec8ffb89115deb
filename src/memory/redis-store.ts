/**
 * KeyValueStore on Redis (REDIS_URL): lets several standalone instances share conversation memory.
 * Expiry is Redis's own (SET ... EX). Keys are namespaced with a prefix so one Redis can be shared.
 */
import { Redis } from 'ioredis';
import type { KeyValueStore } from '../backend/types.js';

export interface RedisStoreOptions {
  url: string;
  /** Prepended to every key. */
  prefix?: string;
  /** Fail a command after this long rather than hang a request. */
  commandTimeoutMs?: number;
}

export class RedisKeyValueStore implements KeyValueStore {
  readonly client: Redis;
  private readonly prefix: string;

  constructor(options: RedisStoreOptions) {
    this.prefix = options.prefix ?? 'dify-bridge:';
    this.client = new Redis(options.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      commandTimeout: options.commandTimeoutMs ?? 5000,
      enableOfflineQueue: true,
    });
    // Connection errors surface on commands; without a listener ioredis would print them raw
    // (and the URL may carry a password).
    this.client.on('error', () => {});
  }

  /** Connects and checks the server answers; throws with a message that never contains the URL. */
  async connect(): Promise<void> {
    try {
      if (this.client.status === 'wait') await this.client.connect();
      await this.client.ping();
    } catch (error) {
      throw new Error(`cannot reach Redis at REDIS_URL: ${(error as Error).message}`);
    }
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(this.prefix + key);
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    if (ttlSeconds !== undefined && ttlSeconds > 0) {
      await this.client.set(this.prefix + key, value, 'PX', Math.max(1, Math.round(ttlSeconds * 1000)));
    } else {
      await this.client.set(this.prefix + key, value);
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.del(this.prefix + key);
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
