/**
 * Decodes a Dify Service API event stream (text/event-stream) into parsed JSON event objects.
 *
 * Dify frames are `data: <one-line JSON>\n\n` and `event: ping\n\n`; the event type lives in the
 * JSON's `event` key. Transport chunks can split anywhere, including inside a UTF-8 sequence, so
 * bytes go through one streaming TextDecoder before the SSE parser. `\r\n` line endings, comments
 * and `event: ping` frames (no data, never dispatched) are tolerated. Both JSON styles (compact raw
 * UTF-8 and the legacy spaced, ASCII-escaped one) are just JSON.
 *
 * The decoder yields plain objects; typing them is src/dify/events.ts's job.
 */
export type RawDifyEvent = Record<string, unknown> & { event: string };

/** A frame whose data is not a JSON object: surfaced as an in-band error event, then the stream ends. */
export function malformedEvent(detail: string): RawDifyEvent {
  return {
    event: 'error',
    code: 'upstream_malformed_event',
    status: 502,
    message: `Dify sent an event that is not valid JSON: ${detail}`,
  };
}

type ByteSource = AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

function toAsyncIterable(source: ByteSource): AsyncIterable<Uint8Array> {
  if (Symbol.asyncIterator in source) return source as AsyncIterable<Uint8Array>;
  const stream = source as ReadableStream<Uint8Array>;
  return {
    async *[Symbol.asyncIterator]() {
      const reader = stream.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value;
        }
      } finally {
        reader.releaseLock();
      }
    },
  };
}

/**
 * A minimal text/event-stream parser for what decodeDifyEvents needs: `data` lines (several joined
 * with "\n") dispatched at a blank line with their `event` type; comments, `id`, `retry` and unknown
 * fields ignored; `\r\n`, `\r` and `\n` line endings, also split across chunks. One pass over each
 * chunk with indexOf, no per-line allocation besides the field values.
 */
class SseFrames {
  private buffer = '';
  private data: string | undefined;
  private eventType: string | undefined;
  /** The previous chunk ended with \r: a \n starting the next one belongs to that line ending. */
  private skipLf = false;

  constructor(private readonly onFrame: (data: string, eventType: string | undefined) => void) {}

  feed(chunk: string): void {
    const text = this.buffer === '' ? chunk : this.buffer + chunk;
    this.buffer = '';
    const length = text.length;
    let pos = 0;
    if (this.skipLf) {
      this.skipLf = false;
      if (text.charCodeAt(0) === 0x0a) pos = 1;
    }
    let lf = text.indexOf('\n', pos);
    let cr = text.indexOf('\r', pos);
    while (pos < length) {
      if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos);
      if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
      let end: number;
      let next: number;
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        if (lf === -1) break;
        end = lf;
        next = lf + 1;
      } else {
        end = cr;
        if (cr + 1 < length) next = text.charCodeAt(cr + 1) === 0x0a ? cr + 2 : cr + 1;
        else {
          next = cr + 1;
          this.skipLf = true;
        }
      }
      this.line(text, pos, end);
      pos = next;
    }
    if (pos < length) this.buffer = text.slice(pos);
  }

  private line(text: string, start: number, end: number): void {
    if (start === end) {
      const data = this.data;
      const eventType = this.eventType;
      this.data = undefined;
      this.eventType = undefined;
      if (data !== undefined) this.onFrame(data, eventType);
      return;
    }
    if (text.charCodeAt(start) === 0x3a) return; // ":" comment
    let colon = text.indexOf(':', start);
    if (colon === -1 || colon > end) colon = end;
    let valueStart = colon + 1;
    if (valueStart < end && text.charCodeAt(valueStart) === 0x20) valueStart++;
    const value = valueStart < end ? text.slice(valueStart, end) : '';
    const nameLength = colon - start;
    if (nameLength === 4 && text.startsWith('data', start)) this.data = this.data === undefined ? value : `${this.data}\n${value}`;
    else if (nameLength === 5 && text.startsWith('event', start)) this.eventType = value;
  }
}

/**
 * Yields each Dify event object in order. Ends when the body ends. A `data:` frame that is not a
 * JSON object yields one `error` event (code `upstream_malformed_event`) and stops.
 */
export async function* decodeDifyEvents(body: ByteSource): AsyncGenerator<RawDifyEvent> {
  const decoder = new TextDecoder('utf-8');
  let ready: RawDifyEvent[] = [];
  let broken = false;
  const parser = new SseFrames((data, eventType) => {
    if (broken) return;
    // Only default-typed ("message") frames carry Dify JSON; any named event with data is ignored
    // the same way `event: ping` is.
    if (eventType !== undefined && eventType !== '' && eventType !== 'message') return;
    if (data === '' || data === '[DONE]') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      broken = true;
      ready.push(malformedEvent(data.length > 80 ? `${data.slice(0, 80)}...` : data));
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      broken = true;
      ready.push(malformedEvent('not an object'));
      return;
    }
    const record = parsed as Record<string, unknown>;
    if (typeof record.event !== 'string') record.event = 'unknown';
    ready.push(record as RawDifyEvent);
  });
  for await (const chunk of toAsyncIterable(body)) {
    const text = decoder.decode(chunk, { stream: true });
    if (text) parser.feed(text);
    if (ready.length > 0) {
      const batch = ready;
      ready = [];
      for (const event of batch) yield event;
    }
    if (broken) return;
  }
  const tail = decoder.decode();
  // A final frame without its blank line still counts: Dify always ends frames with \n\n, but a
  // proxy in between may trim the last one.
  parser.feed(`${tail}\n\n`);
  for (const event of ready) yield event;
}
