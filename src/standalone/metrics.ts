/**
 * Prometheus metrics in the text exposition format (no library needed for four series):
 * requests by route and status, request latency histogram, upstream (Dify) errors, open streams.
 */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly upstreamErrors = new Map<string, number>();
  private openStreams = 0;
  private streamsTotal = 0;

  request(route: string, method: string, status: number, seconds: number): void {
    const key = `route="${label(route)}",method="${label(method)}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const hkey = `route="${label(route)}"`;
    let h = this.latency.get(hkey);
    if (!h) {
      h = { counts: new Array<number>(BUCKETS.length).fill(0), sum: 0, count: 0 };
      this.latency.set(hkey, h);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  upstreamError(kind: string): void {
    const key = `kind="${label(kind)}"`;
    this.upstreamErrors.set(key, (this.upstreamErrors.get(key) ?? 0) + 1);
  }

  streamOpened(): void {
    this.openStreams++;
    this.streamsTotal++;
  }

  streamClosed(): void {
    this.openStreams--;
  }

  get openStreamCount(): number {
    return this.openStreams;
  }

  render(): string {
    const lines: string[] = [];
    lines.push('# HELP dify_bridge_http_requests_total HTTP requests by route, method and status.');
    lines.push('# TYPE dify_bridge_http_requests_total counter');
    for (const [k, v] of this.requests) lines.push(`dify_bridge_http_requests_total{${k}} ${v}`);
    lines.push('# HELP dify_bridge_http_request_duration_seconds Time to finish a response (streams: until the last byte).');
    lines.push('# TYPE dify_bridge_http_request_duration_seconds histogram');
    for (const [k, h] of this.latency) {
      BUCKETS.forEach((b, i) => lines.push(`dify_bridge_http_request_duration_seconds_bucket{${k},le="${b}"} ${h.counts[i]}`));
      lines.push(`dify_bridge_http_request_duration_seconds_bucket{${k},le="+Inf"} ${h.count}`);
      lines.push(`dify_bridge_http_request_duration_seconds_sum{${k}} ${h.sum}`);
      lines.push(`dify_bridge_http_request_duration_seconds_count{${k}} ${h.count}`);
    }
    lines.push('# HELP dify_bridge_upstream_errors_total Failed calls to Dify by kind (http_<status>, timeout, network, stream_error...).');
    lines.push('# TYPE dify_bridge_upstream_errors_total counter');
    for (const [k, v] of this.upstreamErrors) lines.push(`dify_bridge_upstream_errors_total{${k}} ${v}`);
    lines.push('# HELP dify_bridge_open_streams Event streams being sent to clients right now.');
    lines.push('# TYPE dify_bridge_open_streams gauge');
    lines.push(`dify_bridge_open_streams ${this.openStreams}`);
    lines.push('# HELP dify_bridge_streams_total Event streams started.');
    lines.push('# TYPE dify_bridge_streams_total counter');
    lines.push(`dify_bridge_streams_total ${this.streamsTotal}`);
    return `${lines.join('\n')}\n`;
  }
}
