import { describe, expect, it } from 'vitest';
import {
  ToolCallParser,
  buildToolPrompt,
  newCallId,
  renderToolTurns,
  type OpenAIChatMessage,
  type OpenAITool,
  type ParsedPiece,
} from '../../src/openai/tool-emulation.js';

const WEATHER: OpenAITool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Get the current weather for a city.',
    parameters: {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { city: { type: 'string', description: 'City name' }, unit: { type: 'string', enum: ['c', 'f'] } },
      required: ['city'],
      additionalProperties: false,
    },
  },
};
const TIME: OpenAITool = { type: 'function', function: { name: 'get_time' } };
const SEARCH: OpenAITool = {
  type: 'function',
  function: { name: 'web_search', description: 'Search the web.', parameters: { type: 'object', properties: { q: { type: 'string' } } } },
};

describe('buildToolPrompt', () => {
  it('offers nothing for tool_choice none or no tools', () => {
    expect(buildToolPrompt([WEATHER], 'none')).toBe('');
    expect(buildToolPrompt([], 'auto')).toBe('');
    expect(buildToolPrompt([], undefined)).toBe('');
  });

  it('lists every tool with its description and compact schema, without $schema', () => {
    const p = buildToolPrompt([WEATHER, TIME, SEARCH], 'auto');
    expect(p).toContain('## get_weather\nGet the current weather for a city.\nParameters: {"type":"object","properties":{"city":{"type":"string","description":"City name"},"unit":{"type":"string","enum":["c","f"]}},"required":["city"],"additionalProperties":false}');
    expect(p).toContain('## get_time\nParameters: {"type":"object","properties":{}}');
    expect(p).toContain('## web_search\nSearch the web.');
    expect(p).not.toContain('$schema');
    expect(p).toContain('<tool_call>');
    expect(p).toContain('If no tool is needed, answer normally');
  });

  it('treats an absent tool_choice as auto', () => {
    expect(buildToolPrompt([WEATHER], undefined)).toBe(buildToolPrompt([WEATHER], 'auto'));
  });

  it('demands at least one call for required', () => {
    const p = buildToolPrompt([WEATHER, TIME], 'required');
    expect(p).toContain('must call at least one tool');
    expect(p).not.toContain('If no tool is needed');
  });

  it('lists only the named tool and demands it', () => {
    const p = buildToolPrompt([WEATHER, TIME], { type: 'function', function: { name: 'get_time' } });
    expect(p).toContain('## get_time');
    expect(p).not.toContain('## get_weather');
    expect(p).toContain('you must call the tool "get_time"');
  });

  it('falls back to all tools when the named tool is not among them', () => {
    const p = buildToolPrompt([WEATHER], { type: 'function', function: { name: 'nope' } });
    expect(p).toContain('## get_weather');
  });

  it('asks for exactly the format the parser reads first', () => {
    const p = buildToolPrompt([WEATHER], 'auto');
    const example = p.slice(p.indexOf('<tool_call>\n'), p.indexOf('</tool_call>') + '</tool_call>'.length);
    const filled = example.replace('"<tool name>"', '"get_weather"').replace('{"<parameter>": <value>}', '{"city": "Paris"}');
    expect(calls(run([filled], ['get_weather']))).toEqual([{ name: 'get_weather', arguments: '{"city":"Paris"}' }]);
  });
});

