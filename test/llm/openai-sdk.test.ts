/**
 * The llm group through the official OpenAI SDK (current line and v6), in-process with fake models.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import OpenAI from 'openai';
import OpenAI6 from 'openai6';
import {
  ERROR_TEXTS,
  FakeModels,
  rawChunk,
  rawUsage,
  streamedToolCalls,
  structuredAnswer,
  textAnswer,
  vectorFor,
  type LlmScript,
} from '../fakes/dify-models.js';
import { API_KEY, startLlmHost, type LlmHost } from './helpers.js';

const MODEL = 'gpt-4o-mini';

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** Routes by what the conversation needs: a tool call first, then an answer using the tool result. */
const toolScript: LlmScript = (request) => {
  const last = request.promptMessages.at(-1);
  if (last?.role === 'tool') return textAnswer([`It is ${String(last.content)} in Paris.`], [60, 9]);
  return streamedToolCalls([{ id: 'call_abc123', name: 'get_weather', args: ['{"ci', 'ty": "Pa', 'ris"}'] }]);
};

async function withHost<T>(models: FakeModels, fn: (client: OpenAI, host: LlmHost) => Promise<T>): Promise<T> {
  const host = await startLlmHost(models);
  try {
    return await fn(new OpenAI({ baseURL: host.v1, apiKey: API_KEY, maxRetries: 0 }), host);
  } finally {
    await host.close();
  }
}

