/**
 * Replay protection: a delivery id seen within the last five minutes is answered without a second
 * run. Senders retry on timeouts and 5xx, and attackers may replay a signed request verbatim.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { KeyValueStore } from '../../backend/types.js';

export const REPLAY_WINDOW_SECONDS = 300;

export interface DeliveryId {
  id: string;
  /** Where the id came from, for logs. */
  source: 'x-github-delivery' | 'x-request-id' | 'body-sha256';
}

function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first && first.trim() !== '' ? first.trim() : undefined;
}

/** X-GitHub-Delivery, else X-Request-Id, else a hash of the body bytes. */
export function deliveryIdOf(headers: IncomingHttpHeaders, raw: Buffer): DeliveryId {
  const github = firstHeader(headers, 'x-github-delivery');
  if (github) return { id: github, source: 'x-github-delivery' };
  const requestId = firstHeader(headers, 'x-request-id');
  if (requestId) return { id: requestId, source: 'x-request-id' };
  return { id: createHash('sha256').update(raw).digest('hex'), source: 'body-sha256' };
}

interface LedgerEntry {
  runId: string;
  /** Epoch ms of the first delivery; entries older than the window count as absent even if the store kept them. */
  at: number;
}

export type Claim = { fresh: true } | { fresh: false; runId: string | undefined };

/** Claims in progress in this process: closes the window between `get` and `set` for concurrent repeats. */
const inFlight = new Set<string>();

export class DeliveryLedger {
  constructor(
    private readonly store: KeyValueStore,
    private readonly endpointId: string,
    private readonly windowSeconds = REPLAY_WINDOW_SECONDS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Store key: hashed, so any id (and endpoint id) makes a short key the plugin storage accepts. */
  key(id: string): string {
    return `webhook-delivery-${createHash('sha256').update(this.endpointId).update('\0').update(id).digest('hex')}`;
  }

  /**
   * Records the delivery before its run starts. `fresh: false` means it was seen within the window.
   * Store failures propagate: running without replay protection could run a delivery twice.
   */
  async claim(id: string, runId: string): Promise<Claim> {
    const key = this.key(id);
    if (inFlight.has(key)) return { fresh: false, runId: undefined };
    inFlight.add(key);
    try {
      const existing = await this.store.get(key);
      if (existing !== null) {
        const entry = parseEntry(existing);
        if (!entry || this.now() - entry.at < this.windowSeconds * 1000) return { fresh: false, runId: entry?.runId };
      }
      const entry: LedgerEntry = { runId, at: this.now() };
      await this.store.set(key, JSON.stringify(entry), this.windowSeconds);
      return { fresh: true };
    } finally {
      inFlight.delete(key);
    }
  }

  /** Forgets a delivery whose run never happened or failed, so the sender's retry runs. */
  async release(id: string): Promise<void> {
    await this.store.delete(this.key(id));
  }
}

function parseEntry(text: string): LedgerEntry | null {
  try {
    const value = JSON.parse(text) as Partial<LedgerEntry>;
    return typeof value.at === 'number' ? { runId: typeof value.runId === 'string' ? value.runId : '', at: value.at } : null;
  } catch {
    return null;
  }
}
