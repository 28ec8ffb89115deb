/**
 * Maps a conversation fingerprint to the Dify conversation that continues it, over any
 * KeyValueStore (plugin storage, SQLite, Redis, in-memory in tests).
 */
import type { KeyValueStore } from '../backend/types.js';

export interface ConversationRecord {
  conversationId: string;
  messageId?: string;
  /** Seconds since epoch when the turn was stored. */
  at: number;
}

/** 30 days: a chat left for a month starts a new Dify conversation (seeded with its history). */
export const DEFAULT_TTL_SECONDS = 30 * 24 * 3600;

export class ConversationStore {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly ttlSeconds = DEFAULT_TTL_SECONDS,
    private readonly prefix = 'conv:',
  ) {}

  async lookup(fp: string): Promise<ConversationRecord | null> {
    const raw = await this.kv.get(this.prefix + fp);
    if (!raw) return null;
    try {
      const rec = JSON.parse(raw) as ConversationRecord;
      return typeof rec.conversationId === 'string' && rec.conversationId ? rec : null;
    } catch {
      return null;
    }
  }

  /**
   * Stores `fp` as the newest state of the record's conversation (`continued`: the conversation
   * existed before this turn). Only the newest state continues it:
   * a history that branches off an older turn must not land in a Dify conversation that has moved on.
   */
  async remember(fp: string, record: Omit<ConversationRecord, 'at'>, continued = true): Promise<void> {
    const rec: ConversationRecord = { ...record, at: Math.floor(Date.now() / 1000) };
    await this.kv.set(this.prefix + fp, JSON.stringify(rec), this.ttlSeconds);
    // A conversation's first state needs no head: with none stored, the only state is the newest.
    if (continued) await this.kv.set(this.headKey(record.conversationId), fp, this.ttlSeconds);
  }

  /** The conversation `fp` continues, if `fp` is still that conversation's newest state. */
  async continuation(fp: string): Promise<ConversationRecord | null> {
    const rec = await this.lookup(fp);
    if (!rec) return null;
    const head = await this.kv.get(this.headKey(rec.conversationId));
    return head === null || head === fp ? rec : null;
  }

  private headKey(conversationId: string): string {
    return this.prefix + 'head:' + conversationId;
  }

  async forget(fp: string): Promise<void> {
    await this.kv.delete(this.prefix + fp);
  }
}

/** A KeyValueStore in memory (tests, and a fallback when a host has no store). */
export class MemoryKeyValueStore implements KeyValueStore {
  private readonly map = new Map<string, { value: string; expires: number }>();
  async get(key: string): Promise<string | null> {
    const e = this.map.get(key);
    if (!e) return null;
    if (e.expires && e.expires < Date.now()) {
      this.map.delete(key);
      return null;
    }
    return e.value;
  }
  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    this.map.set(key, { value, expires: ttlSeconds ? Date.now() + ttlSeconds * 1000 : 0 });
  }
  async delete(key: string): Promise<void> {
    this.map.delete(key);
  }
  get size(): number {
    return this.map.size;
  }
}