describe('renderToolTurns', () => {
  const turn: OpenAIChatMessage[] = [
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{ "city": "Paris" }' } },
        { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } },
      ],
    },
    { role: 'tool', tool_call_id: 'call_2', content: '14:05' },
    { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: '{"temp": 21}' }] },
  ];

  it('shows the calls in the requested format and the results matched by id', () => {
    expect(renderToolTurns(turn)).toBe(
      [
        'You called:',
        '<tool_call>\n{"name":"get_weather","arguments":{"city":"Paris"}}\n</tool_call>',
        '<tool_call>\n{"name":"get_time","arguments":{}}\n</tool_call>',
        '',
        'Tool results:',
        '<tool_response name="get_time" id="call_2">\n14:05\n</tool_response>',
        '<tool_response name="get_weather" id="call_1">\n{"temp": 21}\n</tool_response>',
      ].join('\n'),
    );
  });

  it('keeps assistant text and renders several rounds in order', () => {
    const rounds: OpenAIChatMessage[] = [
      { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'a', type: 'function', function: { name: 'web_search', arguments: '{"q":"x"}' } }] },
      { role: 'tool', tool_call_id: 'a', content: 'result A' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'b', type: 'function', function: { name: 'web_search', arguments: '{"q":"y"}' } }] },
      { role: 'tool', tool_call_id: 'b', content: 'result B' },
    ];
    const text = renderToolTurns(rounds);
    const order = ['Checking.', '"q":"x"', 'result A', '"q":"y"', 'result B'].map((s) => text.indexOf(s));
    expect(order.every((v, i) => v >= 0 && (i === 0 || v > order[i - 1]!))).toBe(true);
  });

  it('renders orphan results and legacy function messages by name', () => {
    expect(renderToolTurns([{ role: 'tool', tool_call_id: 'zzz', content: 'done' }])).toBe(
      'Tool results:\n<tool_response id="zzz">\ndone\n</tool_response>',
    );
    expect(renderToolTurns([{ role: 'function', name: 'get_time', content: '9:00' }])).toBe(
      'Tool results:\n<tool_response name="get_time">\n9:00\n</tool_response>',
    );
  });

  it('skips user and system messages', () => {
    expect(renderToolTurns([{ role: 'user', content: 'hi' }, { role: 'system', content: 'sys' }])).toBe('');
  });
});

// --- parser ----------------------------------------------------------------------------------

type Norm = Array<{ content: string } | { name: string; arguments: string }>;

function run(pieces: string[], toolNames?: string[]): ParsedPiece[] {
  const p = new ToolCallParser(toolNames ? { toolNames } : undefined);
  const out: ParsedPiece[] = [];
  for (const x of pieces) out.push(...p.push(x));
  out.push(...p.finish());
  return out;
}

/** Merges adjacent content and drops ids, so different splits compare equal. */
function norm(pieces: ParsedPiece[]): Norm {
  const out: Norm = [];
  for (const p of pieces) {
    if (p.type === 'content') {
      const last = out[out.length - 1];
      if (last && 'content' in last) last.content += p.text;
      else out.push({ content: p.text });
    } else out.push({ name: p.name, arguments: p.arguments });
  }
  return out.filter((x) => !('content' in x) || x.content !== '');
}

function calls(pieces: ParsedPiece[]): Array<{ name: string; arguments: string }> {
  return pieces.flatMap((p) => (p.type === 'tool_call' ? [{ name: p.name, arguments: p.arguments }] : []));
}

function contentOf(pieces: ParsedPiece[]): string {
  return pieces.map((p) => (p.type === 'content' ? p.text : '')).join('');
}

const NAMES = ['get_weather', 'get_time', 'web_search'];
const PARIS = { name: 'get_weather', arguments: '{"city":"Paris"}' };

type Case = { name: string; text: string; expect: Norm; names?: string[] | null };

