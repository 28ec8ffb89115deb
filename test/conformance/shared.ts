/**
 * The checklist items (openai-compat.md §9) that apply to both groups, with the same assertions,
 * against one group's plugin process. Each group file starts its plugin and fake upstream, then
 * calls `sharedConformance(target)`.
 */
import OpenAI from 'openai';
import OpenAI6 from 'openai6';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, streamText, tool } from 'ai';
import { ChatOpenAI } from '@langchain/openai';
import { ContextOverflowError } from '@langchain/core/errors';
import { describe, expect } from 'vitest';
import type { SimulatedDaemon } from '../daemon/simulator.js';
import {
  chatPayloads,
  expectEnvelope,
  expectJsonError,
  FINISH_REASONS,
  item,
  jsonHeaders,
  notApplicable,
  OPENAI_LOOKING_ID,
  raw,
  sseEvents,
  within,
  type Defects,
  type RawResponse,
} from './harness.js';
import {
  CJK_ANSWER,
  EXPLODE_MESSAGE,
  EXPLODE_PREFIX,
  HUGE_ANSWER,
  INDENTED_ANSWER,
  LONG_ANSWER,
  MARKERS,
  PLAIN_ANSWER,
  PLAIN_USAGE,
  SPLIT_THINK_ANSWER,
  SPLIT_THINK_REASONING,
  THINK_ANSWER,
  THINK_REASONING,
  WEATHER_TOOL,
} from './scenarios.js';

export interface Target {
  group: 'chat-app' | 'llm';
  key: string;
  /** the id clients send (listed by /v1/models) */
  model: () => string;
  /** the main front: `http://127.0.0.1:<port>/e/<hook>` */
  base: () => string;
  daemon: () => SimulatedDaemon;
  defects: Defects;
  /** reverse invocation type that runs the answer: `app` or `llm` */
  upstreamType: 'app' | 'llm';
  /** the text the upstream received (query + inputs, or prompt messages), for comparisons */
  upstreamText: (request: Record<string, any>) => string;
  /** what the upstream received as the end user */
  upstreamUser: (request: Record<string, any>) => unknown;
  /** whether the upstream has an end-user field to fill with a key-derived id when the client sent none */
  anonymousUser: boolean;
  /** a front of this group whose target cannot call tools (null: none exists) */
  noToolsBase: () => string | null;
}

const MSG = (content: unknown) => [{ role: 'user', content }];

