/** Real clients against the chat-app group on a loopback server: openai 7 and 6, AI SDK, LangChain. */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI, OpenAI as LangChainOpenAI } from '@langchain/openai';
import { generateText, streamText, jsonSchema, tool } from 'ai';
import OpenAI from 'openai';
import OpenAI6 from 'openai6';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DifyError } from '../../src/backend/types.js';
import { chatErrorMidStream, chatReasoningStream, chatStream, PRE_STREAM_ERRORS } from '../fakes/dify-apps.js';
import { FakeDifyApp } from './fake-app.js';
import { API_KEY, startHarness, type Harness } from './harness.js';

let h: Harness;
let fake: FakeDifyApp;
let scenario: 'echo' | 'reasoning' | 'error' | 'tool' | 'ratelimit' = 'echo';

beforeAll(async () => {
  fake = new FakeDifyApp({
    name: 'dify-support-bot',
    script: (req, ctx) => {
      switch (scenario) {
        case 'reasoning':
          return chatReasoningStream({ conversationId: ctx.conversationId });
        case 'error':
          return chatErrorMidStream({ conversationId: ctx.conversationId, message: 'Upstream model exploded' });
        case 'ratelimit':
          return new DifyError(PRE_STREAM_ERRORS.tooManyRequests.message, 'too_many_requests', 429, 0);
        case 'tool':
          // The model follows the tool prompt on the first turn, answers with the result after it.
          if ((req.query ?? '').includes('temp_c')) return chatStream({ conversationId: ctx.conversationId, answer: 'It is 21°C in Paris.' });
          return chatStream({
            conversationId: ctx.conversationId,
            chunks: ['Let me check.\n<tool', '_call>\n{"name":"get_weather",', '"arguments":{"city":"Paris"}}\n</tool_call>'],
          });
        default:
          return chatStream({ conversationId: ctx.conversationId, answer: ctx.defaultAnswer });
      }
    },
  });
  h = await startHarness({ app: fake, settings: { model_id: '' } });
});
afterAll(() => h.close());

