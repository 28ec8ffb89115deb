/** OpenAI `stop` over an answer that arrives in pieces. */
import { describe, expect, it } from 'vitest';
import { StopSequences, stopList } from '../../src/openai/stop-sequences.js';

/** Feeds `pieces` and returns what was shown, in order. */
function run(stops: string[], pieces: string[]): { shown: string; stopped: boolean } {
  const s = new StopSequences(stops);
  let shown = '';
  for (const p of pieces) shown += s.push(p);
  shown += s.flush();
  return { shown, stopped: s.stopped };
}

/** Every way of cutting `text` into two or three pieces. */
function* splits(text: string): Generator<string[]> {
  for (let i = 0; i <= text.length; i++) {
    yield [text.slice(0, i), text.slice(i)];
    for (let j = i; j <= text.length; j++) yield [text.slice(0, i), text.slice(i, j), text.slice(j)];
  }
}

describe('StopSequences', () => {
  it('shows the text up to the first sequence wherever the pieces are cut', () => {
    const text = 'Thought: check the weather\nObservation: sunny\nFinal';
    for (const pieces of splits(text)) {
      expect(run(['\nObservation:', 'Final'], pieces)).toEqual({ shown: 'Thought: check the weather', stopped: true });
    }
  });

  it('the earliest of several sequences wins; text without one passes whole, held back only while ambiguous', () => {
    expect(run(['END', 'STOP'], ['a STOP b END'])).toEqual({ shown: 'a ', stopped: true });
    expect(run(['END'], ['the E', 'N', 'D'])).toEqual({ shown: 'the ', stopped: true });
    for (const pieces of splits('no sequence in ENtire text, EN')) {
      expect(run(['END', '<|im_end|>'], pieces)).toEqual({ shown: 'no sequence in ENtire text, EN', stopped: false });
    }
    const s = new StopSequences(['<|im_end|>']);
    expect(s.push('hello <|im')).toBe('hello ');
    expect(s.push('port')).toBe('<|import');
    expect(s.push(' more')).toBe(' more');
  });

  it('after a stop nothing passes; empty sequences are ignored', () => {
    const s = new StopSequences(['', 'x']);
    expect(s.push('abxcd')).toBe('ab');
    expect(s.push('more')).toBe('');
    expect(s.flush()).toBe('');
    expect(run([''], ['plain'])).toEqual({ shown: 'plain', stopped: false });
  });

  it('stopList takes a string, a list or nothing', () => {
    expect(stopList('x')).toEqual(['x']);
    expect(stopList(['a', '', 'b'])).toEqual(['a', 'b']);
    expect(stopList(null)).toEqual([]);
    expect(stopList(undefined)).toEqual([]);
  });
});
