/**
 * The llm group as an installed plugin: the bundled runtime under the daemon simulator, real clients
 * against the simulator's /e/<hook> front, and the models answered through reverse invocation with
 * fixtures shaped exactly like the daemon's LLMResultChunk / TextEmbeddingResult.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import OpenAI, { toFile } from 'openai';
import OpenAI6 from 'openai6';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { embedMany, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import type { AIMessageChunk } from '@langchain/core/messages';
import { startGroupPlugin } from '../daemon/plugin-bundle.js';
import type { SimulatedDaemon } from '../daemon/simulator.js';
import {
  EMBEDDING_SELECTOR,
  ERROR_TEXTS,
  LLM_SELECTOR,
  rawChunk,
  rawEmbeddingResult,
  rawUsage,
  streamedToolCalls,
  structuredAnswer,
  textAnswer,
  vectorFor,
} from '../fakes/dify-models.js';

const API_KEY = 'sk-plugin-key';
const MODEL = LLM_SELECTOR.model;
const TTS_SELECTOR = { provider: 'langgenius/openai/openai', model: 'tts-1', model_type: 'tts', voice: 'alloy' };
const STT_SELECTOR = { provider: 'langgenius/openai/openai', model: 'whisper-1', model_type: 'speech2text' };
const settings = { api_key: API_KEY, llm: LLM_SELECTOR, text_embedding: EMBEDDING_SELECTOR, tts: TTS_SELECTOR, speech2text: STT_SELECTOR, model_id: '' };
/** What the simulated TTS provider "speaks": fixed bytes, streamed as hex in two pieces. */
const SPOKEN = Buffer.from('ID3-fake-mp3-frames-' + 'x'.repeat(3000));

/** The daemon's reverse handler for `llm`: picks a fixture from the conversation. */
function* llmReverse(request: Record<string, any>): Iterable<Record<string, any>> {
  const messages = request.prompt_messages as Array<{ role: string; content: unknown }>;
  const last = messages.at(-1)!;
  const text = typeof last.content === 'string' ? last.content : '';
  if (last.role === 'tool') {
    yield* textAnswer([`Result: ${String(last.content)}`], [50, 4]);
    return;
  }
  if (/weather/i.test(text) && request.tools?.length) {
    yield* streamedToolCalls([{ id: 'call_p1', name: 'get_weather', args: ['{"city":', '"Oslo"}'] }]);
    return;
  }
  if (/think/i.test(text)) {
    yield rawChunk({ content: '<think>\nhmm' });
    yield rawChunk({ content: '\n</think>\n\nDone.' });
    yield rawChunk({ usage: rawUsage(6, 7), finishReason: 'stop' });
    return;
  }
  if (/overflow/i.test(text)) throw new Error(ERROR_TEXTS.contextLength);
  if (/throttle/i.test(text)) throw new Error(ERROR_TEXTS.rateLimit);
  yield* textAnswer(['Hej', ' från ', 'Dify'], [10, 3]);
}

let daemon: SimulatedDaemon;
let base: string;

beforeAll(async () => {
  daemon = await startGroupPlugin('llm', {
    llm: llmReverse,
    llm_structured_output: () => structuredAnswer({ answer: 42 }),
    text_embedding: (request) => rawEmbeddingResult(request.texts as string[]),
    tts: function* () {
      const hex = SPOKEN.toString('hex');
      yield { result: hex.slice(0, 2000) };
      yield { result: hex.slice(2000) };
    },
    speech2text: (request) => ({ result: `Transcribed ${Buffer.from(String(request.file), 'hex').length} bytes` }),
  });
  base = await daemon.listen({ settings });
}, 60_000);

afterAll(async () => {
  await daemon?.close();
});

