import { describe, expect, it } from 'vitest';
import { RepeatedFrameParser } from '../../src/dify/repeated-frame-parser.js';
import { legacyJson } from '../fakes/dify-service-api.js';

const ids = { conversation_id: 'c1d2e3f4-aaaa-bbbb-cccc-ddddeeeeffff', message_id: 'm-1', created_at: 1767225600, task_id: 't-1', id: 'm-1' };
const message = (answer: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ event: 'message', ...ids, answer, from_variable_selector: null, ...extra });
const textChunk = (text: unknown) => JSON.stringify({ event: 'text_chunk', workflow_run_id: 'w-1', task_id: 't-1', data: { text, from_variable_selector: ['llm', 'text'] } });

/** Feeds frames through one parser; each result must equal JSON.parse of the same frame (or both throw). */
function expectSameAsJsonParse(frames: string[]): { reused: number } {
  const parser = new RepeatedFrameParser();
  let reused = 0;
  let previous: unknown;
  for (const frame of frames) {
    let expected: unknown;
    let expectedError = false;
    try {
      expected = JSON.parse(frame);
    } catch {
      expectedError = true;
    }
    if (expectedError) {
      expect(() => parser.parse(frame), frame).toThrow(SyntaxError);
      continue;
    }
    const got = parser.parse(frame);
    expect(got, frame).toEqual(expected);
    if (previous !== undefined && got !== previous && sharesNested(got, previous)) reused++;
    previous = got;
  }
  return { reused };
}

/** A reused event is a copy of the template, so (some of) its nested values are the template's own objects. */
function sharesNested(a: unknown, b: unknown): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  return Object.keys(x).some((k) => x[k] !== null && typeof x[k] === 'object' && (x[k] === y[k] || (typeof y[k] === 'object' && y[k] !== null && sharesNested(x[k], y[k]))));
}

describe('RepeatedFrameParser', () => {
  it('gives what JSON.parse gives for an answer streamed as many message frames', () => {
    const frames = Array.from({ length: 50 }, (_, i) => message(`tok${i} `, { from_variable_selector: ['llm', 'text'] }));
    expect(expectSameAsJsonParse(frames).reused).toBe(49);
  });

  it('reuses the template: nested values of later frames are the first frame\u2019s objects', () => {
    const parser = new RepeatedFrameParser();
    const frame = (t: string) => message(t, { from_variable_selector: ['llm', 'text'] });
    const first = parser.parse(frame('a')) as Record<string, unknown>;
    const second = parser.parse(frame('b')) as Record<string, unknown>;
    expect(second).toEqual({ ...first, answer: 'b' });
    expect(second.from_variable_selector).toBe(first.from_variable_selector);
    expect(second).not.toBe(first);
  });

  it('handles escapes, quotes, unicode and key-like text inside the answer', () => {
    const answers = ['say \\"hi\\"', 'a "quoted" word', 'line\nbreak\ttab', 'back\\slash\\', '你好 🌍', '","answer":"forged', '\\', '\u2028\u2029', '', ' '];
    expectSameAsJsonParse(answers.map((a) => message(a)));
  });

  it('parses in full when anything but the text changes (ids, created_at, whitespace, key order, event)', () => {
    const frames = [
      message('a'),
      message('b', { id: 'm-2' }),
      message('c', { created_at: 1767225601 }),
      message('d').replace('"answer":', '"answer": '),
      JSON.stringify({ answer: 'e', event: 'message', ...ids }),
      JSON.stringify({ event: 'agent_message', ...ids, answer: 'f' }),
      JSON.stringify({ event: 'agent_message', ...ids, answer: 'g' }),
      JSON.stringify({ event: 'message_end', ...ids, metadata: { usage: { total_tokens: 3 } } }),
      message('h'),
    ];
    expectSameAsJsonParse(frames);
  });

  it('rejects what JSON.parse rejects, even with a known prefix and suffix', () => {
    const good = message('ok');
    const prefix = good.slice(0, good.indexOf('"ok"'));
    const suffix = good.slice(good.indexOf('"ok"') + 4);
    const frames = [good, `${prefix}"raw\u0001control"${suffix}`, `${prefix}"bad \\x escape"${suffix}`, `${prefix}"unterminated${suffix}`, `${prefix}null${suffix}`, `${prefix}"x"${suffix}}`, message('after')];
    expectSameAsJsonParse(frames);
  });

  it('follows workflow text_chunk frames (text nested in data)', () => {
    const frames = [...Array.from({ length: 10 }, (_, i) => textChunk(`w${i}`)), textChunk('"quoted" \\n'), textChunk(null), textChunk('after null')];
    const { reused } = expectSameAsJsonParse(frames);
    expect(reused).toBeGreaterThan(5);
  });

  it('reads the legacy spaced, ASCII-escaped style', () => {
    const frames = ['Grüße', '你好', 'plain', 'more 你'].map((a) => legacyJson({ event: 'message', ...ids, answer: a }));
    expectSameAsJsonParse(frames);
  });

  it('never mistakes a key-like string in another value, nested objects or arrays for the text', () => {
    const frames = [
      JSON.stringify({ event: 'message', note: '"answer":"x"', nested: { answer: 'inner' }, list: [{ answer: 'in list' }, '"answer":'], answer: 'real' }),
      JSON.stringify({ event: 'message', note: '"answer":"x"', nested: { answer: 'inner' }, list: [{ answer: 'in list' }, '"answer":'], answer: 'next' }),
      JSON.stringify({ event: 'text_chunk', text: 'top', data: { note: { text: 'deep' }, text: 'real' } }),
      JSON.stringify({ event: 'text_chunk', text: 'top', data: { note: { text: 'deep' }, text: 'next' } }),
      '{"event":"message","answer":"first","answer":"last"}',
      '{"event":"message","answer":"first","answer":"changed"}',
    ];
    expectSameAsJsonParse(frames);
  });

  it('matches JSON.parse on random frame sequences', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const alphabet = ['a', ' ', '"', '\\', '\n', '\u0000', '你', '🌍', '}', ',', ':', '{', 'answer', 'u0041'];
    const text = () => Array.from({ length: Math.floor(random() * 8) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const frames: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const r = random();
      if (r < 0.6) frames.push(message(text(), { from_variable_selector: ['llm', 'text'] }));
      else if (r < 0.7) frames.push(textChunk(text()));
      else if (r < 0.8) {
        // A raw (possibly invalid) text spliced between a known prefix and suffix.
        const good = message('PLACEHOLDER', { from_variable_selector: ['llm', 'text'] });
        frames.push(good.replace('"PLACEHOLDER"', `"${text()}"`));
      } else if (r < 0.9) frames.push(message(text(), { id: `m-${Math.floor(random() * 3)}` }));
      else frames.push(JSON.stringify({ event: 'ping' }));
    }
    expect(expectSameAsJsonParse(frames).reused).toBeGreaterThan(300);
  });
});
