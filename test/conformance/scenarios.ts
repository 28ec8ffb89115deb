/**
 * What the fake upstream (Dify app or Dify model) answers, chosen by a `#marker` in the last user
 * message. Both groups' fakes implement the same markers with the same text, so the shared suite can
 * assert the same OpenAI-side result for both.
 */

/** default answer */
export const PLAIN_CHUNKS = ['Hello', ' from the', ' conformance', ' fake.'];
export const PLAIN_ANSWER = PLAIN_CHUNKS.join('');
export const PLAIN_USAGE = { prompt_tokens: 21, completion_tokens: 17 };

/** `#think`: reasoning inline as `<think>` (how Dify relays R1-style models, F1-reasoning) */
export const THINK_CHUNKS = ['<think>\nThe user', ' asks what 17 × 23 is.', '\n</think>\n\n', '17 × 23 = ', '**391**.'];
export const THINK_REASONING = 'The user asks what 17 × 23 is.';
export const THINK_ANSWER = '17 × 23 = **391**.';

/** `#splitthink`: the tags themselves cut across chunks */
export const SPLIT_THINK_CHUNKS = ['<th', 'ink>deep', ' thought</th', 'ink>', 'Visible', ' answer'];
export const SPLIT_THINK_REASONING = 'deep thought';
export const SPLIT_THINK_ANSWER = 'Visible answer';

/** `#cjk`: multi-byte text (CJK, emoji, a ZWJ sequence) in small pieces */
export const CJK_CHUNKS = ['你好', '，世', '界', ' 😀', '👩‍💻', ' 완료'];
export const CJK_ANSWER = CJK_CHUNKS.join('');

/** `#tool`: one call of get_weather({"city":"Paris"}); `#twotools`: get_weather Paris + Oslo */
export const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  },
};

/** `#explode`: two deltas, then the upstream fails with this message */
export const EXPLODE_MESSAGE = 'model exploded';
export const EXPLODE_PREFIX = 'Sure, here is the summary';

/** Markers of failures before the first event: ratelimit, quota, overflow, difyauth. */
export const MARKERS = {
  think: '#think',
  splitthink: '#splitthink',
  cjk: '#cjk',
  tool: '#tool',
  twotools: '#twotools',
  explode: '#explode',
  ratelimit: '#ratelimit',
  quota: '#quota',
  overflow: '#overflow',
  difyauth: '#difyauth',
  /** `#silence=<ms>`: the first delta, then that long nothing, then the rest */
  silence: '#silence=',
  /** `#slowstart=<ms>`: nothing for that long, then the answer */
  slowstart: '#slowstart=',
  /** `#long`: LONG_CHUNKS, a long answer in many small deltas */
  long: '#long',
  /** `#huge`: HUGE_CHUNKS, a 3 MB answer */
  huge: '#huge',
  /** `#indented`: INDENTED_CHUNKS, an answer that starts with whitespace (a code block) */
  indented: '#indented',
} as const;

export function delayOf(text: string, marker: string): number | undefined {
  const at = text.indexOf(marker);
  if (at < 0) return undefined;
  return Number.parseInt(text.slice(at + marker.length), 10);
}

/** `#long`: 4000 small deltas (about 60 KB of text, far more SSE frames than the daemon's 128-chunk queue) */
export const LONG_CHUNKS = Array.from({ length: 4000 }, (_, i) => ` w${i}`);
export const LONG_ANSWER = LONG_CHUNKS.join('');

/** `#huge`: a 3 MB answer in 300 deltas of 10 KB (its hex relay would exceed the daemon's 5 MiB line if sent whole) */
export const HUGE_CHUNKS = Array.from({ length: 300 }, (_, i) => `${String(i).padStart(4, '0')}${'x'.repeat(9995)}\n`);
export const HUGE_ANSWER = HUGE_CHUNKS.join('');

/** `#indented`: leading whitespace is part of the answer (indented code) */
export const INDENTED_CHUNKS = ['    def f():', '\n        return 1', '\n'];
export const INDENTED_ANSWER = INDENTED_CHUNKS.join('');
