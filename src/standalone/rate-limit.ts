/**
 * Optional per-key rate limit (RATE_LIMIT_RPM): a token bucket per client key (or per address for
 * keyless requests), refilled continuously, in memory. Per instance: behind a load balancer each
 * instance enforces its own share.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(
    private readonly rpm: number,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = rpm / 60_000;
  }

  /** Takes one token; returns 0 when allowed, else the seconds until the next token. */
  take(key: string): number {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.rpm, at: now };
      this.buckets.set(key, bucket);
      if (this.buckets.size > 100_000) this.sweep(now);
    } else {
      bucket.tokens = Math.min(this.rpm, bucket.tokens + (now - bucket.at) * this.perMs);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
  }

  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) if (now - bucket.at > 60_000) this.buckets.delete(key);
  }
}