describe('llm plugin under the daemon simulator', () => {
  test('openai: audio.speech reads with the chosen TTS model and the voice asked for; audio.transcriptions uses the speech-to-text model', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const spoken = await client.audio.speech.create({ model: 'tts-1', voice: 'nova', input: 'Hello from Dify' });
    expect(spoken.headers.get('content-type')).toBe('audio/mpeg');
    expect(Buffer.from(await spoken.arrayBuffer())).toEqual(SPOKEN);
    const tts = daemon.reverseCalls.filter((c) => c.type === 'tts').at(-1)!;
    expect(tts.request).toMatchObject({ provider: TTS_SELECTOR.provider, model: 'tts-1', model_type: 'tts', content_text: 'Hello from Dify', voice: 'nova' });

    const wav = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(2000, 1)]);
    const json = await client.audio.transcriptions.create({ file: await toFile(wav, 'speech.wav', { type: 'audio/wav' }), model: 'whisper-1' });
    expect(json.text).toBe(`Transcribed ${wav.length} bytes`);
    const stt = daemon.reverseCalls.filter((c) => c.type === 'speech2text').at(-1)!;
    expect(stt.request).toMatchObject({ provider: STT_SELECTOR.provider, model: 'whisper-1', model_type: 'speech2text', file: wav.toString('hex') });
    const text = await client.audio.transcriptions.create({ file: await toFile(wav, 'speech.wav', { type: 'audio/wav' }), model: 'whisper-1', response_format: 'text' });
    expect(text).toBe(`Transcribed ${wav.length} bytes`);

    // What cannot be honoured is a 400 naming the field.
    await expect(client.audio.speech.create({ model: 'tts-1', voice: 'nova', input: 'x', response_format: 'flac' })).rejects.toMatchObject({ status: 400, param: 'response_format' });
    await expect(client.audio.speech.create({ model: 'tts-1', voice: 'nova', input: '' })).rejects.toMatchObject({ status: 400, param: 'input' });
  });

  test('openai: chat, streaming with usage, and the llm reverse request Dify receives', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: MODEL,
      temperature: 0.1,
      messages: [
        { role: 'system', content: 'Answer in Swedish.' },
        { role: 'user', content: 'Say hello' },
      ],
    });
    expect(completion.choices[0]!.message.content).toBe('Hej från Dify');
    expect(completion.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 });

    const call = daemon.reverseCalls.filter((c) => c.type === 'llm').at(-1)!;
    expect(call.request).toMatchObject({
      provider: LLM_SELECTOR.provider,
      model: MODEL,
      mode: 'chat',
      completion_params: { temperature: 0.1 },
      prompt_messages: [
        { role: 'system', content: 'Answer in Swedish.' },
        { role: 'user', content: 'Say hello' },
      ],
      stream: true,
    });

    const stream = await client.chat.completions.create({
      model: MODEL,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    let text = '';
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Hej från Dify');
    expect(usage).toMatchObject({ total_tokens: 13 });
  });

  test('openai: streamed tool call round trip and reasoning', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const final = await client.chat.completions.stream({ model: MODEL, tools, messages: [{ role: 'user', content: 'weather in Oslo?' }] }).finalChatCompletion();
    const toolCall = final.choices[0]!.message.tool_calls![0]! as { id: string; function: { name: string; arguments: string } };
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(toolCall.function.name).toBe('get_weather');
    expect(JSON.parse(toolCall.function.arguments)).toEqual({ city: 'Oslo' });

    const answer = await client.chat.completions.create({
      model: MODEL,
      tools,
      messages: [
        { role: 'user', content: 'weather in Oslo?' },
        { role: 'assistant', content: null, tool_calls: [{ id: toolCall.id, type: 'function', function: toolCall.function }] },
        { role: 'tool', tool_call_id: toolCall.id, content: '-3°C' },
      ],
    });
    expect(answer.choices[0]!.message.content).toBe('Result: -3°C');
    const sent = daemon.reverseCalls.filter((c) => c.type === 'llm').at(-1)!.request;
    expect(sent.tools).toEqual([{ name: 'get_weather', description: 'get_weather', parameters: tools[0]!.function.parameters }]);
    expect(sent.prompt_messages.at(-1)).toEqual({ role: 'tool', content: '-3°C', tool_call_id: 'call_p1' });

    const thought = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'think' }] });
    expect(thought.choices[0]!.message).toMatchObject({ content: 'Done.', reasoning_content: 'hmm' });
  });

  test('openai: structured output goes through llm_structured_output', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const schema = { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'] };
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'the answer?' }],
      response_format: { type: 'json_schema', json_schema: { name: 'a', schema } },
    });
    expect(JSON.parse(completion.choices[0]!.message.content!)).toEqual({ answer: 42 });
    expect(daemon.reverseCalls.filter((c) => c.type === 'llm_structured_output').at(-1)!.request.structured_output_schema).toEqual(schema);
  });

  test('openai: embeddings in both encodings (v7 and v6 defaults)', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const input = ['north', 'south'];
    const expected = input.map((t) => vectorFor(t));
    expect((await client.embeddings.create({ model: EMBEDDING_SELECTOR.model, input })).data.map((d) => d.embedding)).toEqual(expected);
    expect((await client.embeddings.create({ model: EMBEDDING_SELECTOR.model, input, encoding_format: 'float' })).data.map((d) => d.embedding)).toEqual(expected);
    const v6 = new OpenAI6({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0, timeout: 10_000 });
    const result = await v6.embeddings.create({ model: EMBEDDING_SELECTOR.model, input });
    expect(result.data.map((d) => d.embedding)).toEqual(expected);
    expect(result.usage.total_tokens).toBeGreaterThan(0);
    const call = daemon.reverseCalls.filter((c) => c.type === 'text_embedding').at(-1)!;
    expect(call.request).toMatchObject({ provider: EMBEDDING_SELECTOR.provider, model: EMBEDDING_SELECTOR.model, texts: input, input_type: 'document' });
  });

  test('errors from the model runtime keep their meaning through the daemon', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const overflow = (await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'overflow' }] }).catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.BadRequestError
    >;
    expect(overflow).toBeInstanceOf(OpenAI.BadRequestError);
    expect(overflow.code).toBe('context_length_exceeded');
    expect(overflow.message).toMatch(/maximum context length/);
    await expect(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'throttle' }] })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    const wrongKey = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'nope', maxRetries: 0 });
    await expect(wrongKey.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  test('a photo travels once; a prompt too large for one daemon line is 413 request_too_large before anything is sent', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const photo = 'data:image/jpeg;base64,' + Buffer.alloc(2 * 1024 * 1024, 9).toString('base64');
    const before = daemon.reverseCalls.length;
    const answer = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: 'photo' }, { type: 'image_url', image_url: { url: photo } }] }] });
    expect(answer.choices[0]!.message.content).toBe('Hej från Dify');
    const sent = JSON.stringify(daemon.reverseCalls.at(-1)!.request);
    expect(sent.split(photo.slice(-64)).length - 1).toBe(1);
    const huge = 'data:image/png;base64,' + Buffer.alloc(6 * 1024 * 1024, 7).toString('base64');
    for (const stream of [false, true]) {
      const err = (await client.chat.completions
        .create({ model: MODEL, stream, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: huge } }] }] })
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect({ status: err.status, code: err.code }).toEqual({ status: 413, code: 'request_too_large' });
      expect(err.message).toMatch(/too large for the Dify plugin daemon/);
    }
    // only the photo's call reached the daemon
    expect(daemon.reverseCalls.length).toBe(before + 1);
  });

  test('models list without /v1, as users paste base URLs both ways', async () => {
    const client = new OpenAI({ baseURL: base, apiKey: API_KEY, maxRetries: 0 });
    // gpt-* / text-embedding-* names are listed dify-prefixed; the bare name still resolves
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([`dify-${MODEL}`, `dify-${EMBEDDING_SELECTOR.model}`]);
    expect((await client.models.retrieve(MODEL)).id).toBe(`dify-${MODEL}`);
    // a slash-bearing id reaches the handler (percent-encoded by the SDK) and gets the OpenAI 404
    const missing = (await client.models.retrieve('langgenius/other').catch((e: unknown) => e)) as InstanceType<typeof OpenAI.NotFoundError>;
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.code).toBe('model_not_found');
    expect(missing.message).toContain('langgenius/other');
  });

  test('AI SDK: streamText with tools and embedMany', async () => {
    const provider = createOpenAICompatible({ name: 'dify', baseURL: `${base}/v1`, apiKey: API_KEY, includeUsage: true });
    const calls: unknown[] = [];
    const result = streamText({
      model: provider.chatModel(MODEL),
      prompt: 'weather in Oslo?',
      maxRetries: 0,
      stopWhen: stepCountIs(3),
      tools: {
        get_weather: tool({
          inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } } }),
          execute: async (input: { city: string }) => {
            calls.push(input);
            return 'mild';
          },
        }),
      },
    });
    for await (const part of result.fullStream) if (part.type === 'error') throw part.error;
    expect(calls).toEqual([{ city: 'Oslo' }]);
    expect(await result.text).toBe('Result: mild');
    const embedded = await embedMany({ model: provider.embeddingModel(EMBEDDING_SELECTOR.model), values: ['a', 'b'], maxRetries: 0 });
    expect(embedded.embeddings).toEqual([vectorFor('a'), vectorFor('b')]);
  });

  test('LangChain: tools and embeddings', async () => {
    const chat = new ChatOpenAI({ model: MODEL, apiKey: API_KEY, configuration: { baseURL: `${base}/v1` }, maxRetries: 0 }).bindTools([
      { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
    ]);
    let aggregate: AIMessageChunk | undefined;
    for await (const chunk of await chat.stream('weather in Oslo?')) aggregate = aggregate ? aggregate.concat(chunk) : chunk;
    expect(aggregate!.tool_calls).toEqual([expect.objectContaining({ name: 'get_weather', args: { city: 'Oslo' } })]);
    const embeddings = new OpenAIEmbeddings({ model: EMBEDDING_SELECTOR.model, apiKey: API_KEY, configuration: { baseURL: `${base}/v1` }, maxRetries: 0 });
    expect(await embeddings.embedDocuments(['x', 'y'])).toEqual([vectorFor('x'), vectorFor('y')]);
  });

  test('the plugin keeps stdout clean', () => {
    expect(daemon.protocolViolations).toEqual([]);
  });
});
