/**
 * Decodes a Dify Service API event stream (text/event-stream) into parsed JSON event objects.
 *
 * Dify frames are `data: <one-line JSON>\n\n` and `event: ping\n\n`; the event type lives in the
 * JSON's `event` key. Transport chunks can split anywhere, including inside a UTF-8 sequence, so
 * bytes go through one streaming decoder (node's StringDecoder: several times faster here than
 * TextDecoder in stream mode) before the SSE parser; frames that repeat are parsed cheaply
 * (RepeatedFrameParser). `\r\n` line endings, comments
 * and `event: ping` frames (no data, never dispatched) are tolerated. Both JSON styles (compact raw
 * UTF-8 and the legacy spaced, ASCII-escaped one) are just JSON.
 *
 * The decoder yields plain objects; typing them is src/dify/events.ts's job.
 */
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceParser } from 'eventsource-parser';
import { RepeatedFrameParser } from './repeated-frame-parser.js';

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

/** Shared empty result: most pushes complete no event or many; never mutated. */
const NONE: RawDifyEvent[] = [];

/** The decoder itself, synchronous: bytes in, the events they complete out. The generators below wrap it. */
class DifyEventDecoder {
  private readonly text = new StringDecoder('utf8');
  private readonly frames = new RepeatedFrameParser();
  private readonly parser: EventSourceParser;
  private ready: RawDifyEvent[] = [];
  /** A malformed frame was reported: nothing after it is decoded. */
  broken = false;

  constructor() {
    this.parser = createParser({ onEvent: (message) => this.onFrame(message.event, message.data) });
  }

  /** The events completed by this transport chunk (often none or many). */
  push(chunk: Uint8Array): RawDifyEvent[] {
    if (this.broken) return NONE;
    const text = this.text.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (text) this.parser.feed(text);
    return this.take();
  }

  /** The body ended: the events of a last frame that lost its blank line. */
  end(): RawDifyEvent[] {
    if (this.broken) return NONE;
    // Dify always ends frames with \n\n, but a proxy in between may trim the last one.
    this.parser.feed(`${this.text.end()}\n\n`);
    return this.take();
  }

  private take(): RawDifyEvent[] {
    if (this.ready.length === 0) return NONE;
    const out = this.ready;
    this.ready = [];
    return out;
  }

  private onFrame(event: string | undefined, data: string): void {
    if (this.broken) return;
    // Only default-typed ("message") frames carry Dify JSON; any named event with data is ignored
    // the same way `event: ping` is.
    if (event !== undefined && event !== 'message') return;
    if (data === '' || data === '[DONE]') return;
    let parsed: unknown;
    try {
      parsed = this.frames.parse(data);
    } catch {
      this.broken = true;
      this.ready.push(malformedEvent(data.length > 80 ? `${data.slice(0, 80)}...` : data));
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      this.broken = true;
      this.ready.push(malformedEvent('not an object'));
      return;
    }
    const record = parsed as Record<string, unknown>;
    if (typeof record.event !== 'string') record.event = 'unknown';
    this.ready.push(record as RawDifyEvent);
  }
}

/**
 * Yields each Dify event object in order. Ends when the body ends. A `data:` frame that is not a
 * JSON object yields one `error` event (code `upstream_malformed_event`) and stops.
 */
export async function* decodeDifyEvents(body: ByteSource): AsyncGenerator<RawDifyEvent> {
  for await (const batch of decodeDifyEventBatches(body)) {
    for (const event of batch) yield event;
  }
}

/**
 * The same events as `decodeDifyEvents`, as the non-empty arrays decoded from each transport chunk
 * (one promise hop per upstream read, not per event).
 */
export async function* decodeDifyEventBatches(body: ByteSource): AsyncGenerator<RawDifyEvent[]> {
  const decoder = new DifyEventDecoder();
  for await (const chunk of toAsyncIterable(body)) {
    const batch = decoder.push(chunk);
    if (batch.length > 0) yield batch;
    if (decoder.broken) return;
  }
  const last = decoder.end();
  if (last.length > 0) yield last;
}