export function sharedConformance(g: Target): void {
  const D = g.defects;
  const url = (path: string) => g.base() + path;
  const post = (path: string, body: unknown, headers: Record<string, string> = jsonHeaders(g.key)) =>
    fetch(url(path), { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const chat = (body: Record<string, unknown>, headers?: Record<string, string>) => post('/v1/chat/completions', { model: g.model(), ...body }, headers);
  const chatJson = async (body: Record<string, unknown>) => {
    const res = await chat(body);
    const text = await res.text();
    expect({ status: res.status, body: text.slice(0, 400) }).toMatchObject({ status: 200 });
    return { res, body: JSON.parse(text) as any };
  };
  const stream = (body: Record<string, unknown>, headers: Record<string, string> = jsonHeaders(g.key)) =>
    raw(url('/v1/chat/completions'), { method: 'POST', headers, body: JSON.stringify({ model: g.model(), stream: true, ...body }) });
  const calls = () => g.daemon().reverseCalls.filter((c) => c.type === g.upstreamType);
  /** runs `fn` and returns the upstream requests it caused */
  const upstreamOf = async (fn: () => Promise<unknown>) => {
    const before = calls().length;
    await fn();
    return calls().slice(before).map((c) => c.request);
  };
  const client = (opts: Record<string, unknown> = {}) => new OpenAI({ baseURL: url('/v1'), apiKey: g.key, maxRetries: 0, ...opts });

  // Streams several tests look at, made once.
  const memo = new Map<string, Promise<RawResponse>>();
  const once = (key: string, make: () => Promise<RawResponse>) => {
    if (!memo.has(key)) memo.set(key, make());
    return memo.get(key)!;
  };
  const plainUsage = () => once('plainUsage', () => stream({ messages: MSG('hi (usage)'), stream_options: { include_usage: true } }));
  const plainNoUsage = () => once('plain', () => stream({ messages: MSG('hi (no usage)') }));
  const thinkStream = () => once('think', () => stream({ messages: MSG(`${MARKERS.think} 17x23?`), stream_options: { include_usage: true } }));
  const splitStream = () => once('split', () => stream({ messages: MSG(`${MARKERS.splitthink} go`) }));
  const toolStream = () => once('tool', () => stream({ messages: MSG(`${MARKERS.tool} weather in Paris?`), tools: [WEATHER_TOOL] }));
  const twoToolStream = () => once('twotools', () => stream({ messages: MSG(`${MARKERS.twotools} weather in Paris and Oslo?`), tools: [WEATHER_TOOL] }));
  const explodeStream = () => once('explode', () => stream({ messages: MSG(`${MARKERS.explode} summarise`) }));
  const cjkStream = () => once('cjk', () => stream({ messages: MSG(`${MARKERS.cjk} greet`) }));
  const allChatStreams = () => Promise.all([plainUsage(), plainNoUsage(), thinkStream(), splitStream(), toolStream(), twoToolStream(), cjkStream()]);

  const deltasOf = (r: RawResponse) => chatPayloads(r.text).chunks.flatMap((c) => (c.choices ?? []).map((ch: any) => ch.delta ?? {}));
  const textOf = (r: RawResponse) => deltasOf(r).map((d) => (typeof d.content === 'string' ? d.content : '')).join('');
  const reasoningOf = (r: RawResponse) => deltasOf(r).map((d) => (typeof d.reasoning_content === 'string' ? d.reasoning_content : '')).join('');

  describe(`${g.group}: routing, auth, transport (§9 #1-#9)`, () => {
    const routeCheck = async (prefix: string) => {
      const h = { Authorization: `Bearer ${g.key}` };
      const models = await fetch(url(`${prefix}/models`), { headers: h });
      expect({ prefix, status: models.status }).toEqual({ prefix, status: 200 });
      expect(((await models.json()) as any).object).toBe('list');
      const one = await fetch(url(`${prefix}/models/${encodeURIComponent(g.model())}`), { headers: h });
      expect({ prefix, status: one.status }).toEqual({ prefix, status: 200 });
      await one.text();
      const c = await post(`${prefix}/chat/completions`, { model: g.model(), messages: MSG('route check') });
      expect({ prefix, status: c.status }).toEqual({ prefix, status: 200 });
      expect(((await c.json()) as any).choices[0].message.content).toBe(PLAIN_ANSWER);
      const r = await post(`${prefix}/responses`, { model: g.model(), input: 'route check' });
      expect({ prefix, status: r.status }).toEqual({ prefix, status: 200 });
      expect(((await r.json()) as any).object).toBe('response');
    };

    item(D, '1a', 'chat/completions, models, models/{id}, responses exist under /v1 and answer alike without /v1', async () => {
      await routeCheck('/v1');
      await routeCheck('');
      // Azure-style query strings do not change the route
      const q = await post('/v1/chat/completions?api-version=2024-10-21', { model: g.model(), messages: MSG('query string') });
      expect(q.status).toBe(200);
      await q.text();
      // a real client configured with the base URL without /v1
      const c = new OpenAI({ baseURL: g.base(), apiKey: g.key, maxRetries: 0 });
      expect((await c.chat.completions.create({ model: g.model(), messages: [{ role: 'user', content: 'no v1 client' }] })).choices[0]!.message.content).toBe(PLAIN_ANSWER);
      expect((await c.responses.create({ model: g.model(), input: 'no v1 client' })).output_text).toBe(PLAIN_ANSWER);
      const ids: string[] = [];
      for await (const m of c.models.list()) ids.push(m.id);
      expect(ids).toContain(g.model());
    });

    item(D, '1b', 'the same routes with a doubled slash (`/v1//chat/completions`, `//v1/...`) route identically', async () => {
      await routeCheck('/v1/');
      await routeCheck('//v1');
    });

    item(D, '2', 'streaming is chosen by body stream:true alone: Accept: application/json still gets SSE', async () => {
      const r = await stream({ messages: MSG('accept json') }, jsonHeaders(g.key, { Accept: 'application/json' }));
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const nonStream = await chat({ messages: MSG('accept sse'), stream: false }, jsonHeaders(g.key, { Accept: 'text/event-stream' }));
      expect(nonStream.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await nonStream.json()) as any).object).toBe('chat.completion');
    });

    item(D, '3', 'Authorization: Bearer, api-key and x-api-key each authenticate', async () => {
      for (const h of [{ Authorization: `Bearer ${g.key}` }, { 'api-key': g.key }, { 'x-api-key': g.key }] as Array<Record<string, string>>) {
        const res = await chat({ messages: MSG('auth check') }, { 'Content-Type': 'application/json', ...h });
        expect({ header: Object.keys(h)[0], status: res.status }).toEqual({ header: Object.keys(h)[0], status: 200 });
        const models = await fetch(url('/v1/models'), { headers: h });
        expect(models.status).toBe(200);
      }
    });

    item(D, '4', 'missing or wrong key: 401, error envelope, code invalid_api_key (every route)', async () => {
      const cases: Array<[string, RequestInit]> = [
        ['/v1/chat/completions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: g.model(), messages: MSG('x') }) }],
        ['/v1/chat/completions', { method: 'POST', headers: jsonHeaders('wrong-key'), body: JSON.stringify({ model: g.model(), messages: MSG('x') }) }],
        ['/v1/models', { headers: { Authorization: 'Bearer wrong-key' } }],
        ['/v1/models/' + encodeURIComponent(g.model()), { headers: { 'x-api-key': 'wrong-key' } }],
        ['/v1/responses', { method: 'POST', headers: { 'api-key': 'wrong', 'Content-Type': 'application/json' }, body: JSON.stringify({ model: g.model(), input: 'x' }) }],
      ];
      for (const [path, init] of cases) {
        const e = await expectJsonError(await fetch(url(path), init), 401);
        expect(e.code).toBe('invalid_api_key');
      }
      // the configured key must not leak into the message
      const res = await chat({ messages: MSG('x') }, jsonHeaders('wrong-key'));
      expect(await res.text()).not.toContain(g.key);
    });

    item(D, '5', 'unknown route: 404 JSON envelope; wrong method: 405 (or 404) JSON envelope', async () => {
      const unknown = await fetch(url('/v1/nope'), { headers: { Authorization: `Bearer ${g.key}` } });
      await expectJsonError(unknown, 404);
      const wrong = await fetch(url('/v1/chat/completions'), { method: 'GET', headers: { Authorization: `Bearer ${g.key}` } });
      expect([404, 405]).toContain(wrong.status);
      await expectJsonError(wrong, wrong.status);
    });

    item(D, '6', 'OPTIONS preflight on every route: 204, no auth, Allow-Origin/Methods/Headers incl. authorization and requested x-stainless-*', async () => {
      for (const path of ['/v1/chat/completions', '/chat/completions', '/v1/models', '/v1/models/some%2Fmodel', '/v1/responses', '/responses']) {
        const res = await fetch(url(path), {
          method: 'OPTIONS',
          headers: { Origin: 'https://chat.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-stainless-os, x-stainless-retry-count, content-type' },
        });
        expect({ path, status: res.status }).toEqual({ path, status: 204 });
        expect(['*', 'https://chat.example']).toContain(res.headers.get('access-control-allow-origin'));
        expect(res.headers.get('access-control-allow-methods') ?? '').toMatch(/POST/);
        const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
        for (const h of ['authorization', 'x-stainless-os', 'x-stainless-retry-count', 'content-type']) expect({ path, allowed }).toEqual({ path, allowed: expect.stringContaining(h) });
      }
    });

    item(D, '7', 'CORS headers on JSON, SSE and error responses; x-request-id and retry-after(-ms) exposed', async () => {
      const origin = { Origin: 'https://chat.example' };
      const responses: Array<[string, Headers]> = [];
      const ok = await chat({ messages: MSG('cors json') }, jsonHeaders(g.key, origin));
      responses.push(['json', ok.headers]);
      const sse = await stream({ messages: MSG('cors sse') }, jsonHeaders(g.key, origin));
      responses.push(['sse', sse.headers]);
      const err = await chat({ messages: MSG('cors error') }, jsonHeaders('bad', origin));
      responses.push(['401', err.headers]);
      const models = await fetch(url('/v1/models'), { headers: { Authorization: `Bearer ${g.key}`, ...origin } });
      responses.push(['models', models.headers]);
      const limited = await chat({ messages: MSG(`${MARKERS.ratelimit} go`) }, jsonHeaders(g.key, origin));
      responses.push(['429', limited.headers]);
      for (const [what, h] of responses) {
        expect({ what, origin: h.get('access-control-allow-origin') }).toEqual({ what, origin: expect.stringMatching(/^(\*|https:\/\/chat\.example)$/) });
        const exposed = (h.get('access-control-expose-headers') ?? '').toLowerCase();
        for (const name of ['x-request-id', 'retry-after', 'retry-after-ms']) expect({ what, exposed }).toEqual({ what, exposed: expect.stringContaining(name) });
      }
    });

    item(D, '8', 'every response carries x-request-id (JSON, SSE, 400, 401, 404 model, unknown route, preflight)', async () => {
      const got: Array<[string, string | null]> = [];
      got.push(['json', (await chat({ messages: MSG('rid') })).headers.get('x-request-id')]);
      got.push(['sse', (await stream({ messages: MSG('rid sse') })).headers.get('x-request-id')]);
      got.push(['400', (await post('/v1/chat/completions', '{not json')).headers.get('x-request-id')]);
      got.push(['401', (await chat({ messages: MSG('rid') }, jsonHeaders('bad'))).headers.get('x-request-id')]);
      got.push(['models', (await fetch(url('/v1/models'), { headers: { Authorization: `Bearer ${g.key}` } })).headers.get('x-request-id')]);
      got.push(['404 route', (await fetch(url('/v1/nope'), { headers: { Authorization: `Bearer ${g.key}` } })).headers.get('x-request-id')]);
      for (const [what, id] of got) expect({ what, id }).toEqual({ what, id: expect.stringMatching(/\S/) });
      const ids = got.map(([, id]) => id);
      expect(new Set(ids).size).toBe(ids.length);
    });

    item(D, '9e', 'a 6 MiB text message (a pasted document, under the daemon\'s 10 MiB) is relayed or refused cleanly; never a stdout line over 5 MiB (the daemon SIGKILLs the plugin)', async () => {
      const violations = g.daemon().protocolViolations.length;
      const body = JSON.stringify({ model: g.model(), messages: MSG('summarise this: ' + 'lorem ipsum '.repeat(512 * 1024)) });
      expect(body.length).toBeGreaterThan(6 * 1024 * 1024);
      const res = await fetch(url('/v1/chat/completions'), { method: 'POST', headers: jsonHeaders(g.key), body, signal: AbortSignal.timeout(4000) }).catch((e: unknown) => e as Error);
      expect(g.daemon().protocolViolations.slice(violations).map((v) => v.slice(0, 120))).toEqual([]);
      expect(res).toBeInstanceOf(Response);
      const r = res as Response;
      if (r.status !== 200) await expectJsonError(r, r.status);
      else await r.text();
    }, 10_000);

    item(D, '9a', 'malformed JSON body: 400 error envelope', async () => {
      for (const path of ['/v1/chat/completions', '/v1/responses']) {
        const e = await expectJsonError(await post(path, '{"model": "x", "messages": ['), 400);
        expect(e.type).toBe('invalid_request_error');
      }
    });
  });

  describe(`${g.group}: chat request handling (§9 #10-#25)`, () => {
    item(D, '10a', 'missing model: 400 param "model"', async () => {
      const e = await expectJsonError(await post('/v1/chat/completions', { messages: MSG('no model') }), 400);
      expect(e.param).toBe('model');
    });

    item(D, '10b', 'unknown model: 404 code model_not_found', async () => {
      const e = await expectJsonError(await post('/v1/chat/completions', { model: 'no-such-model-xyz', messages: MSG('x') }), 404);
      expect(e.code).toBe('model_not_found');
    });

    item(D, '11', 'missing/empty messages: 400 param "messages"; unknown role: 400 param messages[i].role', async () => {
      expect((await expectJsonError(await post('/v1/chat/completions', { model: g.model() }), 400)).param).toBe('messages');
      expect((await expectJsonError(await post('/v1/chat/completions', { model: g.model(), messages: [] }), 400)).param).toBe('messages');
      const e = await expectJsonError(
        await post('/v1/chat/completions', { model: g.model(), messages: [{ role: 'user', content: 'a' }, { role: 'wizard', content: 'b' }] }),
        400,
      );
      expect(e.param).toBe('messages[1].role');
    });

    item(D, '12', 'developer is accepted and treated exactly like system', async () => {
      const [sys] = await upstreamOf(() => chatJson({ messages: [{ role: 'system', content: 'Be brief. (role check)' }, { role: 'user', content: 'role check' }] }));
      const [dev] = await upstreamOf(() => chatJson({ messages: [{ role: 'developer', content: 'Be brief. (role check)' }, { role: 'user', content: 'role check' }] }));
      expect(g.upstreamText(sys!)).toContain('Be brief. (role check)');
      expect(g.upstreamText(dev!)).toBe(g.upstreamText(sys!));
    });

    item(D, '13', 'user content as a string and as text parts produce the same upstream query', async () => {
      const [a] = await upstreamOf(() => chatJson({ messages: MSG('line one\nline two') }));
      const [b] = await upstreamOf(() =>
        chatJson({ messages: MSG([{ type: 'text', text: 'line one' }, { type: 'text', text: 'line two' }]) }),
      );
      expect(g.upstreamText(b!)).toBe(g.upstreamText(a!));
    });

    item(D, '15', 'input_audio and file parts: 400 with param at the part (never dropped); unknown part type: 400', async () => {
      const audio = await expectJsonError(
        await chat({ messages: MSG([{ type: 'text', text: 'listen' }, { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }]) }),
        400,
      );
      expect(audio.param).toBe('messages[0].content[1].type');
      const file = await expectJsonError(
        await chat({ messages: MSG([{ type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERg==' } }]) }),
        400,
      );
      expect(file.param).toBe('messages[0].content[0].type');
      const unknown = await expectJsonError(await chat({ messages: MSG([{ type: 'hologram', hologram: {} }]) }), 400);
      expect(unknown.param).toBe('messages[0].content[0].type');
    });

    item(D, '16', 'assistant content:null + tool_calls, tool and function messages, assistant reasoning_content: accepted', async () => {
      const { body } = await chatJson({
        messages: [
          { role: 'user', content: 'weather in Paris?' },
          { role: 'assistant', content: null, reasoning_content: 'I should call the tool.', tool_calls: [{ id: 'call_x1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
          { role: 'tool', tool_call_id: 'call_x1', content: '{"temp":21}' },
          { role: 'assistant', content: '', function_call: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
          { role: 'function', name: 'get_weather', content: '{"temp":4}' },
          { role: 'user', content: 'thanks, summarise' },
        ],
        tools: [WEATHER_TOOL],
      });
      expect(body.choices[0].message.content).toBe(PLAIN_ANSWER);
    });

    item(D, '17', 'unknown top-level fields and per-part cache_control are accepted and ignored', async () => {
      const { body } = await chatJson({
        messages: MSG([{ type: 'text', text: 'extra fields', cache_control: { type: 'ephemeral' } }]),
        reasoning: { effort: 'high' },
        chat_id: 'owui-123',
        provider: { order: ['x'] },
        plugins: [],
        thinking: { type: 'enabled' },
        enable_thinking: true,
        include_reasoning: true,
        some_future_field: { a: 1 },
      });
      expect(body.choices[0].message.content).toBe(PLAIN_ANSWER);
    });

    item(D, '18', 'n:1 and n:null accepted; n:2 is 400 param "n"', async () => {
      await chatJson({ messages: MSG('n one'), n: 1 });
      await chatJson({ messages: MSG('n null'), n: null });
      expect((await expectJsonError(await chat({ messages: MSG('n two'), n: 2 }), 400)).param).toBe('n');
    });

    item(D, '19', 'logprobs:true is 400 param "logprobs"; every choice carries logprobs:null', async () => {
      expect((await expectJsonError(await chat({ messages: MSG('lp'), logprobs: true }), 400)).param).toBe('logprobs');
      const { body } = await chatJson({ messages: MSG('lp false'), logprobs: false });
      expect(body.choices[0]).toHaveProperty('logprobs', null);
      for (const c of chatPayloads((await plainUsage()).text).chunks) for (const ch of c.choices) expect(ch).toHaveProperty('logprobs', null);
    });

    item(D, '20', 'modalities containing "audio" or an audio object: 400', async () => {
      expect((await expectJsonError(await chat({ messages: MSG('au'), modalities: ['text', 'audio'] }), 400)).param).toBe('modalities');
      expect((await expectJsonError(await chat({ messages: MSG('au'), audio: { voice: 'alloy', format: 'wav' } }), 400)).param).toBe('audio');
      await chatJson({ messages: MSG('text only'), modalities: ['text'] });
    });

    item(D, '21', 'stop (string, 16-entry array), max_tokens, max_completion_tokens, temperature, top_p, seed, user, metadata, store, parallel_tool_calls, reasoning_effort: 200', async () => {
      await chatJson({ messages: MSG('hints 1'), stop: 'END' });
      await chatJson({
        messages: MSG('hints 2'),
        stop: Array.from({ length: 16 }, (_, i) => `<stop${i}>`),
        max_tokens: 200,
        max_completion_tokens: 180,
        temperature: 0.2,
        top_p: 0.9,
        seed: 7,
        user: 'hint-user',
        metadata: { a: 'b' },
        store: false,
        parallel_tool_calls: false,
        reasoning_effort: 'low',
      });
      // stream_options without stream:true is ignored
      const { body } = await chatJson({ messages: MSG('hints 3'), stream: false, stream_options: { include_usage: true } });
      expect(body.object).toBe('chat.completion');
    });

    item(D, '22', 'tools with tool_choice absent/auto/none are accepted: plain text answer, finish_reason stop', async () => {
      const base = g.noToolsBase() ?? g.base();
      for (const tool_choice of [undefined, 'auto', 'none']) {
        const res = await fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: jsonHeaders(g.key),
          body: JSON.stringify({ model: g.model(), messages: MSG('no tool needed'), tools: [WEATHER_TOOL], ...(tool_choice ? { tool_choice } : {}) }),
        });
        expect({ tool_choice, status: res.status }).toEqual({ tool_choice, status: 200 });
        const body = (await res.json()) as any;
        expect(body.choices[0].message.content).toBe(PLAIN_ANSWER);
        expect(body.choices[0].finish_reason).toBe('stop');
        expect(body.choices[0].message).not.toHaveProperty('tool_calls');
      }
    });

    item(D, '23', 'tool_choice "required" or a named function against a target without tool support: 400', async () => {
      const base = g.noToolsBase();
      expect(base, 'this group has a front whose target cannot call tools').not.toBeNull();
      for (const tool_choice of ['required', { type: 'function', function: { name: 'get_weather' } }]) {
        const res = await fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: jsonHeaders(g.key),
          body: JSON.stringify({ model: g.model(), messages: MSG('force'), tools: [WEATHER_TOOL], tool_choice }),
        });
        const e = await expectJsonError(res, 400);
        expect(e.param).toBe('tool_choice');
      }
    });

    item(D, '24', 'response_format text, json_object and json_schema are accepted', async () => {
      for (const response_format of [
        { type: 'text' },
        { type: 'json_object' },
        { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'] } } },
      ]) {
        const res = await chat({ messages: MSG('format') , response_format });
        expect({ type: response_format.type, status: res.status }).toEqual({ type: response_format.type, status: 200 });
        await res.text();
      }
    });

    item(D, '25', 'user (else safety_identifier, else a per-key id) is what the upstream receives as user', async () => {
      const [withUser] = await upstreamOf(() => chatJson({ messages: MSG('who 1'), user: 'alice@example.com', safety_identifier: 'sid-1' }));
      const [withSid] = await upstreamOf(() => chatJson({ messages: MSG('who 2'), safety_identifier: 'sid-bob' }));
      expect(String(g.upstreamUser(withUser!))).toContain('alice@example.com');
      expect(String(g.upstreamUser(withSid!))).toContain('sid-bob');
      if (g.anonymousUser) {
        const [anon] = await upstreamOf(() => chatJson({ messages: MSG('who 3') }));
        expect(typeof g.upstreamUser(anon!)).toBe('string');
        expect(String(g.upstreamUser(anon!)).length).toBeGreaterThan(0);
        const [otherKey] = await upstreamOf(async () => {
          // same request, another OpenAI user: a different Dify user
          await chatJson({ messages: MSG('who 4'), user: 'bob' });
        });
        expect(g.upstreamUser(otherKey!)).not.toBe(g.upstreamUser(anon!));
      }
    });
  });

  describe(`${g.group}: non-streaming response (§9 #26-#31)`, () => {
    item(D, '26', 'application/json; object chat.completion; string id; created integer seconds near now; model echoed', async () => {
      const { res, body } = await chatJson({ messages: MSG('shape') });
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(body.object).toBe('chat.completion');
      expect(typeof body.id).toBe('string');
      expect(Number.isInteger(body.created)).toBe(true);
      expect(Math.abs(body.created - Date.now() / 1000)).toBeLessThan(300);
      expect(body.model).toBe(g.model());
    });

    item(D, '27', 'exactly one choice: index 0, role assistant, refusal null, logprobs null, finish_reason in the spec enum', async () => {
      const { body } = await chatJson({ messages: MSG('choice') });
      expect(body.choices).toHaveLength(1);
      const c = body.choices[0];
      expect(c.index).toBe(0);
      expect(c.message.role).toBe('assistant');
      expect(c.message).toHaveProperty('refusal', null);
      expect(c).toHaveProperty('logprobs', null);
      expect(FINISH_REASONS).toContain(c.finish_reason);
    });

    item(D, '28', 'content is a string; null only together with tool_calls', async () => {
      const { body } = await chatJson({ messages: MSG('content type') });
      expect(typeof body.choices[0].message.content).toBe('string');
      const { body: t } = await chatJson({ messages: MSG(`${MARKERS.tool} weather?`), tools: [WEATHER_TOOL] });
      const m = t.choices[0].message;
      expect(m.content === null || typeof m.content === 'string').toBe(true);
      if (m.content === null) expect(Array.isArray(m.tool_calls) && m.tool_calls.length > 0).toBe(true);
    });

    item(D, '29', 'tool_calls absent when none; else id, type function, name, JSON string arguments, finish_reason tool_calls', async () => {
      const { body } = await chatJson({ messages: MSG('no tools here'), tools: [WEATHER_TOOL] });
      expect(body.choices[0].message).not.toHaveProperty('tool_calls');
      const { body: t } = await chatJson({ messages: MSG(`${MARKERS.twotools} weather?`), tools: [WEATHER_TOOL] });
      const c = t.choices[0];
      expect(c.finish_reason).toBe('tool_calls');
      expect(c.message.tool_calls).toHaveLength(2);
      for (const call of c.message.tool_calls) {
        expect(typeof call.id).toBe('string');
        expect(call.id.length).toBeGreaterThan(0);
        expect(call.type).toBe('function');
        expect(call.function.name).toBe('get_weather');
        expect(typeof call.function.arguments).toBe('string');
      }
      expect(c.message.tool_calls.map((x: any) => JSON.parse(x.function.arguments))).toEqual([{ city: 'Paris' }, { city: 'Oslo' }]);
      expect(new Set(c.message.tool_calls.map((x: any) => x.id)).size).toBe(2);
    });

    item(D, '30', 'usage: integer prompt/completion/total, total = prompt + completion, values from upstream usage', async () => {
      const { body } = await chatJson({ messages: MSG('usage') });
      const u = body.usage;
      for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens']) expect(Number.isInteger(u[k])).toBe(true);
      expect(u.total_tokens).toBe(u.prompt_tokens + u.completion_tokens);
      expect([u.prompt_tokens, u.completion_tokens]).toEqual([PLAIN_USAGE.prompt_tokens, PLAIN_USAGE.completion_tokens]);
    });

    item(D, '31', 'inline <think> reasoning lands in message.reasoning_content; content has no <think> tags', async () => {
      const { body } = await chatJson({ messages: MSG(`${MARKERS.think} 17x23?`) });
      const m = body.choices[0].message;
      expect(m.reasoning_content.trim()).toBe(THINK_REASONING);
      expect(m.content.trim()).toBe(THINK_ANSWER);
      expect(m.content).not.toMatch(/<\/?think>/);
      const { body: plain } = await chatJson({ messages: MSG('no reasoning') });
      expect(plain.choices[0].message).not.toHaveProperty('reasoning_content');
    });
  });

  describe(`${g.group}: streaming (§9 #32-#50)`, () => {
    item(D, '32a', 'status 200, Content-Type text/event-stream, Cache-Control no-cache', async () => {
      for (const r of await allChatStreams()) {
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
        expect(r.headers.get('cache-control') ?? '').toMatch(/no-cache/);
      }
    });

    item(D, '32c', 'no Content-Length on SSE responses', async () => {
      for (const r of await allChatStreams()) expect(r.headers.get('content-length')).toBeNull();
    });

    item(D, '33', 'every non-comment event is exactly one data: line; no event:/id:/retry: on chat streams', async () => {
      for (const r of [...(await allChatStreams()), await explodeStream()]) {
        for (const e of sseEvents(r.text)) {
          if (e.comment) continue;
          expect(e.event).toBeUndefined();
          expect(e.otherFields).toEqual([]);
          expect(e.dataLines).toBe(1);
          expect(e.block.split('\n')).toHaveLength(1);
        }
      }
    });

    item(D, '34', 'every payload but [DONE] is single-line JSON with identical id, created, model and object chat.completion.chunk', async () => {
      for (const r of await allChatStreams()) {
        const { chunks } = chatPayloads(r.text);
        expect(chunks.length).toBeGreaterThan(1);
        const first = chunks[0];
        expect(typeof first.id).toBe('string');
        expect(Number.isInteger(first.created)).toBe(true);
        expect(first.model).toBe(g.model());
        for (const c of chunks) {
          expect(c.object).toBe('chat.completion.chunk');
          expect([c.id, c.created, c.model]).toEqual([first.id, first.created, first.model]);
        }
      }
    });

    item(D, '35', 'the first chunk carries delta.role "assistant" (content "" or null with tool calls)', async () => {
      for (const r of await allChatStreams()) {
        const first = chatPayloads(r.text).chunks[0];
        expect(first.choices[0].delta.role).toBe('assistant');
        expect(['', null]).toContain(first.choices[0].delta.content ?? null);
      }
    });

    item(D, '36', 'no delta has a role other than assistant; every choice has index and a delta object', async () => {
      for (const r of await allChatStreams()) {
        for (const c of chatPayloads(r.text).chunks) {
          expect(Array.isArray(c.choices)).toBe(true);
          for (const ch of c.choices) {
            expect(ch.index).toBe(0);
            expect(ch.delta && typeof ch.delta === 'object' && !Array.isArray(ch.delta)).toBe(true);
            if ('role' in ch.delta) expect(ch.delta.role).toBe('assistant');
          }
        }
      }
    });

    item(D, '37', 'text deltas concatenate to the non-streaming answer of the same upstream transcript', async () => {
      expect(textOf(await plainNoUsage())).toBe(PLAIN_ANSWER);
      const { body } = await chatJson({ messages: MSG(`${MARKERS.think} 17x23?`) });
      const s = await thinkStream();
      expect(textOf(s)).toBe(body.choices[0].message.content);
      expect(reasoningOf(s)).toBe(body.choices[0].message.reasoning_content);
      const { body: cjk } = await chatJson({ messages: MSG(`${MARKERS.cjk} greet`) });
      expect(textOf(await cjkStream())).toBe(cjk.choices[0].message.content);
    });

    item(D, '38', 'exactly one chunk has a non-null finish_reason, with delta {} or a last fragment, and no content after it', async () => {
      for (const r of await allChatStreams()) {
        const { chunks } = chatPayloads(r.text);
        const idx = chunks.map((c, i) => (c.choices.some((ch: any) => ch.finish_reason != null) ? i : -1)).filter((i) => i >= 0);
        expect(idx).toHaveLength(1);
        const fin = chunks[idx[0]!].choices[0];
        expect(FINISH_REASONS).toContain(fin.finish_reason);
        for (const c of chunks.slice(idx[0]! + 1)) expect(c.choices).toEqual([]);
      }
    });

    item(D, '39', 'include_usage: one choices:[] chunk with integer usage after the finish chunk, before [DONE]; without it none', async () => {
      for (const r of [await plainUsage(), await thinkStream()]) {
        const { chunks, done } = chatPayloads(r.text);
        expect(done).toBe(true);
        const usageChunks = chunks.filter((c) => c.choices.length === 0);
        expect(usageChunks).toHaveLength(1);
        expect(chunks.at(-1)).toBe(usageChunks[0]);
        const u = usageChunks[0].usage;
        for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens']) expect(Number.isInteger(u[k])).toBe(true);
        expect(u.total_tokens).toBe(u.prompt_tokens + u.completion_tokens);
        for (const c of chunks.slice(0, -1)) expect(c.usage ?? null).toBeNull();
      }
      expect(chatPayloads((await plainUsage()).text).chunks.at(-1).usage).toMatchObject(PLAIN_USAGE);
      for (const r of [await plainNoUsage(), await splitStream(), await toolStream()]) {
        const { chunks } = chatPayloads(r.text);
        expect(chunks.filter((c) => c.choices.length === 0)).toEqual([]);
        for (const c of chunks) expect(c.usage ?? null).toBeNull();
      }
    });

    item(D, '40', 'the stream ends with data: [DONE]\\n\\n and the body ends within 1 s of it', async () => {
      for (const r of await allChatStreams()) {
        expect(r.text.endsWith('data: [DONE]\n\n')).toBe(true);
        expect(r.doneMs).not.toBeNull();
        expect(r.endMs - r.doneMs!).toBeLessThan(1000);
      }
    });

    item(D, '41', 'openai@6 streaming iteration terminates (regression guard for #40)', async () => {
      const v6 = new OpenAI6({ baseURL: url('/v1'), apiKey: g.key, maxRetries: 0 });
      const s = await v6.chat.completions.create({ model: g.model(), stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'v6 terminate' }] });
      let text = '';
      await within(5000, 'openai@6 stream iteration', (async () => {
        for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
      })());
      expect(text).toBe(PLAIN_ANSWER);
    });

    item(D, '42', 'reasoning deltas: reasoning_content strings, never together with non-empty content, no empty reasoning_content keys', async () => {
      const s = await thinkStream();
      expect(reasoningOf(s)).toContain(THINK_REASONING);
      for (const r of await allChatStreams()) {
        for (const d of deltasOf(r)) {
          if ('reasoning_content' in d) {
            expect(typeof d.reasoning_content).toBe('string');
            expect(d.reasoning_content).not.toBe('');
            expect(d.content ?? '').toBe('');
          }
          expect(d).not.toHaveProperty('reasoning');
        }
      }
    });

    item(D, '43', '<think> tags split across upstream chunks are fully converted', async () => {
      const s = await splitStream();
      expect(reasoningOf(s).trim()).toBe(SPLIT_THINK_REASONING);
      expect(textOf(s).trim()).toBe(SPLIT_THINK_ANSWER);
      expect(textOf(s)).not.toMatch(/<|think>/);
    });

    item(D, '44', 'tool-call deltas: index always; id/type/name only first; later only index+arguments; function object always; args parse; finish tool_calls', async () => {
      for (const [r, expected] of [
        [await toolStream(), [{ city: 'Paris' }]],
        [await twoToolStream(), [{ city: 'Paris' }, { city: 'Oslo' }]],
      ] as const) {
        const { chunks } = chatPayloads(r.text);
        const byIndex = new Map<number, { id: string; name: string; args: string; deltas: number }>();
        for (const c of chunks) {
          for (const ch of c.choices) {
            for (const tc of ch.delta.tool_calls ?? []) {
              expect(typeof tc.index).toBe('number');
              expect(tc.function && typeof tc.function === 'object').toBe(true);
              const seen = byIndex.get(tc.index);
              if (!seen) {
                expect(typeof tc.id).toBe('string');
                expect(tc.id.length).toBeGreaterThan(0);
                expect(tc.type).toBe('function');
                expect(tc.function.name).toBe('get_weather');
                byIndex.set(tc.index, { id: tc.id, name: tc.function.name, args: tc.function.arguments ?? '', deltas: 1 });
              } else {
                expect(Object.keys(tc).sort()).toEqual(['function', 'index']);
                expect(Object.keys(tc.function)).toEqual(['arguments']);
                seen.args += tc.function.arguments;
                seen.deltas++;
              }
            }
          }
        }
        expect([...byIndex.keys()].sort()).toEqual(expected.map((_, i) => i));
        expect([...byIndex.values()].map((v) => JSON.parse(v.args))).toEqual(expected);
        const finish = chunks.flatMap((c) => c.choices).find((ch: any) => ch.finish_reason);
        expect(finish.finish_reason).toBe('tool_calls');
      }
    });

    item(D, '46', 'an upstream error after the first chunk: final data {"error":{...}} without choices, no finish chunk, no [DONE], body ends', async () => {
      const r = await explodeStream();
      expect(r.status).toBe(200);
      const { chunks, done } = chatPayloads(r.text);
      expect(done).toBe(false);
      const last = chunks.at(-1);
      expect(last).not.toHaveProperty('choices');
      const e = expectEnvelope(last);
      expect(e.message).toContain(EXPLODE_MESSAGE);
      for (const c of chunks.slice(0, -1)) for (const ch of c.choices) expect(ch.finish_reason ?? null).toBeNull();
      expect(textOf(r)).toBe(EXPLODE_PREFIX);
      const errorAt = r.reads.find((x, i) => r.reads.slice(0, i + 1).map((y) => y.text).join('').includes('"error"'))!.ms;
      expect(r.endMs - errorAt).toBeLessThan(1000);
      // openai@6 ends too (it reads until EOF)
      const v6 = new OpenAI6({ baseURL: url('/v1'), apiKey: g.key, maxRetries: 0 });
      const s6 = await v6.chat.completions.create({ model: g.model(), stream: true, messages: [{ role: 'user', content: `${MARKERS.explode} v6` }] });
      await expect(within(5000, 'openai@6 error stream', (async () => {
        for await (const _ of s6) void _;
      })())).rejects.toThrow(EXPLODE_MESSAGE);
    });

    item(D, '47', 'with that stream openai-node throws APIError carrying the upstream message, the AI SDK finishes with error, LangChain throws', async () => {
      const s = await client().chat.completions.create({ model: g.model(), stream: true, messages: [{ role: 'user', content: `${MARKERS.explode} summarise` }] });
      const err = await (async () => {
        try {
          for await (const _ of s) void _;
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as Error).message).toBe(EXPLODE_MESSAGE);
      const p = createOpenAICompatible({ name: 'dify', baseURL: url('/v1'), apiKey: g.key, includeUsage: true });
      const st = streamText({ model: p.chatModel(g.model()), prompt: `${MARKERS.explode} summarise`, maxRetries: 0, onError: () => undefined });
      const errors: unknown[] = [];
      for await (const part of st.fullStream) if (part.type === 'error') errors.push(part.error);
      expect(await st.finishReason).toBe('error');
      expect(errors.map((e) => String((e as Error)?.message ?? e)).join(' ')).toContain(EXPLODE_MESSAGE);
      const lc = new ChatOpenAI({ model: g.model(), apiKey: g.key, configuration: { baseURL: url('/v1') }, maxRetries: 0, streaming: true });
      await expect(lc.invoke(`${MARKERS.explode} summarise`)).rejects.toThrow(EXPLODE_MESSAGE);
    });

    item(D, '48', 'an upstream failure before the first token is a real HTTP error status with JSON, not a 200 stream', async () => {
      const r = await stream({ messages: MSG(`${MARKERS.ratelimit} go`) });
      expect(r.status).toBe(429);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      expectEnvelope(JSON.parse(r.text));
      // the same on a Responses stream
      const rr = await raw(url('/v1/responses'), { method: 'POST', headers: jsonHeaders(g.key), body: JSON.stringify({ model: g.model(), stream: true, input: `${MARKERS.quota} go` }) });
      expect(rr.status).toBe(429);
      expect(rr.headers.get('content-type')).toMatch(/^application\/json/);
      expect(expectEnvelope(JSON.parse(rr.text)).code).toBe('insufficient_quota');
      // a non-streaming client gets an HTTP error for a run that failed halfway, never a 200 with half an answer
      const half = await chat({ messages: MSG(`${MARKERS.explode} non-stream`) });
      expect(half.status).toBeGreaterThanOrEqual(400);
      expect((await expectJsonError(half, half.status)).message).toContain(EXPLODE_MESSAGE);
      const halfResponses = await post('/v1/responses', { model: g.model(), input: `${MARKERS.explode} non-stream` });
      expect(halfResponses.status).toBeGreaterThanOrEqual(400);
      expect((await expectJsonError(halfResponses, halfResponses.status)).message).toContain(EXPLODE_MESSAGE);
    });

    item(D, '37c', 'a long answer (4000 deltas) read by a slow client arrives complete (the daemon drops chunks beyond 128 pending)', async () => {
      const dropped = g.daemon().protocolViolations.length;
      const res = await fetch(url('/v1/chat/completions'), { method: 'POST', headers: jsonHeaders(g.key), body: JSON.stringify({ model: g.model(), stream: true, messages: MSG(`${MARKERS.long} go`) }) });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      for (let n = 0; ; n++) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        if (n < 20) await new Promise((r) => setTimeout(r, 25));
      }
      text += decoder.decode();
      // (leading whitespace of an answer may be trimmed by the reasoning splitter: compare from the first word)
      expect(textOf({ text } as RawResponse).trimStart()).toBe(LONG_ANSWER.trimStart());
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
      expect(g.daemon().protocolViolations.length).toBe(dropped);
    });

    item(D, '37d', 'the answer text is relayed verbatim: leading whitespace (an indented code line) is kept, streaming and not', async () => {
      const { body } = await chatJson({ messages: MSG(`${MARKERS.indented} code`) });
      expect(body.choices[0].message.content).toBe(INDENTED_ANSWER);
      expect(textOf(await stream({ messages: MSG(`${MARKERS.indented} code`) }))).toBe(INDENTED_ANSWER);
    });

    item(D, '37e', 'a 3 MB answer arrives whole (streaming and not) without a stdout line over the daemon\'s 5 MiB limit', async () => {
      const violations = g.daemon().protocolViolations.length;
      const { body } = await chatJson({ messages: MSG(`${MARKERS.huge} big`) });
      expect(body.choices[0].message.content).toBe(HUGE_ANSWER);
      expect(textOf(await stream({ messages: MSG(`${MARKERS.huge} big`) }))).toBe(HUGE_ANSWER);
      expect(g.daemon().protocolViolations.slice(violations).map((v) => v.slice(0, 120))).toEqual([]);
    }, 20_000);

    item(D, '37b', 'concurrent streams through one plugin process keep their own chunks (no interleaving across responses)', async () => {
      const kinds = [
        { content: 'concurrent plain', text: PLAIN_ANSWER },
        { content: `${MARKERS.cjk} concurrent`, text: CJK_ANSWER },
        { content: `${MARKERS.think} concurrent`, text: THINK_ANSWER },
      ];
      const runs = await Promise.all(Array.from({ length: 12 }, (_, i) => kinds[i % 3]!).map((k) => stream({ messages: MSG(k.content) }).then((r) => ({ r, k }))));
      for (const { r, k } of runs) {
        expect(textOf(r).trim()).toBe(k.text);
        const ids = new Set(chatPayloads(r.text).chunks.map((c) => c.id));
        expect(ids.size).toBe(1);
      }
      expect(new Set(runs.map(({ r }) => chatPayloads(r.text).chunks[0].id)).size).toBe(runs.length);
    });

    item(D, '50', 'multi-byte UTF-8 (CJK, emoji, ZWJ) arrives intact, streaming and not', async () => {
      expect(textOf(await cjkStream())).toBe(CJK_ANSWER);
      const { body } = await chatJson({ messages: MSG(`${MARKERS.cjk} greet`) });
      expect(body.choices[0].message.content).toBe(CJK_ANSWER);
      expect((await cjkStream()).text).not.toContain('\uFFFD');
    });
  });

  describe(`${g.group}: errors and retries (§9 #51-#57)`, () => {
    item(D, '51', 'every non-2xx body of the handlers is {"error":{message,type,param,code}}', async () => {
      const responses = await Promise.all([
        chat({ messages: MSG('x') }, jsonHeaders('bad')),
        post('/v1/chat/completions', '{oops'),
        chat({ messages: [] }),
        post('/v1/chat/completions', { model: 'no-such-model-xyz', messages: MSG('x') }),
        chat({ messages: MSG(`${MARKERS.ratelimit} go`) }),
        chat({ messages: MSG(`${MARKERS.difyauth} go`) }),
        chat({ messages: MSG(`${MARKERS.overflow} go`) }),
        post('/v1/responses', { model: g.model(), input: 'x', background: true }),
        fetch(url('/v1/models/no-such-model-xyz'), { headers: { Authorization: `Bearer ${g.key}` } }),
        // (router-level 404/405 for unknown paths and methods: see #5)
      ]);
      for (const res of responses) {
        if (res.status < 400) {
          await res.text();
          continue;
        }
        const text = await res.text();
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new Error(`${res.status} ${res.url}: body is not JSON: ${text.slice(0, 200)}`);
        }
        expectEnvelope(body);
      }
    });

    item(D, '52', 'status maps to the openai-node error class (400, 401, 404, 429, 5xx)', async () => {
      const c = client();
      const classOf = async (p: Promise<unknown>) => {
        try {
          await p;
          return 'no error';
        } catch (e) {
          return (e as Error).constructor.name;
        }
      };
      const bad = new OpenAI({ baseURL: url('/v1'), apiKey: 'bad', maxRetries: 0 });
      expect(await classOf(c.chat.completions.create({ model: g.model(), messages: [], }))).toBe('BadRequestError');
      expect(await classOf(bad.chat.completions.create({ model: g.model(), messages: [{ role: 'user', content: 'x' }] }))).toBe('AuthenticationError');
      expect(await classOf(c.models.retrieve('no-such-model-xyz'))).toBe('NotFoundError');
      expect(await classOf(c.chat.completions.create({ model: g.model(), messages: [{ role: 'user', content: `${MARKERS.ratelimit} go` }] }))).toBe('RateLimitError');
      expect(await classOf(c.chat.completions.create({ model: g.model(), messages: [{ role: 'user', content: `${MARKERS.difyauth} go` }] }))).toBe('InternalServerError');
    });

    item(D, '53', '429 carries retry-after and retry-after-ms; openai-node with maxRetries:1 retries exactly once', async () => {
      const res = await chat({ messages: MSG(`${MARKERS.ratelimit} headers`) });
      const e = await expectJsonError(res, 429);
      expect(e.code).toBe('rate_limit_exceeded');
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(res.headers.get('retry-after-ms')).toMatch(/^\d+(\.\d+)?$/);
      const reqs = await upstreamOf(async () => {
        await expect(client({ maxRetries: 1 }).chat.completions.create({ model: g.model(), messages: [{ role: 'user', content: `${MARKERS.ratelimit} retry` }] })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
      });
      expect(reqs).toHaveLength(2);
    });

    item(D, '54', 'deterministic upstream failures carry x-should-retry: false and openai-node does not retry them', async () => {
      const res = await chat({ messages: MSG(`${MARKERS.difyauth} headers`) });
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(res.headers.get('x-should-retry')).toBe('false');
      await res.text();
      const reqs = await upstreamOf(async () => {
        await expect(client({ maxRetries: 2 }).chat.completions.create({ model: g.model(), messages: [{ role: 'user', content: `${MARKERS.difyauth} retry` }] })).rejects.toBeInstanceOf(OpenAI.InternalServerError);
      });
      expect(reqs).toHaveLength(1);
    });

    item(D, '55', 'quota exhaustion: 429 code insufficient_quota with x-should-retry: false', async () => {
      const res = await chat({ messages: MSG(`${MARKERS.quota} go`) });
      const e = await expectJsonError(res, 429);
      expect(e.code).toBe('insufficient_quota');
      expect(res.headers.get('x-should-retry')).toBe('false');
    });

    item(D, '56', 'context overflow: 400 code context_length_exceeded mentioning "maximum context length"; LangChain raises ContextOverflowError', async () => {
      const e = await expectJsonError(await chat({ messages: MSG(`${MARKERS.overflow} go`) }), 400);
      expect(e.code).toBe('context_length_exceeded');
      expect(e.message).toMatch(/maximum context length/);
      const lc = new ChatOpenAI({ model: g.model(), apiKey: g.key, configuration: { baseURL: url('/v1') }, maxRetries: 0 });
      const err = await lc.invoke(`${MARKERS.overflow} go`).then(() => null, (x: unknown) => x);
      expect(ContextOverflowError.isInstance(err)).toBe(true);
    });

    item(D, '57', 'an upstream (Dify-side) authentication failure never surfaces as 401', async () => {
      const res = await chat({ messages: MSG(`${MARKERS.difyauth} go`) });
      expect(res.status).not.toBe(401);
      expect(res.status).toBe(502);
      expect((await expectJsonError(res, 502)).code).toBe('upstream_auth_error');
    });
  });

  describe(`${g.group}: models (§9 #58-#60)`, () => {
    item(D, '58', 'GET /v1/models: {object:list, data:[{id, object:model, created:int, owned_by}]}', async () => {
      const res = await fetch(url('/v1/models'), { headers: { Authorization: `Bearer ${g.key}` } });
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as any;
      expect(body.object).toBe('list');
      expect(body.data.length).toBeGreaterThan(0);
      for (const m of body.data) {
        expect(typeof m.id).toBe('string');
        expect(m.object).toBe('model');
        expect(Number.isInteger(m.created)).toBe(true);
        expect(typeof m.owned_by).toBe('string');
      }
      expect(body.data.map((m: any) => m.id)).toContain(g.model());
      const ids: string[] = [];
      for await (const m of client().models.list()) ids.push(m.id);
      expect(ids).toContain(g.model());
    });

    item(D, '59', 'GET /v1/models/{id}: the same object; unknown id is 404 model_not_found', async () => {
      const list = (await (await fetch(url('/v1/models'), { headers: { Authorization: `Bearer ${g.key}` } })).json()) as any;
      const listed = list.data.find((m: any) => m.id === g.model());
      const one = await client().models.retrieve(g.model());
      expect(JSON.parse(JSON.stringify(one))).toEqual(listed);
      const e = await expectJsonError(await fetch(url('/v1/models/no-such-model-xyz'), { headers: { Authorization: `Bearer ${g.key}` } }), 404);
      expect(e.code).toBe('model_not_found');
    });

    item(D, '60', 'no listed id mimics an OpenAI family (gpt-*, o1/o3/o4*, *codex*, chatgpt-*)', async () => {
      const list = (await (await fetch(url('/v1/models'), { headers: { Authorization: `Bearer ${g.key}` } })).json()) as any;
      for (const m of list.data) expect(m.id).not.toMatch(OPENAI_LOOKING_ID);
    });
  });

  describe(`${g.group}: Responses API (§9 #66-#73)`, () => {
    const responsesStream = (body: Record<string, unknown>) =>
      raw(url('/v1/responses'), { method: 'POST', headers: jsonHeaders(g.key), body: JSON.stringify({ model: g.model(), stream: true, ...body }) });
    const namedEvents = (r: RawResponse) => sseEvents(r.text).filter((e) => !e.comment).map((e) => ({ event: e.event, data: JSON.parse(e.data!) }));

    item(D, '66', 'non-streaming: object response, status completed, assistant message with output_text, integer usage; openai-node output_text', async () => {
      const res = await post('/v1/responses', { model: g.model(), input: 'responses plain' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as any;
      expect(body.object).toBe('response');
      expect(body.status).toBe('completed');
      expect(body.id).toMatch(/^resp_/);
      expect(Number.isInteger(body.created_at)).toBe(true);
      const msg = body.output.find((o: any) => o.type === 'message');
      expect(msg).toMatchObject({ role: 'assistant', status: 'completed' });
      expect(msg.content[0]).toMatchObject({ type: 'output_text', text: PLAIN_ANSWER });
      for (const k of ['input_tokens', 'output_tokens', 'total_tokens']) expect(Number.isInteger(body.usage[k])).toBe(true);
      expect(body.usage.total_tokens).toBe(body.usage.input_tokens + body.usage.output_tokens);
      for (const k of ['error', 'incomplete_details']) expect(body).toHaveProperty(k, null);
      for (const k of ['instructions', 'parallel_tool_calls', 'tool_choice', 'tools', 'metadata', 'temperature', 'top_p']) expect(body).toHaveProperty(k);
      const r = await client().responses.create({ model: g.model(), input: 'responses plain' });
      expect(r.output_text).toBe(PLAIN_ANSWER);
    });

    item(D, '67', 'input as string, message items, function_call/function_call_output items; instructions become the system prompt', async () => {
      const [withInstructions] = await upstreamOf(async () => {
        const r = await post('/v1/responses', { model: g.model(), instructions: 'Answer like a pirate. (instr)', input: 'instructions check' });
        expect(r.status).toBe(200);
        await r.text();
      });
      expect(g.upstreamText(withInstructions!)).toContain('Answer like a pirate. (instr)');
      const items = await post('/v1/responses', {
        model: g.model(),
        input: [
          { role: 'developer', content: 'Be brief.' },
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'weather in Paris?' }] },
          { type: 'function_call', call_id: 'call_r1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call_output', call_id: 'call_r1', output: '{"temp":21}' },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'It is 21 degrees.' }] },
          { type: 'reasoning', id: 'rs_1', summary: [] },
          { role: 'user', content: 'and tomorrow?' },
        ],
        tools: [{ type: 'function', name: 'get_weather', description: 'weather', parameters: WEATHER_TOOL.function.parameters }],
      });
      expect(items.status).toBe(200);
      expect(((await items.json()) as any).status).toBe('completed');
    });

    item(D, '67b', 'a Codex-CLI-shaped request (store:false, include, reasoning, text.verbosity, prompt_cache_key, custom/web_search tools next to function tools) streams to response.completed', async () => {
      const r = await responsesStream({
        instructions: 'You are a coding agent.',
        input: [
          { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<environment_context>cwd=/repo</environment_context>' }] },
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'codex hello' }] },
        ],
        tools: [
          { type: 'function', name: 'shell', description: 'Runs a shell command', strict: false, parameters: { type: 'object', properties: { command: { type: 'array', items: { type: 'string' } } }, required: ['command'], additionalProperties: false } },
          { type: 'custom', name: 'apply_patch', description: 'Apply a patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: /.+/' } },
          { type: 'web_search' },
        ],
        tool_choice: 'auto',
        parallel_tool_calls: false,
        reasoning: { effort: 'medium', summary: 'auto' },
        store: false,
        include: ['reasoning.encrypted_content'],
        prompt_cache_key: 'codex-session-1',
        text: { verbosity: 'low' },
        service_tier: 'auto',
      });
      expect(r.status).toBe(200);
      const evs = namedEvents(r);
      expect(evs.at(-1)!.event).toBe('response.completed');
      expect(evs.filter((e) => e.event === 'response.output_text.delta').map((e) => e.data.delta).join('')).toBe(PLAIN_ANSWER);
      const done = evs.filter((e) => e.event === 'response.output_item.done').map((e) => e.data.item.type);
      expect(done).toContain('message');
    });

    item(D, '68', 'streaming: event: equals data.type, sequence_number 0,1,2..., the §6.2 order, response.completed last, then the body ends', async () => {
      const r = await responsesStream({ input: 'responses stream' });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const evs = namedEvents(r);
      evs.forEach((e, i) => {
        expect(e.event).toBe(e.data.type);
        expect(e.data.sequence_number).toBe(i);
      });
      const types = evs.map((e) => e.event);
      const deltas = types.filter((t) => t === 'response.output_text.delta').length;
      expect(deltas).toBeGreaterThan(0);
      expect(types).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        ...Array(deltas).fill('response.output_text.delta'),
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      expect(evs[0]!.data.response).toMatchObject({ status: 'in_progress', output: [] });
      expect(typeof evs[0]!.data.response.id).toBe('string');
      const added = evs[2]!.data;
      expect(added.item).toMatchObject({ type: 'message', status: 'in_progress', role: 'assistant', content: [] });
      const textDeltas = evs.filter((e) => e.event === 'response.output_text.delta');
      for (const d of textDeltas) expect(d.data.item_id).toBe(added.item.id);
      expect(textDeltas.map((d) => d.data.delta).join('')).toBe(PLAIN_ANSWER);
      const done = evs.at(-1)!.data.response;
      expect(done.status).toBe('completed');
      for (const k of ['input_tokens', 'output_tokens', 'total_tokens']) expect(Number.isInteger(done.usage[k])).toBe(true);
      expect(r.text.endsWith('\n\n')).toBe(true);
      // the body ends right after response.completed (openai@6 reads until EOF)
      const completedAt = r.reads.find((x, i) => r.reads.slice(0, i + 1).map((y) => y.text).join('').includes('response.completed'))!.ms;
      expect(r.endMs - completedAt).toBeLessThan(1000);
    });

    item(D, '69', 'openai responses.stream().finalResponse() and AI SDK createOpenAI({baseURL})(id) stream and generate without error parts', async () => {
      const final = await within(5000, 'responses.stream().finalResponse()', client().responses.stream({ model: g.model(), input: 'sdk stream' }).finalResponse());
      expect(final.output_text).toBe(PLAIN_ANSWER);
      const v6 = new OpenAI6({ baseURL: url('/v1'), apiKey: g.key, maxRetries: 0 });
      const final6 = await within(5000, 'openai@6 responses.stream().finalResponse()', v6.responses.stream({ model: g.model(), input: 'sdk stream v6' }).finalResponse());
      expect(final6.output_text).toBe(PLAIN_ANSWER);
      const openai = createOpenAI({ baseURL: url('/v1'), apiKey: g.key });
      const gen = await generateText({ model: openai(g.model()), prompt: 'ai sdk generate', maxRetries: 0 });
      expect(gen.text).toBe(PLAIN_ANSWER);
      const st = streamText({ model: openai(g.model()), prompt: 'ai sdk stream', maxRetries: 0 });
      const parts: string[] = [];
      for await (const p of st.fullStream) {
        if (p.type === 'error') throw p.error;
        parts.push(p.type);
      }
      expect(await st.text).toBe(PLAIN_ANSWER);
      expect((await st.usage).inputTokens).toBeGreaterThan(0);
      // reasoning upstream: still no error parts, the visible text intact
      const think = streamText({ model: openai(g.model()), prompt: `${MARKERS.think} ai sdk responses`, maxRetries: 0 });
      for await (const p of think.fullStream) if (p.type === 'error') throw p.error;
      expect((await think.text).trim()).toBe(THINK_ANSWER);
      const thinkFinal = await within(5000, 'responses.stream() with reasoning', client().responses.stream({ model: g.model(), input: `${MARKERS.think} sdk` }).finalResponse());
      expect(thinkFinal.output_text.trim()).toBe(THINK_ANSWER);
    });

    item(D, '70', 'function calls stream as function_call items: call_id, name, argument deltas, complete output_item.done', async () => {
      const r = await responsesStream({
        input: `${MARKERS.tool} weather in Paris?`,
        tools: [{ type: 'function', name: 'get_weather', description: 'weather', parameters: WEATHER_TOOL.function.parameters }],
      });
      const evs = namedEvents(r);
      const added = evs.find((e) => e.event === 'response.output_item.added' && e.data.item.type === 'function_call');
      expect(added).toBeDefined();
      expect(added!.data.item).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'in_progress' });
      expect(typeof added!.data.item.call_id).toBe('string');
      const id = added!.data.item.id;
      const argDeltas = evs.filter((e) => e.event === 'response.function_call_arguments.delta' && e.data.item_id === id);
      expect(argDeltas.length).toBeGreaterThan(0);
      const argsDone = evs.find((e) => e.event === 'response.function_call_arguments.done' && e.data.item_id === id);
      expect(JSON.parse(argsDone!.data.arguments)).toEqual({ city: 'Paris' });
      const done = evs.find((e) => e.event === 'response.output_item.done' && e.data.item.id === id);
      expect(done!.data.item).toMatchObject({ type: 'function_call', call_id: added!.data.item.call_id, name: 'get_weather', status: 'completed' });
      expect(JSON.parse(done!.data.item.arguments)).toEqual({ city: 'Paris' });
      expect(JSON.parse(argDeltas.map((d) => d.data.delta).join(''))).toEqual({ city: 'Paris' });
      expect(evs.at(-1)!.event).toBe('response.completed');
      const sdk = await client().responses.create({
        model: g.model(),
        input: `${MARKERS.tool} weather in Paris?`,
        tools: [{ type: 'function', name: 'get_weather', description: 'weather', parameters: WEATHER_TOOL.function.parameters, strict: false }],
      });
      const call = sdk.output.find((o) => o.type === 'function_call');
      expect(call).toMatchObject({ name: 'get_weather' });
      expect(JSON.parse((call as { arguments: string }).arguments)).toEqual({ city: 'Paris' });
      // the AI SDK's Responses model reads the same events into a tool call
      const openai = createOpenAI({ baseURL: url('/v1'), apiKey: g.key });
      const tools = {
        get_weather: tool({ description: 'weather', inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }) }),
      };
      const st = streamText({ model: openai(g.model()), prompt: `${MARKERS.tool} weather?`, tools, maxRetries: 0 });
      for await (const p of st.fullStream) if (p.type === 'error') throw p.error;
      expect((await st.toolCalls)[0]!.input).toEqual({ city: 'Paris' });
      expect(await st.finishReason).toBe('tool-calls');
    });

    item(D, '72', 'a mid-stream upstream error emits error, then response.failed with response.error.code/message, then the body ends', async () => {
      const r = await responsesStream({ input: `${MARKERS.explode} summarise` });
      const evs = namedEvents(r);
      const types = evs.map((e) => e.event);
      expect(types.slice(-2)).toEqual(['error', 'response.failed']);
      expect(evs.at(-2)!.data.message).toContain(EXPLODE_MESSAGE);
      const failed = evs.at(-1)!.data.response;
      expect(failed.status).toBe('failed');
      expect(typeof failed.error.code).toBe('string');
      expect(failed.error.message).toContain(EXPLODE_MESSAGE);
      evs.forEach((e, i) => expect(e.data.sequence_number).toBe(i));
    });

    item(D, '73', 'previous_response_id, conversation and background:true are 400', async () => {
      for (const extra of [{ previous_response_id: 'resp_123' }, { conversation: 'conv_123' }, { background: true }]) {
        const e = await expectJsonError(await post('/v1/responses', { model: g.model(), input: 'x', ...extra }), 400);
        expect(e.param).toBe(Object.keys(extra)[0]);
      }
    });
  });

  describe(`${g.group}: client smoke matrix (§9 #74)`, () => {
    notApplicable('74f', 'ai@6 + @ai-sdk/openai-compatible@2 and @langchain/openai 1.5.x', 'only the current lines (ai@7, @langchain/openai 1.6) and openai@6 are installed in this repo');

    item(D, '74a', 'openai@7: plain chat (stream and not), reasoning, a tool-call round trip, an error case', async () => {
      const c = client();
      const r = await c.chat.completions.create({ model: g.model(), messages: [{ role: 'user', content: 'smoke v7' }] });
      expect(r.choices[0]!.message.content).toBe(PLAIN_ANSWER);
      expect(r._request_id).toMatch(/\S/);
      const fin = await within(5000, 'v7 stream helper', c.chat.completions.stream({ model: g.model(), messages: [{ role: 'user', content: `${MARKERS.think} smoke` }] }).finalChatCompletion());
      // (the helper's accumulator keeps only the last fragment of unknown delta fields such as reasoning_content)
      expect(fin.choices[0]!.message.content).toBe(THINK_ANSWER);
      const tc = await within(5000, 'v7 tool stream helper', c.chat.completions.stream({ model: g.model(), messages: [{ role: 'user', content: `${MARKERS.tool} weather?` }], tools: [WEATHER_TOOL] }).finalChatCompletion());
      const call = tc.choices[0]!.message.tool_calls![0]! as any;
      expect(call.function).toMatchObject({ name: 'get_weather' });
      expect(tc.choices[0]!.finish_reason).toBe('tool_calls');
      const second = await c.chat.completions.create({
        model: g.model(),
        messages: [{ role: 'user', content: `${MARKERS.tool} weather?` }, tc.choices[0]!.message as any, { role: 'tool', tool_call_id: call.id, content: '{"temp":21}' }],
        tools: [WEATHER_TOOL],
      });
      expect(second.choices[0]!.finish_reason).toBe('stop');
      await expect(c.chat.completions.create({ model: g.model(), messages: [{ role: 'user', content: 'x' }], n: 2 })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    });

    item(D, '74b', 'openai@6: plain chat (stream and not), tool calls through the stream helper, an error case', async () => {
      const c = new OpenAI6({ baseURL: url('/v1'), apiKey: g.key, maxRetries: 0 });
      const r = await c.chat.completions.create({ model: g.model(), messages: [{ role: 'user', content: 'smoke v6' }] });
      expect(r.choices[0]!.message.content).toBe(PLAIN_ANSWER);
      const tc = await within(5000, 'v6 tool stream helper', c.chat.completions.stream({ model: g.model(), messages: [{ role: 'user', content: `${MARKERS.tool} weather?` }], tools: [WEATHER_TOOL] }).finalChatCompletion());
      expect(tc.choices[0]!.message.tool_calls![0]).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
      await expect(c.chat.completions.create({ model: g.model(), messages: [] })).rejects.toBeInstanceOf(OpenAI6.BadRequestError);
    });

    item(D, '74c', 'ai@7 + @ai-sdk/openai-compatible@3: generate, stream, reasoning, tool call, error', async () => {
      const p = createOpenAICompatible({ name: 'dify', baseURL: url('/v1'), apiKey: g.key, includeUsage: true });
      const gen = await generateText({ model: p.chatModel(g.model()), prompt: 'ai smoke', maxRetries: 0 });
      expect(gen.text).toBe(PLAIN_ANSWER);
      expect(gen.finishReason).toBe('stop');
      expect(gen.usage.inputTokens).toBe(PLAIN_USAGE.prompt_tokens);
      const st = streamText({ model: p.chatModel(g.model()), prompt: `${MARKERS.think} smoke`, maxRetries: 0 });
      for await (const part of st.fullStream) if (part.type === 'error') throw part.error;
      expect(await st.text).toBe(THINK_ANSWER);
      expect(await st.reasoningText).toContain(THINK_REASONING);
      const tools = {
        get_weather: tool({ description: 'weather', inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }) }),
      };
      const ts = streamText({ model: p.chatModel(g.model()), prompt: `${MARKERS.tool} weather?`, tools, maxRetries: 0 });
      for await (const part of ts.fullStream) if (part.type === 'error') throw part.error;
      expect(await ts.finishReason).toBe('tool-calls');
      expect((await ts.toolCalls)[0]!.input).toEqual({ city: 'Paris' });
      const chatModel = createOpenAI({ baseURL: url('/v1'), apiKey: g.key }).chat(g.model());
      const strict = streamText({ model: chatModel, prompt: `${MARKERS.tool} weather?`, tools, maxRetries: 0 });
      for await (const part of strict.fullStream) if (part.type === 'error') throw part.error;
      expect((await strict.toolCalls)[0]!.input).toEqual({ city: 'Paris' });
      await expect(generateText({ model: p.chatModel(g.model()), prompt: `${MARKERS.overflow} go`, maxRetries: 0 })).rejects.toMatchObject({ statusCode: 400 });
    });

    item(D, '74d', '@langchain/openai 1.6: invoke, stream with usage_metadata, reasoning_content, bindTools stream, error', async () => {
      const lc = new ChatOpenAI({ model: g.model(), apiKey: g.key, configuration: { baseURL: url('/v1') }, maxRetries: 0 });
      expect(String((await lc.invoke('lc smoke')).content)).toBe(PLAIN_ANSWER);
      let agg: any;
      for await (const ch of await lc.stream('lc stream')) agg = agg ? agg.concat(ch) : ch;
      expect(String(agg.content)).toBe(PLAIN_ANSWER);
      expect(agg.usage_metadata).toMatchObject({ input_tokens: PLAIN_USAGE.prompt_tokens, output_tokens: PLAIN_USAGE.completion_tokens });
      const think = await lc.invoke(`${MARKERS.think} lc`);
      expect(String(think.additional_kwargs.reasoning_content)).toContain(THINK_REASONING);
      const withTools = lc.bindTools([WEATHER_TOOL]);
      let tagg: any;
      for await (const ch of await withTools.stream(`${MARKERS.tool} weather?`)) tagg = tagg ? tagg.concat(ch) : ch;
      expect(tagg.constructor.name).toBe('AIMessageChunk');
      expect(tagg.tool_calls).toEqual([expect.objectContaining({ name: 'get_weather', args: { city: 'Paris' } })]);
      const bad = new ChatOpenAI({ model: g.model(), apiKey: 'bad', configuration: { baseURL: url('/v1') }, maxRetries: 0 });
      const err = await bad.invoke('x').then(() => null, (e: unknown) => e);
      expect((err as { lc_error_code?: string })?.lc_error_code).toBe('MODEL_AUTHENTICATION');
    });
  });
}