describe('openai (current line)', () => {
  let host: LlmHost;
  let models: FakeModels;
  let client: OpenAI;
  beforeAll(async () => {
    models = new FakeModels({
      llm: (request) => {
        const text = String(request.promptMessages.at(-1)?.content ?? '');
        if (text.includes('weather') || request.promptMessages.at(-1)?.role === 'tool') return toolScript(request);
        if (text.includes('think')) {
          return [
            rawChunk({ content: '<think>\nThe user' }),
            rawChunk({ content: ' greets me.\n</thi' }),
            rawChunk({ content: 'nk>\n\nHi!' }),
            rawChunk({ usage: rawUsage(8, 20), finishReason: 'stop' }),
          ];
        }
        if (request.structuredOutputSchema) return structuredAnswer({ city: 'Paris', temperature_c: 21 });
        return textAnswer(['Hello', ', wor', 'ld!'], [12, 5]);
      },
    });
    host = await startLlmHost(models);
    client = new OpenAI({ baseURL: host.v1, apiKey: API_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await host.close();
  });

  test('legacy completions: the prompt goes to the model as one user message; text_completion whole and streamed; reasoning left out', async () => {
    const whole = await client.completions.create({ model: MODEL, prompt: 'Say hello', max_tokens: 32, stop: ['\n\n'] });
    expect(whole).toMatchObject({ object: 'text_completion', model: MODEL, choices: [{ text: 'Hello, world!', index: 0, finish_reason: 'stop' }] });
    expect(whole.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
    const sent = models.llmRequests.at(-1)!;
    expect(sent.promptMessages).toEqual([{ role: 'user', content: 'Say hello' }]);
    expect(sent.stop).toEqual(['\n\n']);
    const stream = await client.completions.create({ model: MODEL, prompt: 'think first', stream: true });
    let text = '';
    const reasons: string[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      if (chunk.choices[0]?.finish_reason) reasons.push(chunk.choices[0].finish_reason);
    }
    expect(text).toBe('Hi!');
    expect(reasons).toEqual(['stop']);
    await expect(client.completions.create({ model: MODEL, prompt: 'x', echo: true })).rejects.toMatchObject({ status: 400, param: 'echo' });
  });

  test('non-streaming chat: text, finish reason and usage from the model', async () => {
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: 'Say hello' },
      ],
      temperature: 0.7,
      max_completion_tokens: 64,
    });
    expect(completion.choices[0]!.message.content).toBe('Hello, world!');
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(completion.model).toBe(MODEL);
    expect(completion.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
    const sent = models.llmRequests.at(-1)!;
    expect(sent.promptMessages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Say hello' },
    ]);
    // selector defaults merged under the request's parameters
    expect(sent.completionParams).toEqual({ temperature: 0.7, max_tokens: 64 });
  });

  test('streaming chat: text concatenates, one finish chunk, usage chunk last', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello, world!');
    expect(chunks.filter((c) => c.choices[0]?.finish_reason)).toHaveLength(1);
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
  });

  test('streaming tool call: the stream helper assembles one call with parsed arguments', async () => {
    const runner = client.chat.completions.stream({
      model: MODEL,
      messages: [{ role: 'user', content: "What's the weather in Paris?" }],
      tools: [weatherTool],
      tool_choice: 'auto',
    });
    const final = await runner.finalChatCompletion();
    const choice = final.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0]! as { id: string; function: { name: string; arguments: string } };
    expect(call.id).toBe('call_abc123');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    expect(models.llmRequests.at(-1)!.tools).toEqual([
      { name: 'get_weather', description: 'Weather for a city', parameters: weatherTool.function.parameters },
    ]);
  });

  test('tool round trip: assistant tool_calls and the tool result reach the model', async () => {
    const completion = await client.chat.completions.create({
      model: MODEL,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: "What's the weather in Paris?" },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_abc123', content: '21°C and sunny' },
      ],
    });
    expect(completion.choices[0]!.message.content).toBe('It is 21°C and sunny in Paris.');
    const sent = models.llmRequests.at(-1)!;
    expect(sent.promptMessages[1]).toEqual({
      role: 'assistant',
      content: '',
      tool_calls: [{ id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    });
    expect(sent.promptMessages[2]).toEqual({ role: 'tool', content: '21°C and sunny', tool_call_id: 'call_abc123' });
  });

  test('inline <think> becomes reasoning_content, split across chunks', async () => {
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'think first' }] });
    const message = completion.choices[0]!.message as { content: string; reasoning_content?: string };
    expect(message.content).toBe('Hi!');
    expect(message.reasoning_content).toBe('The user greets me.');

    const stream = await client.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'think first' }] });
    let reasoning = '';
    let content = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
      reasoning += delta?.reasoning_content ?? '';
      content += delta?.content ?? '';
      expect(Boolean(delta?.content) && Boolean(delta?.reasoning_content)).toBe(false);
    }
    expect(reasoning).toBe('The user greets me.');
    expect(content).toBe('Hi!');
  });

  test('json_schema response_format goes through structured output and parses', async () => {
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' }, temperature_c: { type: 'number' } },
      required: ['city', 'temperature_c'],
      additionalProperties: false,
    };
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Paris now?' }],
      response_format: { type: 'json_schema', json_schema: { name: 'reading', schema, strict: true } },
    });
    expect(JSON.parse(completion.choices[0]!.message.content!)).toEqual({ city: 'Paris', temperature_c: 21 });
    expect(models.llmRequests.at(-1)!.structuredOutputSchema).toEqual(schema);

    const json = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Paris now, as JSON' }],
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(json.choices[0]!.message.content!)).toEqual({ city: 'Paris', temperature_c: 21 });
  });

  test('embeddings: default (base64) and float give the same vectors, in order, with usage', async () => {
    const input = ['first text', 'second text', 'third'];
    const byDefault = await client.embeddings.create({ model: 'text-embedding-3-small', input });
    const asFloat = await client.embeddings.create({ model: 'text-embedding-3-small', input, encoding_format: 'float' });
    const expected = input.map((t) => vectorFor(t));
    expect(byDefault.data.map((d) => d.embedding)).toEqual(expected);
    expect(asFloat.data.map((d) => d.embedding)).toEqual(expected);
    expect(asFloat.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(asFloat.usage.prompt_tokens).toBeGreaterThan(0);
    expect(asFloat.usage.total_tokens).toBe(asFloat.usage.prompt_tokens);
    const base64 = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'first text', encoding_format: 'base64' });
    const raw = Buffer.from(base64.data[0]!.embedding as unknown as string, 'base64');
    expect(Array.from(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4))).toEqual(expected[0]);
  });

  test('models list and retrieve (also without /v1)', async () => {
    // OpenAI-looking Dify model names are listed dify-prefixed (clients special-case gpt-*, text-embedding-*)
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toEqual([`dify-${MODEL}`, 'dify-text-embedding-3-small']);
    const one = await client.models.retrieve(`dify-${MODEL}`);
    expect(one).toMatchObject({ id: `dify-${MODEL}`, object: 'model', owned_by: 'openai' });
    // the bare Dify name still resolves, to the listed object
    expect((await client.models.retrieve(MODEL)).id).toBe(`dify-${MODEL}`);
    const bare = new OpenAI({ baseURL: host.baseUrl, apiKey: API_KEY, maxRetries: 0 });
    expect((await bare.models.retrieve('text-embedding-3-small')).id).toBe('dify-text-embedding-3-small');
    // both ids work for requests
    for (const model of [`dify-${MODEL}`, MODEL]) {
      const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello' }] });
      expect(completion.model).toBe(model);
    }
    const embedded = await client.embeddings.create({ model: 'dify-text-embedding-3-small', input: 'listed id' });
    expect(embedded.data).toHaveLength(1);
    await expect(client.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  test('responses API: create and stream', async () => {
    const response = await client.responses.create({ model: MODEL, instructions: 'Be brief.', input: 'Say hello' });
    expect(response.output_text).toBe('Hello, world!');
    expect(response.usage).toMatchObject({ input_tokens: 12, output_tokens: 5, total_tokens: 17 });
    expect(models.llmRequests.at(-1)!.promptMessages[0]).toEqual({ role: 'system', content: 'Be brief.' });

    const stream = client.responses.stream({ model: MODEL, input: [{ role: 'user', content: 'Say hello' }] });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(deltas.join('')).toBe('Hello, world!');
    expect(final.output_text).toBe('Hello, world!');
  });

  test('responses API: function call item with parsed arguments', async () => {
    const response = await client.responses.create({
      model: MODEL,
      input: "What's the weather in Paris?",
      tools: [{ type: 'function', name: 'get_weather', description: 'Weather', parameters: weatherTool.function.parameters, strict: false }],
    });
    const call = response.output.find((item) => item.type === 'function_call') as { call_id: string; name: string; arguments: string };
    expect(call).toBeDefined();
    expect(call.call_id).toBe('call_abc123');
    expect(JSON.parse(call.arguments)).toEqual({ city: 'Paris' });

    const followUp = await client.responses.create({
      model: MODEL,
      input: [
        { role: 'user', content: "What's the weather in Paris?" },
        { type: 'function_call', call_id: 'call_abc123', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_abc123', output: '18°C' },
      ],
    });
    expect(followUp.output_text).toBe('It is 18°C in Paris.');
  });
});

describe('errors a client can act on', () => {
  test('wrong key -> AuthenticationError; unknown model -> NotFoundError', async () => {
    await withHost(new FakeModels(), async (_client, host) => {
      const wrong = new OpenAI({ baseURL: host.v1, apiKey: 'not-the-key', maxRetries: 0 });
      await expect(wrong.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(
        OpenAI.AuthenticationError,
      );
      const client = new OpenAI({ baseURL: host.v1, apiKey: API_KEY, maxRetries: 0 });
      const err = await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    });
  });

  test('tool_choice required cannot be honoured -> 400 naming tool_choice', async () => {
    const models = new FakeModels();
    await withHost(models, async (client) => {
      const err = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], tools: [weatherTool], tool_choice: 'required' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('tool_choice');
      expect((err as Error).message).toMatch(/cannot force/);
      expect(models.llmRequests).toHaveLength(0);
    });
  });

  test('context overflow -> 400 context_length_exceeded with "maximum context length"', async () => {
    await withHost(new FakeModels({ llm: () => new Error(ERROR_TEXTS.contextLength) }), async (client) => {
      const err = (await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as InstanceType<
        typeof OpenAI.BadRequestError
      >;
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.code).toBe('context_length_exceeded');
      expect(err.message).toMatch(/maximum context length/);
    });
  });

  test('rate limit -> RateLimitError with retry-after; quota -> 429 insufficient_quota', async () => {
    await withHost(new FakeModels({ llm: () => new Error(ERROR_TEXTS.rateLimit) }), async (client) => {
      const err = (await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as InstanceType<
        typeof OpenAI.RateLimitError
      >;
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(err.code).toBe('rate_limit_exceeded');
      expect(err.headers.get('retry-after')).toBeTruthy();
    });
    await withHost(new FakeModels({ llm: () => new Error(ERROR_TEXTS.quota) }), async (client) => {
      const err = (await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as InstanceType<
        typeof OpenAI.RateLimitError
      >;
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(err.code).toBe('insufficient_quota');
    });
  });

  test("invalid provider credentials in Dify -> 502, never the client's 401", async () => {
    await withHost(new FakeModels({ llm: () => new Error(ERROR_TEXTS.credentials) }), async (client) => {
      const err = (await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as InstanceType<
        typeof OpenAI.InternalServerError
      >;
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect(err.status).toBe(502);
      expect(err.message).toMatch(/Incorrect API key provided/);
    });
  });

  test('streaming: failure before the first chunk is a real HTTP error', async () => {
    await withHost(new FakeModels({ llm: () => new Error(ERROR_TEXTS.rateLimit) }), async (client) => {
      await expect(
        client.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    });
  });

  test('streaming: a mid-stream failure surfaces as APIError with the message, text so far kept', async () => {
    const models = new FakeModels({
      llm: () => textAnswer(['Partial ', 'answer', ' never finished']),
      failAfter: { chunks: 2, message: ERROR_TEXTS.credentials },
    });
    await withHost(models, async (client) => {
      const stream = await client.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'x' }] });
      let text = '';
      const err = await (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as Error).message).toMatch(/Incorrect API key provided/);
      expect(text).toBe('Partial answer');
    });
  });
});

describe('openai v6 (Node 20 line)', () => {
  test('streaming terminates, tool calls assemble, default embeddings are non-empty', async () => {
    const models = new FakeModels({ llm: toolScript });
    const host = await startLlmHost(models);
    try {
      const client = new OpenAI6({ baseURL: host.v1, apiKey: API_KEY, maxRetries: 0, timeout: 10_000 });
      const stream = await client.chat.completions.create({
        model: MODEL,
        stream: true,
        stream_options: { include_usage: true },
        tools: [weatherTool],
        messages: [{ role: 'user', content: "What's the weather in Paris?" }],
      });
      let args = '';
      let name = '';
      let finish: string | null | undefined;
      let usage: unknown;
      for await (const chunk of stream) {
        const call = chunk.choices[0]?.delta.tool_calls?.[0];
        if (call?.function?.name) name = call.function.name;
        args += call?.function?.arguments ?? '';
        finish ??= chunk.choices[0]?.finish_reason;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(name).toBe('get_weather');
      expect(JSON.parse(args)).toEqual({ city: 'Paris' });
      expect(finish).toBe('tool_calls');
      expect(usage).toMatchObject({ prompt_tokens: 40, completion_tokens: 18, total_tokens: 58 });

      const embeddings = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] });
      expect(embeddings.data.map((d) => d.embedding)).toEqual([vectorFor('alpha'), vectorFor('beta')]);
    } finally {
      await host.close();
    }
  });
});
