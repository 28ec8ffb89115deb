import { describe, expect, it } from 'vitest';
import { ReasoningSplitter, splitReasoning, type Segment } from '../../src/dify/reasoning-splitter.js';

/** Dify's legacy opener, byte for byte (dify-service-api.md §7 item 3). */
const DETAILS_OPEN =
  '<details style="color:gray;background-color: #f8f8f8;padding: 8px;border-radius: 4px;" open> <summary> Thinking... </summary>\n';

/** The answer deltas of fixture F1-reasoning. */
const F1_REASONING = [
  '<think>\nThe user',
  ' asks what 17 × 23 is.',
  ' 17 × 20 = 340, 17 × 3 = 51,',
  ' so 391.',
  '\n</think>\n\n',
  '17 × 23 = ',
  '**391**.',
];

type Fixture = { name: string; deltas: string[]; reasoning: string; content: string };

const FIXTURES: Fixture[] = [
  {
    name: 'F1-reasoning',
    deltas: F1_REASONING,
    reasoning: 'The user asks what 17 × 23 is. 17 × 20 = 340, 17 × 3 = 51, so 391.',
    content: '17 × 23 = **391**.',
  },
  {
    name: 'plugin SDK wrap (reasoning_content turned into tags)',
    deltas: ['<think>\n', 'Let me', ' check.', '\n</think>', 'Paris', ' is the capital.'],
    reasoning: 'Let me check.',
    content: 'Paris is the capital.',
  },
  {
    name: 'legacy <details> pair',
    deltas: [DETAILS_OPEN, 'Hmm, ', 'two plus two', ' is four.', '</details>', 'The answer is ', '4.'],
    reasoning: 'Hmm, two plus two is four.',
    content: 'The answer is 4.',
  },
  {
    name: 'leading whitespace before <think>',
    deltas: ['\n\n', '<think>', 'plan', '</think>', '\n\nDone.'],
    reasoning: 'plan',
    content: 'Done.',
  },
  {
    name: 'no reasoning at all',
    deltas: ['Hello', '! I am', ' fine <b>really</b>.'],
    reasoning: '',
    content: 'Hello! I am fine <b>really</b>.',
  },
  {
    name: 'leading whitespace kept when no block follows',
    deltas: ['\n', '  Indented', ' answer'],
    reasoning: '',
    content: '\n  Indented answer',
  },
  {
    name: 'empty think block (Qwen3 no-think mode)',
    deltas: ['<think>\n\n</think>\n\n', 'Short answer.'],
    reasoning: '',
    content: 'Short answer.',
  },
  {
    name: 'agent app: two rounds of thinking',
    deltas: [
      '<think>\nI should search.\n</think>\n\n',
      'Searching the web.',
      '<think>\nThe results say 42.\n</think>\n\n',
      'The answer is 42.',
    ],
    reasoning: 'I should search.The results say 42.',
    content: 'Searching the web.The answer is 42.',
  },
  {
    name: 'second block on its own line mid-answer',
    deltas: ['Step one done.\n', '<think>\nnow step two\n</think>\n', 'Step two done.'],
    reasoning: 'now step two',
    content: 'Step one done.\nStep two done.',
  },
  {
    name: '<think> mentioned in prose stays content',
    deltas: ['<think>\nx\n</think>\n', 'Models wrap reasoning in <think> tags', ' and close with </think>.'],
    reasoning: 'x',
    content: 'Models wrap reasoning in <think> tags and close with </think>.',
  },
  {
    name: '<think> inside a fenced code block stays content',
    deltas: ['Here:\n', '```text\n<think>\nhidden?\n</think>\n```\n', 'End.'],
    reasoning: '',
    content: 'Here:\n```text\n<think>\nhidden?\n</think>\n```\nEnd.',
  },
  {
    name: 'fence closes, then a real block',
    deltas: ['```\n<think>\n```\n', '<think>\nreal\n</think>\n', 'after'],
    reasoning: 'real',
    content: '```\n<think>\n```\nafter',
  },
  {
    name: 'reasoning containing tags and code',
    deltas: ['<think>\nUse `<b>` and ```js\nx<y\n```', ' ok\n</think>\n\nAnswer <i>x</i>'],
    reasoning: 'Use `<b>` and ```js\nx<y\n``` ok',
    content: 'Answer <i>x</i>',
  },
  {
    name: 'ordinary <details> is content',
    deltas: ['<details open><summary>Click</summary>', 'body</details>'],
    reasoning: '',
    content: '<details open><summary>Click</summary>body</details>',
  },
  {
    name: 'lenient <details> opener',
    deltas: ['<details open>\n<summary>Thinking…</summary>', '\nweighing\n', '</details>\n\nOK'],
    reasoning: 'weighing',
    content: 'OK',
  },
  {
    name: 'unterminated block (stream cut)',
    deltas: ['<think>\nstill going', ' and going\n'],
    reasoning: 'still going and going',
    content: '',
  },
  {
    name: 'stray closing tag is content',
    deltas: ['reasoning without opener\n</think>\n\nanswer'],
    reasoning: '',
    content: 'reasoning without opener\n</think>\n\nanswer',
  },
  {
    name: 'closing tag of the other kind stays inside the block',
    deltas: ['<think>\nA </details> B\n</think>\n', DETAILS_OPEN, 'C </think> D', '</details>', 'E'],
    reasoning: 'A </details> BC </think> D',
    content: 'E',
  },
  {
    name: 'long but valid legacy opener attributes',
    deltas: [`<details style="${'x'.repeat(200)}" open><summary>Thinking...</summary>`, 'r', '</details>c'],
    reasoning: 'r',
    content: 'c',
  },
  {
    name: 'over-long <details> attributes are not an opener',
    deltas: [`<details style="${'x'.repeat(300)}" open><summary>Thinking...</summary>`, 'r', '</details>c'],
    reasoning: '',
    content: `<details style="${'x'.repeat(300)}" open><summary>Thinking...</summary>r</details>c`,
  },
  {
    name: 'CJK and emoji',
    deltas: ['<think>\n用户问候', '，我应该礼貌回应 🙂\n</think>\n\n', '你好！有什么', '可以帮你？'],
    reasoning: '用户问候，我应该礼貌回应 🙂',
    content: '你好！有什么可以帮你？',
  },
  {
    name: 'answer ending in a lone <',
    deltas: ['a < b and b <'],
    reasoning: '',
    content: 'a < b and b <',
  },
];