const base = () => `${h.url}/v1`;
const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe('openai (v7)', () => {
  const client = () => new OpenAI({ baseURL: base(), apiKey: API_KEY, maxRetries: 0 });

  it('models list and retrieve', async () => {
    const ids = [];
    for await (const m of client().models.list()) ids.push(m.id);
    expect(ids).toEqual(['dify-support-bot']);
    expect((await client().models.retrieve('dify-support-bot')).id).toBe('dify-support-bot');
    await expect(client().models.retrieve('nope/x')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('non-stream and stream, request id, usage', async () => {
    scenario = 'echo';
    const r = await client().chat.completions.create({ model: 'dify-support-bot', messages: [{ role: 'user', content: 'ping' }] });
    expect(r.choices[0]!.message.content).toMatch(/^You said: ping/);
    expect(r._request_id).toMatch(/^req_/);
    const s = await client().chat.completions.create({ model: 'dify-support-bot', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'pong' }] });
    let text = '';
    let usage;
    for await (const c of s) {
      text += c.choices[0]?.delta?.content ?? '';
      if (c.usage) usage = c.usage;
    }
    expect(text).toMatch(/^You said: pong/);
    expect(usage!.total_tokens).toBeGreaterThan(0);
  });

  it('stream helper finalChatCompletion works (role and finish_reason present)', async () => {
    scenario = 'echo';
    const final = await client().chat.completions.stream({ model: 'dify-support-bot', messages: [{ role: 'user', content: 'helper' }] }).finalChatCompletion();
    expect(final.choices[0]!.message.content).toMatch(/helper/);
  });

  it('reasoning_content reaches the delta', async () => {
    scenario = 'reasoning';
    const s = await client().chat.completions.create({ model: 'dify-support-bot', stream: true, messages: [{ role: 'user', content: '17*23?' }] });
    let reasoning = '';
    let content = '';
    for await (const c of s) {
      const d = c.choices[0]?.delta as { reasoning_content?: string; content?: string } | undefined;
      reasoning += d?.reasoning_content ?? '';
      content += d?.content ?? '';
    }
    expect(reasoning).toContain('so 391');
    expect(content).toBe('17 × 23 = **391**.');
  });

  it('mid-stream error -> APIError with the upstream message', async () => {
    scenario = 'error';
    const s = await client().chat.completions.create({ model: 'dify-support-bot', stream: true, messages: [{ role: 'user', content: 'x' }] });
    await expect(
      (async () => {
        for await (const _ of s) void _;
      })(),
    ).rejects.toThrow('Upstream model exploded');
  });

  it('401 AuthenticationError, 429 RateLimitError, 400 BadRequestError with param', async () => {
    await expect(new OpenAI({ baseURL: base(), apiKey: 'wrong', maxRetries: 0 }).models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    scenario = 'ratelimit';
    await expect(client().chat.completions.create({ model: 'dify-support-bot', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    const err = await client()
      .chat.completions.create({ model: 'dify-support-bot', n: 2, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('n');
  });

  it('429 is retried after retry-after (maxRetries 1 -> two upstream runs)', async () => {
    scenario = 'ratelimit';
    const before = fake.runs.length;
    await expect(new OpenAI({ baseURL: base(), apiKey: API_KEY, maxRetries: 1 }).chat.completions.create({ model: 'dify-support-bot', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(
      OpenAI.RateLimitError,
    );
    expect(fake.runs.length - before).toBe(2);
  });

  it('emulated tool call round trip (stream helper and non-stream)', async () => {
    scenario = 'tool';
    const final = await client()
      .chat.completions.stream({ model: 'dify-support-bot', tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in Paris?' }] })
      .finalChatCompletion();
    const msg = final.choices[0]!.message;
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(msg.tool_calls).toHaveLength(1);
    const call = msg.tool_calls![0]! as { id: string; function: { name: string; arguments: string } };
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    expect(msg.content ?? '').not.toContain('tool_call');
    const second = await client().chat.completions.create({
      model: 'dify-support-bot',
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: msg.content ?? null, tool_calls: msg.tool_calls },
        { role: 'tool', tool_call_id: call.id, content: '{"temp_c":21}' },
      ],
    });
    expect(second.choices[0]!.message.content).toBe('It is 21°C in Paris.');
    expect(second.choices[0]!.finish_reason).toBe('stop');
    const last = fake.runs[fake.runs.length - 1]!;
    const q = last.request.query!;
    expect(q).toContain('{"temp_c":21}');
    // The tool round trip continued the Dify conversation of the call: only the results went up.
    expect(last.request.conversationId).toBe(fake.runs[fake.runs.length - 2]!.conversationId);
    expect(q).not.toContain('Weather in Paris?');
  });

  it('responses.create and responses.stream', async () => {
    scenario = 'echo';
    const r = await client().responses.create({ model: 'dify-support-bot', input: 'hello responses', instructions: 'Be nice.' });
    expect(r.output_text).toMatch(/hello responses/);
    expect(r.usage!.total_tokens).toBeGreaterThan(0);
    const final = await client().responses.stream({ model: 'dify-support-bot', input: [{ role: 'user', content: 'streamed responses' }] }).finalResponse();
    expect(final.output_text).toMatch(/streamed responses/);
    expect(final.status).toBe('completed');
  });

  it('responses: function call item', async () => {
    scenario = 'tool';
    const r = await client().responses.create({
      model: 'dify-support-bot',
      input: 'Weather in Paris?',
      tools: [{ type: 'function', name: 'get_weather', parameters: weatherTool.function.parameters, strict: false }],
    });
    const fc = r.output.find((o) => o.type === 'function_call') as { name: string; arguments: string; call_id: string } | undefined;
    expect(fc?.name).toBe('get_weather');
    expect(JSON.parse(fc!.arguments)).toEqual({ city: 'Paris' });
  });

  it('responses: the app\'s reasoning is a reasoning item ahead of the message, streamed and not', async () => {
    scenario = 'reasoning';
    const r = await client().responses.create({ model: 'dify-support-bot', input: 'think' });
    expect(r.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    const item = r.output[0] as { summary: Array<{ type: string; text: string }> };
    expect(item.summary[0]!.text).toContain('so 391.');
    expect(r.output_text).toBe('17 × 23 = **391**.');
    // Sent back as clients do (reasoning item included), the history continues the Dify conversation.
    const first = fake.runs[fake.runs.length - 1]!;
    const input = [{ role: 'user' as const, content: 'think' }, ...(r.output as OpenAI.Responses.ResponseInputItem[]), { role: 'user' as const, content: 'and 17 × 24?' }];
    await client().responses.create({ model: 'dify-support-bot', input });
    const next = fake.runs[fake.runs.length - 1]!;
    expect(next.request.conversationId).toBe(first.conversationId);
    expect(next.request.query).toBe('and 17 × 24?');
    const stream = client().responses.stream({ model: 'dify-support-bot', input: 'think again' });
    let summary = '';
    stream.on('response.reasoning_summary_text.delta', (e) => (summary += e.delta));
    const final = await stream.finalResponse();
    expect(summary).toContain('17 × 20 = 340');
    expect(final.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(final.output_text).toBe('17 × 23 = **391**.');
  });

  it('legacy completions: whole and streamed text_completion, stop, one prompt only', async () => {
    scenario = 'echo';
    const whole = await client().completions.create({ model: 'dify-support-bot', prompt: 'complete this' });
    expect(whole.object).toBe('text_completion');
    expect(whole.choices[0]!.text).toMatch(/complete this/);
    expect(whole.choices[0]!.finish_reason).toBe('stop');
    expect(whole.usage!.total_tokens).toBeGreaterThan(0);
    const stream = await client().completions.create({ model: 'dify-support-bot', prompt: 'stream this', stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage = 0;
    const reasons: string[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      if (chunk.choices[0]?.finish_reason) reasons.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usage = chunk.usage.total_tokens;
    }
    expect(text).toMatch(/stream this/);
    expect(reasons).toEqual(['stop']);
    expect(usage).toBeGreaterThan(0);
    const cut = await client().completions.create({ model: 'dify-support-bot', prompt: 'cut here', stop: ['here'] });
    expect(cut.choices[0]!.text).not.toContain('here');
    await expect(client().completions.create({ model: 'dify-support-bot', prompt: 'x', n: 2 })).rejects.toMatchObject({ status: 400, param: 'n' });
    await expect(client().completions.create({ model: 'dify-support-bot', prompt: [1, 2, 3] })).rejects.toMatchObject({ status: 400, param: 'prompt' });
  });

  it('responses: previous_response_id -> 400', async () => {
    await expect(client().responses.create({ model: 'dify-support-bot', input: 'x', previous_response_id: 'resp_1' })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });
});

describe('openai (v6)', () => {
  it('stream terminates after [DONE] (server closes)', async () => {
    scenario = 'echo';
    const c = new OpenAI6({ baseURL: base(), apiKey: API_KEY, maxRetries: 0 });
    const s = await c.chat.completions.create({ model: 'dify-support-bot', stream: true, messages: [{ role: 'user', content: 'v6' }] });
    let text = '';
    for await (const chunk of s) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toMatch(/v6/);
    const r = await c.responses.stream({ model: 'dify-support-bot', input: 'v6 responses' }).finalResponse();
    expect(r.output_text).toMatch(/v6 responses/);
  });
});

describe('AI SDK', () => {
  const provider = () => createOpenAICompatible({ name: 'dify', baseURL: base(), apiKey: API_KEY, includeUsage: true });

  it('generateText and streamText without error parts', async () => {
    scenario = 'echo';
    const g = await generateText({ model: provider().chatModel('dify-support-bot'), prompt: 'ai sdk', maxRetries: 0 });
    expect(g.text).toMatch(/ai sdk/);
    expect(g.finishReason).toBe('stop');
    expect(g.usage.inputTokens).toBeGreaterThan(0);
    const s = streamText({ model: provider().chatModel('dify-support-bot'), prompt: 'ai stream', maxRetries: 0 });
    const parts: string[] = [];
    for await (const p of s.fullStream) parts.push(p.type);
    expect(parts).not.toContain('error');
    expect(await s.text).toMatch(/ai stream/);
    expect(await s.finishReason).toBe('stop');
  });

  it('reasoning and tool calls', async () => {
    scenario = 'reasoning';
    const g = await generateText({ model: provider().chatModel('dify-support-bot'), prompt: 'think', maxRetries: 0 });
    expect(g.reasoningText).toContain('so 391');
    expect(g.text).toBe('17 × 23 = **391**.');
    scenario = 'tool';
    const s = streamText({
      model: provider().chatModel('dify-support-bot'),
      prompt: 'Weather in Paris?',
      tools: { get_weather: tool({ description: 'weather', inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }) }) },
      maxRetries: 0,
    });
    const parts: string[] = [];
    for await (const p of s.fullStream) parts.push(p.type);
    expect(parts).not.toContain('error');
    const calls = await s.toolCalls;
    expect(calls[0]!.toolName).toBe('get_weather');
    expect(calls[0]!.input).toEqual({ city: 'Paris' });
    expect(await s.finishReason).toBe('tool-calls');
  });

  it('app variables through providerOptions (openai-compatible passes them in the body)', async () => {
    scenario = 'echo';
    await generateText({ model: provider().chatModel('dify-support-bot'), prompt: 'vars', providerOptions: { dify: { inputs: { audience: 'kids' } } }, maxRetries: 0 });
    expect(fake.runs[fake.runs.length - 1]!.request.inputs).toMatchObject({ audience: 'kids' });
  });

  it('mid-stream error surfaces as finishReason error', async () => {
    scenario = 'error';
    const s = streamText({ model: provider().chatModel('dify-support-bot'), prompt: 'x', maxRetries: 0, onError: () => undefined });
    const parts: string[] = [];
    for await (const p of s.fullStream) parts.push(p.type);
    expect(parts).toContain('error');
  });

  it('@ai-sdk/openai default model uses the Responses API', async () => {
    scenario = 'echo';
    const openai = createOpenAI({ baseURL: base(), apiKey: API_KEY });
    const g = await generateText({ model: openai('dify-support-bot'), prompt: 'via responses', maxRetries: 0 });
    expect(g.text).toMatch(/via responses/);
    const s = streamText({ model: openai('dify-support-bot'), prompt: 'stream via responses', maxRetries: 0 });
    const parts: string[] = [];
    for await (const p of s.fullStream) parts.push(p.type);
    expect(parts).not.toContain('error');
    expect(await s.text).toMatch(/stream via responses/);
  });

  it('@ai-sdk/openai (Responses API) reads the app\'s reasoning', async () => {
    scenario = 'reasoning';
    const openai = createOpenAI({ baseURL: base(), apiKey: API_KEY });
    const g = await generateText({ model: openai('dify-support-bot'), prompt: 'think', maxRetries: 0 });
    expect(g.reasoningText).toContain('so 391.');
    expect(g.text).toBe('17 × 23 = **391**.');
    const s = streamText({ model: openai('dify-support-bot'), prompt: 'think on', maxRetries: 0 });
    const parts: string[] = [];
    for await (const p of s.fullStream) parts.push(p.type);
    expect(parts).not.toContain('error');
    expect(parts.indexOf('reasoning-delta')).toBeLessThan(parts.indexOf('text-delta'));
    expect(await s.reasoningText).toContain('17 × 20 = 340');
    expect(await s.text).toBe('17 × 23 = **391**.');
  });
});

describe('LangChain', () => {
  const model = () => new ChatOpenAI({ model: 'dify-support-bot', apiKey: API_KEY, configuration: { baseURL: base() }, maxRetries: 0 });

  it('the OpenAI (completions) class', async () => {
    scenario = 'echo';
    const llm = new LangChainOpenAI({ model: 'dify-support-bot', apiKey: API_KEY, configuration: { baseURL: base() }, maxRetries: 0 });
    expect(await llm.invoke('a plain prompt')).toMatch(/a plain prompt/);
  });

  it('invoke and stream with usage metadata', async () => {
    scenario = 'echo';
    const r = await model().invoke('langchain');
    expect(String(r.content)).toMatch(/langchain/);
    let text = '';
    let usage;
    for await (const c of await model().stream('lc stream')) {
      text += String(c.content);
      if (c.usage_metadata) usage = c.usage_metadata;
    }
    expect(text).toMatch(/lc stream/);
    expect(usage!.total_tokens).toBeGreaterThan(0);
  });

  it('reasoning_content in additional_kwargs; bound tools stream to tool_calls', async () => {
    scenario = 'reasoning';
    const r = await model().invoke('think');
    expect(String(r.additional_kwargs.reasoning_content)).toContain('so 391');
    scenario = 'tool';
    let agg;
    for await (const c of await model().bindTools([weatherTool]).stream('Weather in Paris?')) agg = agg ? agg.concat(c) : c;
    expect(agg!.tool_calls?.[0]).toMatchObject({ name: 'get_weather', args: { city: 'Paris' } });
  });

  it('errors throw', async () => {
    scenario = 'error';
    await expect(
      (async () => {
        for await (const _ of await model().stream('x')) void _;
      })(),
    ).rejects.toThrow(/exploded/);
  });
});