const CASES: Case[] = [
  {
    name: 'primary format with text before',
    text: 'Let me check the weather.\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    expect: [{ content: 'Let me check the weather.' }, PARIS],
  },
  {
    name: 'two calls in the primary format',
    text: '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>\n',
    expect: [PARIS, { name: 'get_time', arguments: '{}' }],
  },
  {
    name: 'arguments as a JSON string, parameters alias, missing arguments',
    text: '<tool_call>{"name":"get_weather","arguments":"{\\"city\\": \\"Paris\\"}"}</tool_call><tool_call>{"name":"web_search","parameters":{"q":"dify"}}</tool_call><tool_call>{"name":"get_time"}</tool_call>',
    expect: [PARIS, { name: 'web_search', arguments: '{"q":"dify"}' }, { name: 'get_time', arguments: '{}' }],
  },
  {
    name: 'missing closing tags',
    text: '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n<tool_call>\n{"name": "get_time", "arguments": {}}',
    expect: [PARIS, { name: 'get_time', arguments: '{}' }],
  },
  {
    name: 'array and several objects inside one tag',
    text: '<tool_calls>[{"name":"get_weather","arguments":{"city":"Paris"}},{"name":"get_time","arguments":{}}]</tool_calls>\n<tool_call>\n{"name":"get_time","arguments":{}}\n{"name":"get_time","arguments":{}}\n</tool_call>',
    expect: [PARIS, { name: 'get_time', arguments: '{}' }, { name: 'get_time', arguments: '{}' }, { name: 'get_time', arguments: '{}' }],
  },
  {
    name: 'text after the call',
    text: 'Sure.\n<tool_call>{"name":"get_time","arguments":{}}</tool_call>\n\nI will wait for the result.',
    expect: [{ content: 'Sure.' }, { name: 'get_time', arguments: '{}' }, { content: 'I will wait for the result.' }],
  },
  {
    name: 'json fence with name/arguments',
    text: 'Calling:\n```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```\n',
    expect: [{ content: 'Calling:' }, PARIS],
  },
  {
    name: 'json fence with OpenAI tool_calls shape',
    text: '```json\n{"tool_calls": [{"id": "call_x", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\":\\"Paris\\"}"}}]}\n```',
    expect: [PARIS],
  },
  {
    name: 'plain fence with {"function":{...}} and two lines of calls',
    text: '```\n{"type": "function", "function": {"name": "get_weather", "parameters": {"city": "Paris"}}}\n{"name": "get_time", "arguments": {}}\n```',
    expect: [PARIS, { name: 'get_time', arguments: '{}' }],
  },
  {
    name: 'tag inside an xml fence',
    text: '```xml\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n```',
    expect: [PARIS],
  },
  {
    name: 'unterminated fence at the end of the answer',
    text: '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n',
    expect: [PARIS],
  },
  {
    name: 'bare JSON object on its own line',
    text: '{"name": "get_weather", "arguments": {"city": "Paris"}}',
    expect: [PARIS],
  },
  {
    name: 'bare JSON array of calls',
    text: 'Calling both.\n[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {}}]',
    expect: [{ content: 'Calling both.' }, PARIS, { name: 'get_time', arguments: '{}' }],
  },
  {
    name: 'trailing commas forgiven',
    text: '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris",},}</tool_call>',
    expect: [PARIS],
  },
  {
    name: 'Llama 3.1 function tag',
    text: '<function=get_weather>{"city": "Paris"}</function>',
    expect: [PARIS],
  },
  {
    name: 'Qwen3-Coder XML parameters inside tool_call',
    text: '<tool_call>\n<function=web_search>\n<parameter=q>\ndify "openai" api\n</parameter>\n</function>\n</tool_call>',
    expect: [{ name: 'web_search', arguments: '{"q":"dify \\"openai\\" api"}' }],
  },
  {
    name: 'Anthropic-style function_calls',
    text: 'Looking.\n<function_calls>\n<invoke name="get_weather">\n<parameter name="city">Paris</parameter>\n</invoke>\n<invoke name="get_time">\n</invoke>\n</function_calls>',
    expect: [{ content: 'Looking.' }, PARIS, { name: 'get_time', arguments: '{}' }],
  },
  {
    name: 'unicode arguments',
    text: '<tool_call>{"name":"web_search","arguments":{"q":"北京天气 🌤"}}</tool_call>',
    expect: [{ name: 'web_search', arguments: '{"q":"北京天气 🌤"}' }],
  },
  {
    name: 'braces and tags inside argument strings',
    text: '<tool_call>{"name":"web_search","arguments":{"q":"a } ] </tool_call> \\" ```"}}</tool_call>',
    expect: [{ name: 'web_search', arguments: '{"q":"a } ] </tool_call> \\" ```"}' }],
  },
  {
    name: 'GLM style name and arg_key/arg_value pairs',
    text: '<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>',
    expect: [{ name: 'get_weather', arguments: '{"city":"Paris","days":3}' }],
  },
  {
    name: 'GLM style name then JSON arguments',
    text: 'ok\n<tool_call>get_weather\n{"city": "Paris"}\n</tool_call>',
    expect: [{ content: 'ok' }, PARIS],
  },
  {
    name: 'Mistral [TOOL_CALLS] prefix',
    text: '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}]',
    expect: [PARIS],
  },
  {
    name: 'stray closing tags after a call are dropped',
    text: '<function=get_weather>{"city": "Paris"}</function></tool_call>\n',
    expect: [PARIS],
  },
  {
    name: 'an invented tool result and the answer built on it are dropped',
    text: 'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_response>\n{"temp": 99}\n</tool_response>\nIt is 99 degrees.<tool_call>{"name":"get_time","arguments":{}}</tool_call>',
    expect: [{ content: 'Checking.' }, PARIS],
  },
  // --- not calls: released unchanged ---
  {
    name: 'prose about the tags',
    text: 'Wrap calls in <tool_call> tags; write <tool_call>\nthen JSON, and <tool_call>x y.',
    expect: [{ content: 'Wrap calls in <tool_call> tags; write <tool_call>\nthen JSON, and <tool_call>x y.' }],
  },
  {
    name: 'GLM style with an unknown tool name',
    text: '<tool_call>rm\n{}</tool_call>',
    expect: [{ content: '<tool_call>rm\n{}</tool_call>' }],
  },
  {
    name: 'a <tool_response> tag without a call before it is content',
    text: 'The model sees <tool_response> blocks.',
    expect: [{ content: 'The model sees <tool_response> blocks.' }],
  },
  {
    name: 'trailing whitespace of a plain answer is kept',
    text: 'Answer.\n\n',
    expect: [{ content: 'Answer.\n\n' }],
  },
  {
    name: 'bracketed text that is not the Mistral marker',
    text: '[TOOL] note\n[TOOL_CALLS] without JSON',
    expect: [{ content: '[TOOL] note\n[TOOL_CALLS] without JSON' }],
  },
  {
    name: 'plain answer',
    text: 'The weather in Paris is mild. 1 < 2 and 3 > 2.\n- item\n  - nested',
    expect: [{ content: 'The weather in Paris is mild. 1 < 2 and 3 > 2.\n- item\n  - nested' }],
  },
  {
    name: 'ordinary JSON in a fence',
    text: 'Here is the config:\n```json\n{"name": "my-app", "version": "1.0.0"}\n```\nDone.',
    expect: [{ content: 'Here is the config:\n```json\n{"name": "my-app", "version": "1.0.0"}\n```\nDone.' }],
  },
  {
    name: 'code fence with call-looking JSON inside other code',
    text: '```python\nprint("hi")\n{"name": "get_time", "arguments": {}}\n```\n<b>bold</b>',
    expect: [{ content: '```python\nprint("hi")\n{"name": "get_time", "arguments": {}}\n```\n<b>bold</b>' }],
  },
  {
    name: 'unknown tool name stays content',
    text: '<tool_call>\n{"name": "rm_rf", "arguments": {}}\n</tool_call>',
    expect: [{ content: '<tool_call>\n{"name": "rm_rf", "arguments": {}}\n</tool_call>' }],
  },
  {
    name: 'ordinary JSON object at line start',
    text: 'Result:\n{"name": "Alice", "age": 30}\nbye',
    expect: [{ content: 'Result:\n{"name": "Alice", "age": 30}\nbye' }],
  },
  {
    name: 'markdown link at line start and inline tag mention',
    text: '[docs](https://x.y) say use `<tool_call>` tags or <function=...> syntax.',
    expect: [{ content: '[docs](https://x.y) say use `<tool_call>` tags or <function=...> syntax.' }],
  },
  {
    name: 'broken JSON inside a tag stays content',
    text: '<tool_call>{"name": "get_time", "arguments": {oops}}</tool_call> sorry',
    expect: [{ content: '<tool_call>{"name": "get_time", "arguments": {oops}}</tool_call> sorry' }],
  },
  {
    name: 'unterminated JSON at the end stays content',
    text: 'x\n<tool_call>{"name": "get_time", "argu',
    expect: [{ content: 'x\n<tool_call>{"name": "get_time", "argu' }],
  },
  {
    name: 'tilde fence and html',
    text: '~~~\nplain <i>code</i>\n~~~\n<details><summary>x</summary></details>',
    expect: [{ content: '~~~\nplain <i>code</i>\n~~~\n<details><summary>x</summary></details>' }],
  },
  {
    name: 'arguments that are not an object stay content',
    text: '<tool_call>{"name":"get_time","arguments":[1,2]}</tool_call>',
    expect: [{ content: '<tool_call>{"name":"get_time","arguments":[1,2]}</tool_call>' }],
  },
];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

