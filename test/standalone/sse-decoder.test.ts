import { describe, expect, it } from 'vitest';
import { decodeDifyEvents } from '../../src/dify/sse-decoder.js';
import { legacyJson } from '../fakes/dify-service-api.js';

async function* chunks(parts: Array<string | Uint8Array>) {
  for (const part of parts) yield typeof part === 'string' ? new TextEncoder().encode(part) : part;
}

async function decodeAll(parts: Array<string | Uint8Array>) {
  const out = [];
  for await (const e of decodeDifyEvents(chunks(parts))) out.push(e);
  return out;
}

describe('Dify SSE decoder', () => {
  it('keeps multi-byte characters intact when every byte arrives alone', async () => {
    const frame = new TextEncoder().encode('data: {"event":"message","answer":"你好, 世界 🌍"}\n\n');
    const parts = Array.from(frame, (b) => new Uint8Array([b]));
    expect(await decodeAll(parts)).toEqual([{ event: 'message', answer: '你好, 世界 🌍' }]);
  });

  it('skips event: ping frames and comments, tolerates CRLF', async () => {
    const events = await decodeAll(['event: ping\r\n\r\n', ': keepalive\r\n\r\n', 'data: {"event":"message","answer":"a"}\r', '\n\r\n', 'event: ping\n\n', 'data: {"event":"message_end"}\n\n']);
    expect(events.map((e) => e.event)).toEqual(['message', 'message_end']);
  });

  it('reads the legacy spaced, ASCII-escaped JSON style', async () => {
    const legacy = legacyJson({ event: 'message', answer: 'Grüße 你好' });
    expect(legacy).toContain('\\u4f60');
    expect(legacy).toContain('", "');
    const events = await decodeAll([`data: ${legacy}\n\n`]);
    expect(events).toEqual([{ event: 'message', answer: 'Grüße 你好' }]);
  });

  it('reports a non-JSON data frame as an in-band error and stops', async () => {
    const events = await decodeAll(['data: {"event":"message","answer":"x"}\n\ndata: <html>oops</html>\n\ndata: {"event":"message_end"}\n\n']);
    expect(events.map((e) => e.event)).toEqual(['message', 'error']);
    expect(events[1]).toMatchObject({ code: 'upstream_malformed_event', status: 502 });
  });

  it('dispatches a last frame that lost its blank line', async () => {
    expect(await decodeAll(['data: {"event":"message_end"}'])).toEqual([{ event: 'message_end' }]);
  });

  it('joins multi-line data, takes "data:" without a space, lone CR endings and frames split anywhere', async () => {
    const stream = 'data:{"event":"message",\ndata: "answer":"a b"}\r\rid: 7\nretry: 10\ndata: {"event":"message","answer":"  x"}\n\nevent: message\ndata: {"event":"message_end"}\r\n\r\n';
    const expected = [{ event: 'message', answer: 'a b' }, { event: 'message', answer: '  x' }, { event: 'message_end' }];
    expect(await decodeAll([stream])).toEqual(expected);
    for (let cut = 1; cut < stream.length; cut++) {
      expect(await decodeAll([stream.slice(0, cut), stream.slice(cut)])).toEqual(expected);
    }
  });

  it('ignores data under any other event name', async () => {
    expect(await decodeAll(['event: tts\ndata: {"event":"x"}\n\ndata: {"event":"message_end"}\n\n'])).toEqual([{ event: 'message_end' }]);
  });
});
