/**
 * KeyValueStore on SQLite (node:sqlite, built into Node 22.13+/24): the standalone server's embedded
 * default. One table; expiry as an absolute epoch-ms column, checked on read and purged now and then.
 * WAL mode with a busy timeout so several processes on one file do not fail on each other's writes.
 * Writes are batched: set/delete land in memory at once (reads see them) and are committed in one
 * transaction shortly after (20 ms), so a busy server pays one commit per batch instead of one per
 * request. A crash (not a clean stop: close() commits) can lose at most that window's writes.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { KeyValueStore } from '../backend/types.js';

export interface SqliteStoreOptions {
  /** Database file; ':memory:' for a private in-memory store. Parent directories are created. */
  file: string;
  /** Clock for expiry (tests). */
  now?: () => number;
  /** Commit batched writes this long after the first one (ms). */
  flushDelayMs?: number;
  /** Purge expired rows after this many writes. */
  purgeEvery?: number;
}

export class SqliteKeyValueStore implements KeyValueStore {
  private readonly db: DatabaseSync;
  private readonly getStmt: StatementSync;
  private readonly setStmt: StatementSync;
  private readonly deleteStmt: StatementSync;
  private readonly purgeStmt: StatementSync;
  private readonly now: () => number;
  private readonly purgeEvery: number;
  private writes = 0;
  private closed = false;
  /** Uncommitted writes: value + absolute expiry, or null for a delete. */
  private readonly pending = new Map<string, { value: string; expiresAt: number | null } | null>();
  private flushScheduled = false;
  private readonly flushDelayMs: number;

  constructor(options: SqliteStoreOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    // Resolved at run time so merely loading this module never needs node:sqlite (Node >= 22.13).
    const sqlite = process.getBuiltinModule?.('node:sqlite') as typeof import('node:sqlite') | undefined;
    if (!sqlite) throw new Error(`the SQLite store needs Node 22.13 or newer (this is ${process.version})`);
    this.db = new sqlite.DatabaseSync(options.file);
    this.db.exec('PRAGMA busy_timeout = 5000');
    if (options.file !== ':memory:') this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = NORMAL');
    // Checkpoint (copy the WAL into the database, then fsync) every ~16 MB of WAL instead of every
    // 4 MB: fingerprints land on random pages, so a checkpoint copies about one page per row;
    // fewer, larger checkpoints cost ~25% less CPU per stored turn and block the event loop less often.
    this.db.exec('PRAGMA wal_autocheckpoint = 4000');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, expires_at INTEGER)',
    );
    this.db.exec('CREATE INDEX IF NOT EXISTS kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL');
    this.getStmt = this.db.prepare('SELECT value, expires_at FROM kv WHERE key = ?');
    this.setStmt = this.db.prepare(
      'INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at',
    );
    this.deleteStmt = this.db.prepare('DELETE FROM kv WHERE key = ?');
    this.purgeStmt = this.db.prepare('DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?');
    this.now = options.now ?? Date.now;
    this.purgeEvery = options.purgeEvery ?? 500;
    this.flushDelayMs = options.flushDelayMs ?? 20;
  }

  async get(key: string): Promise<string | null> {
    if (this.pending.has(key)) {
      const entry = this.pending.get(key);
      if (!entry) return null;
      if (entry.expiresAt !== null && entry.expiresAt <= this.now()) {
        this.write(key, null);
        return null;
      }
      return entry.value;
    }
    const row = this.getStmt.get(key) as { value: string; expires_at: number | null } | undefined;
    if (!row) return null;
    if (row.expires_at !== null && row.expires_at <= this.now()) {
      this.write(key, null);
      return null;
    }
    return row.value;
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    const expiresAt = ttlSeconds !== undefined && ttlSeconds > 0 ? this.now() + Math.round(ttlSeconds * 1000) : null;
    this.write(key, { value, expiresAt });
  }

  async delete(key: string): Promise<void> {
    this.write(key, null);
  }

  private write(key: string, entry: { value: string; expiresAt: number | null } | null): void {
    if (this.closed) throw new Error('the SQLite store is closed');
    // Re-insert so the Map's order is the order of the last write per key.
    this.pending.delete(key);
    this.pending.set(key, entry);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setTimeout(() => this.flush(), this.flushDelayMs).unref();
    }
  }

  /** Commits pending writes in one transaction (also called by close()). */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.size === 0 || this.closed) return;
    const batch = [...this.pending];
    this.pending.clear();
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const [key, entry] of batch) {
        if (entry) this.setStmt.run(key, entry.value, entry.expiresAt);
        else this.deleteStmt.run(key);
      }
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
    this.writes += batch.length;
    if (this.writes >= this.purgeEvery) {
      this.writes = 0;
      this.purgeExpired();
    }
  }

  /** Removes every expired row; returns how many. */
  purgeExpired(): number {
    this.flushPendingNow();
    return Number(this.purgeStmt.run(this.now()).changes);
  }

  private flushPendingNow(): void {
    if (this.pending.size > 0) this.flush();
  }

  close(): void {
    if (this.closed) return;
    this.flushPendingNow();
    this.closed = true;
    this.db.close();
  }
}