const MARKUP = ['<tool_call', '</tool_call', '<function', '</function', '<invoke', '<parameter', '"arguments"'];

describe('ToolCallParser fixtures', () => {
  for (const c of CASES) {
    const names = c.names === null ? undefined : (c.names ?? NAMES);
    const isCall = c.expect.some((x) => 'name' in x);

    it(`${c.name}: whole`, () => {
      expect(norm(run([c.text], names))).toEqual(c.expect);
    });

    it(`${c.name}: every split point`, () => {
      for (let k = 0; k <= c.text.length; k++) {
        expect(norm(run([c.text.slice(0, k), c.text.slice(k)], names)), `split at ${k}`).toEqual(c.expect);
      }
    });

    it(`${c.name}: one character per push`, () => {
      expect(norm(run([...c.text], names))).toEqual(c.expect);
    });

    it(`${c.name}: random splits`, () => {
      const rand = rng(c.text.length * 31 + 7);
      for (let t = 0; t < 40; t++) {
        const pieces: string[] = [];
        for (let at = 0; at < c.text.length; ) {
          const len = 1 + Math.floor(rand() * 9);
          pieces.push(c.text.slice(at, at + len));
          at += len;
        }
        expect(norm(run(pieces, names)), JSON.stringify(pieces)).toEqual(c.expect);
      }
    });

    if (isCall) {
      it(`${c.name}: no markup leaks into content`, () => {
        const content = contentOf(run([...c.text], names));
        for (const m of MARKUP) expect(content).not.toContain(m);
      });
    }
  }
});