function collect(segments: Segment[]): { reasoning: string; content: string } {
  let reasoning = '';
  let content = '';
  for (const s of segments) {
    if (s.kind === 'reasoning') reasoning += s.text;
    else content += s.text;
  }
  return { reasoning, content };
}

function runPieces(pieces: string[]): Segment[] {
  const sp = new ReasoningSplitter();
  const segs: Segment[] = [];
  for (const p of pieces) segs.push(...sp.push(p));
  segs.push(...sp.flush());
  return segs;
}

/** Deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

describe('ReasoningSplitter fixtures', () => {
  for (const f of FIXTURES) {
    it(`${f.name}: deltas as Dify sends them`, () => {
      expect(collect(runPieces(f.deltas))).toEqual({ reasoning: f.reasoning, content: f.content });
    });

    it(`${f.name}: whole answer via splitReasoning`, () => {
      expect(splitReasoning(f.deltas.join(''))).toEqual({ reasoning: f.reasoning, content: f.content });
    });

    it(`${f.name}: every single split point`, () => {
      const whole = f.deltas.join('');
      for (let k = 0; k <= whole.length; k++) {
        const got = collect(runPieces([whole.slice(0, k), whole.slice(k)]));
        expect(got, `split at ${k}`).toEqual({ reasoning: f.reasoning, content: f.content });
      }
    });

    it(`${f.name}: one character per push`, () => {
      expect(collect(runPieces([...f.deltas.join('')]))).toEqual({ reasoning: f.reasoning, content: f.content });
    });

    it(`${f.name}: random splits`, () => {
      const whole = f.deltas.join('');
      const rand = rng(whole.length * 7919);
      for (let trial = 0; trial < 50; trial++) {
        const pieces: string[] = [];
        let at = 0;
        while (at < whole.length) {
          const len = 1 + Math.floor(rand() * 12);
          pieces.push(whole.slice(at, at + len));
          at += len;
        }
        expect(collect(runPieces(pieces)), JSON.stringify(pieces)).toEqual({
          reasoning: f.reasoning,
          content: f.content,
        });
      }
    });
  }
});

describe('ReasoningSplitter streaming behaviour', () => {
  it('returns plain content at once, without holding anything back', () => {
    const sp = new ReasoningSplitter();
    expect(sp.push('Hello')).toEqual([{ kind: 'content', text: 'Hello' }]);
    expect(sp.push(' world, 1 > 0')).toEqual([{ kind: 'content', text: ' world, 1 > 0' }]);
  });

  it('emits the first reasoning token as soon as it arrives', () => {
    const sp = new ReasoningSplitter();
    expect(sp.push('<think>\nThe user')).toEqual([{ kind: 'reasoning', text: 'The user' }]);
    expect(sp.push(' asks')).toEqual([{ kind: 'reasoning', text: ' asks' }]);
  });

  it('holds only the suffix that may start a tag', () => {
    const sp = new ReasoningSplitter();
    expect(sp.push('x <thi')).toEqual([{ kind: 'content', text: 'x ' }]);
    expect(sp.push('s is no tag')).toEqual([{ kind: 'content', text: '<this is no tag' }]);
    const sp2 = new ReasoningSplitter();
    expect(sp2.push('<think>\nabc </thi')).toEqual([{ kind: 'reasoning', text: 'abc' }]);
    expect(sp2.push('nk>\n\nDone')).toEqual([{ kind: 'content', text: 'Done' }]);
  });

  it('never puts reasoning and content in one segment and orders them as they came', () => {
    const sp = new ReasoningSplitter();
    expect(sp.push('<think>\nr1\n</think>\n\nc1\n<think>\nr2\n</think>\nc2')).toEqual([
      { kind: 'reasoning', text: 'r1' },
      { kind: 'content', text: 'c1\n' },
      { kind: 'reasoning', text: 'r2' },
      { kind: 'content', text: 'c2' },
    ]);
  });

  it('merges adjacent segments of the same kind within a push', () => {
    const sp = new ReasoningSplitter();
    sp.push('<think>\na');
    expect(sp.push('b <c> d')).toEqual([{ kind: 'reasoning', text: 'b <c> d' }]);
  });

  it('ignores empty pushes', () => {
    const sp = new ReasoningSplitter();
    expect(sp.push('')).toEqual([]);
    expect(sp.push('<think>')).toEqual([]);
    expect(sp.push('')).toEqual([]);
    expect(sp.push('r')).toEqual([{ kind: 'reasoning', text: 'r' }]);
  });

  it('is reusable after flush', () => {
    const sp = new ReasoningSplitter();
    sp.push('<think>\nunfinished');
    sp.flush();
    expect(collect([...sp.push('<think>x</think>y'), ...sp.flush()])).toEqual({ reasoning: 'x', content: 'y' });
  });

  it('keeps internal whitespace of reasoning but not its trailing newline', () => {
    expect(splitReasoning('<think>\nline 1\n\nline 2\n</think>answer')).toEqual({
      reasoning: 'line 1\n\nline 2',
      content: 'answer',
    });
  });

  it('streams a 1 MB answer in 1-character pushes', () => {
    const unit = 'The quick brown fox <b>jumps</b> over 1 < 2 and `code` ```\n';
    const body = unit.repeat(Math.ceil(1_000_000 / unit.length));
    const text = `<think>\n${body}\n</think>\n\n${body}`;
    const sp = new ReasoningSplitter();
    let reasoning = 0;
    let content = 0;
    for (let i = 0; i < text.length; i++) {
      for (const s of sp.push(text[i]!)) {
        if (s.kind === 'reasoning') reasoning += s.text.length;
        else content += s.text.length;
      }
    }
    for (const s of sp.flush()) {
      if (s.kind === 'reasoning') reasoning += s.text.length;
      else content += s.text.length;
    }
    expect(reasoning).toBe(body.length - 1); // trailing "\n" of the block dropped
    expect(content).toBe(body.length);
  });
});

describe('ReasoningSplitter properties on generated answers', () => {
  const TOKENS = [
    'a', 'word ', ' ', '\n', '\n\n', '<', '>', '/', '<think>', '</think>', '<think>\n', '\n</think>\n\n', '<thi', 'nk>',
    '```', '```\n', '~~~\n', DETAILS_OPEN, '</details>', '<details open>', '<summary>', ' Thinking... ', '</summary>', '中文', '🙂',
  ];

  function generate(rand: () => number): string {
    let s = '';
    const len = 1 + Math.floor(rand() * 30);
    for (let i = 0; i < len; i++) s += TOKENS[Math.floor(rand() * TOKENS.length)]!;
    return s;
  }

  it('gives the same reasoning and content however the answer is split', () => {
    const rand = rng(424242);
    for (let t = 0; t < 2000; t++) {
      const text = generate(rand);
      const whole = splitReasoning(text);
      const pieces: string[] = [];
      for (let at = 0; at < text.length; ) {
        const len = 1 + Math.floor(rand() * 7);
        pieces.push(text.slice(at, at + len));
        at += len;
      }
      expect(collect(runPieces(pieces)), JSON.stringify(text)).toEqual(whole);
      expect(collect(runPieces([...text])), JSON.stringify(text)).toEqual(whole);
    }
  });

  it('returns an answer without "<" unchanged as content', () => {
    const rand = rng(99);
    for (let t = 0; t < 500; t++) {
      const text = generate(rand).replace(/</g, '(');
      expect(splitReasoning(text)).toEqual({ reasoning: '', content: text });
    }
  });

  it('never loses, repeats or reorders a character other than tags and whitespace', () => {
    const TAGS = /<think>|<\/think>|<\/details>|<details[^<>]*>\s*<summary>\s*Thinking(?:\.\.\.|…)?\s*<\/summary>/g;
    const essence = (s: string) => s.replace(TAGS, '').replace(/\s+/g, '');
    const rand = rng(5);
    for (let t = 0; t < 1000; t++) {
      const text = generate(rand);
      const sp = new ReasoningSplitter();
      const ordered = [...sp.push(text), ...sp.flush()].map((seg) => seg.text).join('');
      expect(essence(ordered), JSON.stringify(text)).toBe(essence(text));
    }
  });
});
