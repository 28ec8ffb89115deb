/**
 * The llm group through the Vercel AI SDK (`ai` + `@ai-sdk/openai-compatible`) and LangChain
 * (`@langchain/openai`), in-process with fake models.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { APICallError, Output, embedMany, generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { HumanMessage, type AIMessageChunk } from '@langchain/core/messages';
import { ContextOverflowError } from '@langchain/core/errors';
import { ERROR_TEXTS, FakeModels, rawChunk, rawUsage, streamedToolCalls, structuredAnswer, textAnswer, vectorFor, type LlmScript } from '../fakes/dify-models.js';
import { API_KEY, startLlmHost, type LlmHost } from './helpers.js';

const MODEL = 'gpt-4o-mini';
const EMBEDDING = 'text-embedding-3-small';

const PERSON_SCHEMA = { type: 'object', properties: { name: { type: 'string' }, born: { type: 'number' } }, required: ['name', 'born'] };

const script: LlmScript = (request) => {
  if (request.structuredOutputSchema) return structuredAnswer({ name: 'Ada Lovelace', born: 1815 });
  const last = request.promptMessages.at(-1)!;
  if (last.role === 'tool') return textAnswer([`Paris: ${String(last.content)}`], [70, 6]);
  const text = typeof last.content === 'string' ? last.content : '';
  if (/weather/i.test(text) && request.tools?.length) {
    return streamedToolCalls([{ id: 'call_w1', name: 'get_weather', args: ['{"city"', ':"Paris"}'] }]);
  }
  if (/reason/i.test(text)) {
    return [rawChunk({ content: '<think>\nstep by step\n</think>\n\n' }), rawChunk({ content: 'Forty-two.' }), rawChunk({ usage: rawUsage(9, 14), finishReason: 'stop' })];
  }
  if (/overflow/i.test(text)) return new Error(ERROR_TEXTS.contextLength);
  return textAnswer(['Hello', ' from ', 'Dify'], [11, 3]);
};

let host: LlmHost;
let models: FakeModels;
beforeAll(async () => {
  models = new FakeModels({ llm: script });
  host = await startLlmHost(models);
});
afterAll(async () => {
  await host.close();
});

describe('AI SDK (@ai-sdk/openai-compatible)', () => {
  const provider = () => createOpenAICompatible({ name: 'dify', baseURL: host.v1, apiKey: API_KEY, includeUsage: true });

  test('generateText: text, finish reason, usage', async () => {
    const result = await generateText({ model: provider().chatModel(MODEL), prompt: 'Say hello', maxRetries: 0 });
    expect(result.text).toBe('Hello from Dify');
    expect(result.finishReason).toBe('stop');
    expect(result.usage.inputTokens).toBe(11);
    expect(result.usage.outputTokens).toBe(3);
  });

  test('generateText: reasoning from inline <think>', async () => {
    const result = await generateText({ model: provider().chatModel(MODEL), prompt: 'Please reason', maxRetries: 0 });
    expect(result.text).toBe('Forty-two.');
    expect(result.reasoningText).toBe('step by step');
  });

  test('streamText with tools: tool call parsed, executed, answer streamed, no error parts', async () => {
    const seen: unknown[] = [];
    const result = streamText({
      model: provider().chatModel(MODEL),
      prompt: "What's the weather in Paris?",
      maxRetries: 0,
      stopWhen: stepCountIs(3),
      tools: {
        get_weather: tool({
          description: 'Weather for a city',
          inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
          execute: async (input: { city: string }) => {
            seen.push(input);
            return '19°C';
          },
        }),
      },
    });
    const parts: string[] = [];
    for await (const part of result.fullStream) {
      parts.push(part.type);
      if (part.type === 'error') throw part.error;
    }
    expect(seen).toEqual([{ city: 'Paris' }]);
    expect(await result.text).toBe('Paris: 19°C');
    expect(parts).not.toContain('error');
    const steps = await result.steps;
    expect(steps[0]!.finishReason).toBe('tool-calls');
    expect(steps[0]!.toolCalls[0]!.input).toEqual({ city: 'Paris' });
    // the second step carried the tool result back as a tool prompt message
    const second = models.llmRequests.at(-1)!;
    expect(second.promptMessages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_w1' });
    expect(second.promptMessages.at(-2)?.tool_calls?.[0]).toMatchObject({ id: 'call_w1', function: { name: 'get_weather' } });
  });

  test('structured output (Output.object) through llm_structured_output', async () => {
    const p = createOpenAICompatible({ name: 'dify', baseURL: host.v1, apiKey: API_KEY, supportsStructuredOutputs: true });
    const result = await generateText({
      model: p.chatModel(MODEL),
      prompt: 'Who wrote the first program?',
      output: Output.object({ schema: jsonSchema<{ name: string; born: number }>(PERSON_SCHEMA) }),
      maxRetries: 0,
    });
    expect(result.output).toEqual({ name: 'Ada Lovelace', born: 1815 });
    expect(models.llmRequests.at(-1)!.structuredOutputSchema).toMatchObject(PERSON_SCHEMA);
  });

  test('embedMany: vectors equal, usage counted', async () => {
    const values = ['sun', 'rain', 'snow'];
    const result = await embedMany({ model: provider().embeddingModel(EMBEDDING), values, maxRetries: 0 });
    expect(result.embeddings).toEqual(values.map((v) => vectorFor(v)));
    expect(result.usage.tokens).toBeGreaterThan(0);
  });

  test('errors: unknown model is an APICallError 404, not retryable', async () => {
    const err = await generateText({ model: provider().chatModel('no-such-model'), prompt: 'x', maxRetries: 0 }).catch((e: unknown) => e);
    expect(APICallError.isInstance(err)).toBe(true);
    expect((err as APICallError).statusCode).toBe(404);
    expect((err as APICallError).isRetryable).toBe(false);
  });
});

describe('AI SDK (@ai-sdk/openai, Responses API by default)', () => {
  test('generateText and streamText with a tool over /v1/responses', async () => {
    const openai = createOpenAI({ baseURL: host.v1, apiKey: API_KEY });
    const plain = await generateText({ model: openai(MODEL), prompt: 'Say hello', maxRetries: 0 });
    expect(plain.text).toBe('Hello from Dify');
    expect(plain.usage.inputTokens).toBe(11);

    const inputs: unknown[] = [];
    const result = streamText({
      model: openai(MODEL),
      prompt: "What's the weather in Paris?",
      maxRetries: 0,
      stopWhen: stepCountIs(3),
      tools: {
        get_weather: tool({
          inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
          execute: async (input: { city: string }) => {
            inputs.push(input);
            return 'warm';
          },
        }),
      },
    });
    for await (const part of result.fullStream) if (part.type === 'error') throw part.error;
    expect(inputs).toEqual([{ city: 'Paris' }]);
    expect(await result.text).toBe('Paris: warm');
  });
});

describe('LangChain (@langchain/openai)', () => {
  const chat = () => new ChatOpenAI({ model: MODEL, apiKey: API_KEY, configuration: { baseURL: host.v1 }, maxRetries: 0 });

  test('invoke and stream: text and usage_metadata', async () => {
    const message = await chat().invoke('Say hello');
    expect(message.content).toBe('Hello from Dify');
    expect(message.usage_metadata).toMatchObject({ input_tokens: 11, output_tokens: 3, total_tokens: 14 });

    let aggregate: AIMessageChunk | undefined;
    for await (const chunk of await chat().stream('Say hello')) aggregate = aggregate ? aggregate.concat(chunk) : chunk;
    expect(aggregate!.content).toBe('Hello from Dify');
    expect(aggregate!.usage_metadata).toMatchObject({ input_tokens: 11, output_tokens: 3 });
  });

  test('bindTools: streamed tool call arrives as a parsed tool_call', async () => {
    const withTools = chat().bindTools([
      { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
    ]);
    const message = await withTools.invoke([new HumanMessage("What's the weather in Paris?")]);
    expect(message.tool_calls).toEqual([expect.objectContaining({ name: 'get_weather', args: { city: 'Paris' }, id: 'call_w1' })]);

    let aggregate: AIMessageChunk | undefined;
    for await (const chunk of await withTools.stream("What's the weather in Paris?")) aggregate = aggregate ? aggregate.concat(chunk) : chunk;
    expect(aggregate!.tool_calls).toEqual([expect.objectContaining({ name: 'get_weather', args: { city: 'Paris' } })]);
  });

  test('withStructuredOutput: parsed object via response_format json_schema', async () => {
    const structured = chat().withStructuredOutput(PERSON_SCHEMA, { name: 'person' });
    expect(await structured.invoke('Who wrote the first program?')).toEqual({ name: 'Ada Lovelace', born: 1815 });
    expect(models.llmRequests.at(-1)!.structuredOutputSchema).toMatchObject(PERSON_SCHEMA);
  });

  test('reasoning lands in additional_kwargs.reasoning_content', async () => {
    const message = await chat().invoke('Please reason');
    expect(message.content).toBe('Forty-two.');
    expect(message.additional_kwargs.reasoning_content).toBe('step by step');
  });

  test('context overflow becomes ContextOverflowError', async () => {
    const err = await chat()
      .invoke('overflow please')
      .catch((e: unknown) => e);
    expect(ContextOverflowError.isInstance(err)).toBe(true);
  });

  test('OpenAIEmbeddings (base64 on the wire): vectors equal', async () => {
    const embeddings = new OpenAIEmbeddings({ model: EMBEDDING, apiKey: API_KEY, configuration: { baseURL: host.v1 }, maxRetries: 0 });
    const docs = await embeddings.embedDocuments(['alpha', 'beta']);
    expect(docs).toEqual([vectorFor('alpha'), vectorFor('beta')]);
    expect(await embeddings.embedQuery('gamma')).toEqual(vectorFor('gamma'));
  });
});