describe('ToolCallParser without a tool list', () => {
  it('accepts any name in tags', () => {
    expect(calls(run(['<tool_call>{"name":"anything","arguments":{"a":1}}</tool_call>']))).toEqual([
      { name: 'anything', arguments: '{"a":1}' },
    ]);
  });

  it('needs explicit arguments before treating bare JSON as a call', () => {
    expect(norm(run(['{"name": "Alice"}']))).toEqual([{ content: '{"name": "Alice"}' }]);
    expect(calls(run(['{"name": "lookup", "arguments": {"id": 3}}']))).toEqual([{ name: 'lookup', arguments: '{"id":3}' }]);
  });

  it('still rejects objects with other keys', () => {
    expect(norm(run(['{"name": "Alice", "arguments": {}, "age": 3}']))).toEqual([
      { content: '{"name": "Alice", "arguments": {}, "age": 3}' },
    ]);
  });
});

describe('ToolCallParser streaming behaviour', () => {
  it('streams plain text without delay', () => {
    const p = new ToolCallParser({ toolNames: NAMES });
    expect(p.push('Hello')).toEqual([{ type: 'content', text: 'Hello' }]);
    expect(p.push(' there, 1 > 0')).toEqual([{ type: 'content', text: ' there, 1 > 0' }]);
  });

  it('holds a possible tag and releases it once it is not one', () => {
    const p = new ToolCallParser({ toolNames: NAMES });
    expect(p.push('a <to')).toEqual([{ type: 'content', text: 'a' }]);
    expect(p.push('ol> b')).toEqual([{ type: 'content', text: ' <tool> b' }]);
  });

  it('emits text before a call before the call is complete', () => {
    const p = new ToolCallParser({ toolNames: NAMES });
    expect(p.push('Checking now.\n<tool_call>{"name":"get_')).toEqual([{ type: 'content', text: 'Checking now.' }]);
    expect(p.push('time","arguments":{}}')).toEqual([]);
    const done = p.push('</tool_call>');
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ type: 'tool_call', name: 'get_time', arguments: '{}' });
  });

  it('releases a code fence as soon as its body shows it is code', () => {
    const p = new ToolCallParser({ toolNames: NAMES });
    expect(p.push('```py')).toEqual([]);
    expect(p.push('thon\n')).toEqual([]);
    expect(p.push('x = 1')).toEqual([{ type: 'content', text: '```python\nx = 1' }]);
    expect(p.push(' # <tool_call> in code\n')).toEqual([{ type: 'content', text: ' # <tool_call> in code' }]);
  });

  it('releases non-call JSON at line start once the first key is known', () => {
    const p = new ToolCallParser({ toolNames: NAMES });
    expect(p.push('{"tit')).toEqual([]);
    expect(p.push('le": "x"}')).toEqual([{ type: 'content', text: '{"title": "x"}' }]);
  });

  it('gives each call a fresh call_ id of 24 alphanumerics', () => {
    const pieces = run(['<tool_call>{"name":"get_time","arguments":{}}</tool_call><tool_call>{"name":"get_time","arguments":{}}</tool_call>'], NAMES);
    const ids = pieces.flatMap((p) => (p.type === 'tool_call' ? [p.id] : []));
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(newCallId()).toMatch(/^call_[A-Za-z0-9]{24}$/);
  });

  it('compacts arguments', () => {
    expect(calls(run(['<tool_call>{ "name" : "get_weather" ,\n "arguments" : {\n  "city" : "Paris" ,\n  "unit" : "c"\n } }</tool_call>'], NAMES))).toEqual([
      { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' },
    ]);
  });

  it('is reusable after finish', () => {
    const p = new ToolCallParser({ toolNames: NAMES });
    p.push('<tool_call>{"name":');
    expect(norm(p.finish())).toEqual([{ content: '<tool_call>{"name":' }]);
    expect(norm([...p.push('hi'), ...p.finish()])).toEqual([{ content: 'hi' }]);
  });

  it('streams a 1 MB answer in 1-character pushes', () => {
    const unit = 'Text with <b>tags</b>, a < b, [links](x) and\n{"title": "json"}\n```js\nlet a = {b: 1};\n```\n';
    const body = unit.repeat(Math.ceil(1_000_000 / unit.length));
    const p = new ToolCallParser({ toolNames: NAMES });
    let len = 0;
    for (let i = 0; i < body.length; i++) for (const x of p.push(body[i]!)) if (x.type === 'content') len += x.text.length;
    for (const x of p.finish()) if (x.type === 'content') len += x.text.length;
    expect(len).toBe(body.length);
  });

  it('stays linear on long whitespace runs inside call markup (1-character pushes)', () => {
    const ws = ' \n'.repeat(100_000);
    const texts = [
      `<tool_call>${ws}{"name": "get_time", "arguments": {}}${ws}</tool_call>`,
      `\`\`\`json\n${ws}{"name": "get_time", "arguments": {}}\n\`\`\``,
      `<tool_call>{"name": "get_time", "arguments": {}},${ws}</tool_call>`,
    ];
    for (const text of texts) {
      const p = new ToolCallParser({ toolNames: NAMES });
      const out: ParsedPiece[] = [];
      for (let i = 0; i < text.length; i++) out.push(...p.push(text[i]!));
      out.push(...p.finish());
      expect(calls(out)).toEqual([{ name: 'get_time', arguments: '{}' }]);
    }
  });

  it('parses a call with 1 MB of arguments fed in 1-character pushes', () => {
    const big = 'x'.repeat(1_000_000);
    const text = `<tool_call>\n{"name": "web_search", "arguments": {"q": "${big}"}}\n</tool_call>`;
    const p = new ToolCallParser({ toolNames: NAMES });
    const out: ParsedPiece[] = [];
    for (let i = 0; i < text.length; i++) out.push(...p.push(text[i]!));
    out.push(...p.finish());
    expect(calls(out)).toEqual([{ name: 'web_search', arguments: `{"q":"${big}"}` }]);
  });
});

describe('ToolCallParser properties on generated answers', () => {
  const TOKENS = [
    'a', 'word ', ' ', '\n', '\n\n', '  ', '<', '>', '/', '{', '}', '[', ']', '"', ':', ',', '`', '```', '~~~',
    '```json\n', '```python\n', '<tool_call>', '</tool_call>', '<tool_calls>', '<function=', 'get_time', '<function_calls>',
    '"name"', '"arguments"', '{"name": "get_time", "arguments": {}}', '[TOOL_CALLS]', '<tool_response>', '\\', '中文',
  ];

  function generate(rand: () => number): string {
    let s = '';
    const len = 1 + Math.floor(rand() * 40);
    for (let i = 0; i < len; i++) s += TOKENS[Math.floor(rand() * TOKENS.length)]!;
    return s;
  }

  function randomPieces(text: string, rand: () => number): string[] {
    const pieces: string[] = [];
    for (let at = 0; at < text.length; ) {
      const len = 1 + Math.floor(rand() * 6);
      pieces.push(text.slice(at, at + len));
      at += len;
    }
    return pieces;
  }

  it('gives the same result however the answer is split', () => {
    const rand = rng(20261122);
    for (let t = 0; t < 1500; t++) {
      const text = generate(rand);
      const whole = norm(run([text], NAMES));
      expect(norm(run(randomPieces(text, rand), NAMES)), JSON.stringify(text)).toEqual(whole);
      expect(norm(run([...text], NAMES)), JSON.stringify(text)).toEqual(whole);
    }
  });

  it('returns an answer without calls unchanged, character for character', () => {
    const rand = rng(7);
    let checked = 0;
    for (let t = 0; t < 1500; t++) {
      const text = generate(rand);
      const pieces = run(randomPieces(text, rand), NAMES);
      if (calls(pieces).length > 0) continue;
      checked++;
      expect(contentOf(pieces), JSON.stringify(text)).toBe(text);
    }
    expect(checked).toBeGreaterThan(500);
  });
});
