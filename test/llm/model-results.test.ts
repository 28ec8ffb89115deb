/**
 * Dify model results: the plugin client's lenient normalisation and request building, and how the
 * answer assembler turns the different tool-call chunking styles providers use into one call each.
 */
import { describe, expect, test } from 'vitest';
import type { DifySession } from '@dify/plugin-sdk-shim';
import { createPluginModelsClient, normalizeEmbeddingResult, normalizeLlmChunk } from '../../src/backend/plugin-models.js';
import { DifyError, type LlmInvokeRequest } from '../../src/backend/types.js';
import { AnswerAssembler } from '../../src/groups/llm/answer.js';
import { modelRuntimeError } from '../../src/groups/llm/errors.js';
import { EMBEDDING_SELECTOR, ERROR_TEXTS, LLM_SELECTOR, rawChunk, rawEmbeddingResult, rawUsage, wholeToolCalls } from '../fakes/dify-models.js';

describe('normalising what the daemon relays', () => {
  test('decimal-string prices, null tool_calls, prompt_messages and unknown keys', () => {
    const chunk = normalizeLlmChunk({ ...rawChunk({ content: 'x', usage: rawUsage(3, 4), finishReason: 'stop' }), future_field: { a: 1 } });
    expect(chunk).toEqual({
      model: 'gpt-4o-mini',
      delta: {
        index: 0,
        message: { content: 'x', tool_calls: [] },
        usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
        finish_reason: 'stop',
      },
    });
  });

  test('numbers as strings, missing total, object arguments, structured_output', () => {
    const chunk = normalizeLlmChunk({
      model: 'm',
      delta: {
        index: '0',
        message: { content: null, tool_calls: [{ id: 'c', function: { name: 'f', arguments: { a: 1 } } }] },
        usage: { prompt_tokens: '5', completion_tokens: 2.0, prompt_price: 0.1 },
        finish_reason: '',
      },
      structured_output: { ok: true },
    });
    expect(chunk.delta.usage).toEqual({ prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });
    expect(chunk.delta.message.tool_calls).toEqual([{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }]);
    expect(chunk.delta.finish_reason).toBeNull();
    expect(chunk.structured_output).toEqual({ ok: true });
  });

  test('embedding result with string counts', () => {
    const raw = rawEmbeddingResult(['a'], 2);
    expect(normalizeEmbeddingResult({ ...raw, usage: { tokens: '3', total_tokens: null } }).usage).toEqual({ tokens: 3, total_tokens: 3 });
  });
});

describe('the plugin models client', () => {
  function fakeSession(record: Array<[string, unknown]>, fail?: Error): DifySession {
    return {
      invokeLlm: (request: unknown) => {
        record.push(['llm', request]);
        return (async function* () {
          yield rawChunk({ content: 'a' });
          if (fail) throw fail;
          yield rawChunk({ usage: rawUsage(1, 1), finishReason: 'stop' });
        })();
      },
      invokeLlmStructuredOutput: (request: unknown) => {
        record.push(['llm_structured_output', request]);
        return (async function* () {
          yield rawChunk({ structuredOutput: { x: 1 } });
        })();
      },
      invokeTextEmbedding: async (request: { texts: string[] }) => {
        record.push(['text_embedding', request]);
        return rawEmbeddingResult(request.texts);
      },
    } as unknown as DifySession;
  }

  const request: LlmInvokeRequest = {
    model: LLM_SELECTOR,
    promptMessages: [{ role: 'user', content: 'hi' }],
    completionParams: { temperature: 1 },
    stream: true,
  };

  test('llm request: selector fields, tools/stop null when absent; structured output picks its invocation', async () => {
    const record: Array<[string, unknown]> = [];
    const client = createPluginModelsClient(fakeSession(record));
    const chunks = [];
    for await (const c of client.invokeLlm(request, new AbortController().signal)) chunks.push(c);
    expect(chunks).toHaveLength(2);
    expect(record[0]).toEqual([
      'llm',
      {
        provider: LLM_SELECTOR.provider,
        model: 'gpt-4o-mini',
        model_type: 'llm',
        mode: 'chat',
        completion_params: { temperature: 1 },
        prompt_messages: [{ role: 'user', content: 'hi' }],
        tools: null,
        stop: null,
        stream: true,
      },
    ]);
    for await (const c of client.invokeLlm({ ...request, structuredOutputSchema: { type: 'object' } }, new AbortController().signal)) {
      expect(c.structured_output).toEqual({ x: 1 });
    }
    expect(record[1]![0]).toBe('llm_structured_output');
    expect((record[1]![1] as { structured_output_schema: unknown }).structured_output_schema).toEqual({ type: 'object' });

    const embedded = await client.embed(EMBEDDING_SELECTOR, ['q'], 'query');
    expect(embedded.embeddings).toHaveLength(1);
    expect(record[2]![1]).toEqual({ provider: EMBEDDING_SELECTOR.provider, model: EMBEDDING_SELECTOR.model, model_type: 'text-embedding', texts: ['q'], input_type: 'query' });
  });

  test('a reverse-invocation failure becomes a DifyError carrying the daemon text', async () => {
    const client = createPluginModelsClient(fakeSession([], new Error('PluginInvokeError: {"error_type":"InvokeRateLimitError"}')));
    const err = await (async () => {
      for await (const _ of client.invokeLlm(request, new AbortController().signal)) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DifyError);
    expect((err as DifyError).message).toMatch(/InvokeRateLimitError/);
  });

  test('the shim refusing an invoke line over 5 MiB: DifyError 413 request_too_large, then a 413 envelope naming the daemon', async () => {
    // Shaped like the shim's error (matched by name); thrown when the call is made, not on a read.
    const tooLarge = Object.assign(new Error('llm invoke line of 6291556 bytes exceeds the daemon limit of 5242880'), { name: 'ReverseInvocationTooLargeError' });
    const session = {
      invokeLlm: () => {
        throw tooLarge;
      },
      invokeTextEmbedding: async () => {
        throw tooLarge;
      },
    } as unknown as DifySession;
    const client = createPluginModelsClient(session);
    const err = await (async () => {
      for await (const _ of client.invokeLlm(request, new AbortController().signal)) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DifyError);
    expect(err).toMatchObject({ code: 'request_too_large', status: 413 });
    const mapped = modelRuntimeError(err);
    expect(mapped.status).toBe(413);
    expect(mapped.body().error).toMatchObject({ code: 'request_too_large', type: 'invalid_request_error' });
    expect(mapped.body().error.message).toMatch(/too large for the Dify plugin daemon/);
    const embedErr = await client.embed(LLM_SELECTOR, ['x'], 'document').catch((e: unknown) => e);
    expect(modelRuntimeError(embedErr).status).toBe(413);
  });
});

describe('tool-call chunking styles', () => {
  function assemble(chunks: Array<Record<string, unknown>>) {
    const a = new AnswerAssembler();
    const events = chunks.flatMap((c) => a.push(normalizeLlmChunk(c)));
    const { events: tail, summary } = a.finish();
    return { events: [...events, ...tail], summary };
  }
  const call = (id: string, name: string, args: string) => ({ id, type: 'function', function: { name, arguments: args } });

  test('whole calls in one chunk with finish "stop" -> finish_reason tool_calls', () => {
    const { summary } = assemble(
      wholeToolCalls([
        { id: 'a', name: 'f', args: '{"x":1}' },
        { id: 'b', name: 'g', args: '{}' },
      ]),
    );
    expect(summary.finishReason).toBe('tool_calls');
    expect(summary.toolCalls.map((c) => [c.id, c.function.name, c.function.arguments])).toEqual([
      ['a', 'f', '{"x":1}'],
      ['b', 'g', '{}'],
    ]);
  });

  test('id and name repeated on every fragment: one call, name not doubled', () => {
    const { events, summary } = assemble([
      rawChunk({ toolCalls: [call('a', 'lookup', '{"q"')] }),
      rawChunk({ toolCalls: [call('a', 'lookup', ':"z"}')] }),
      rawChunk({ finishReason: 'tool_use' }),
    ]);
    expect(summary.toolCalls).toEqual([{ id: 'a', type: 'function', function: { name: 'lookup', arguments: '{"q":"z"}' } }]);
    expect(events.filter((e) => e.type === 'tool_call')).toHaveLength(1);
  });

  test('no ids at all: an id is made up, fragments join the latest call', () => {
    const { summary } = assemble([rawChunk({ toolCalls: [call('', 'f', '{"a"')] }), rawChunk({ toolCalls: [call('', '', ':2}')] })]);
    expect(summary.toolCalls).toHaveLength(1);
    expect(summary.toolCalls[0]!.id).toMatch(/^call_/);
    expect(JSON.parse(summary.toolCalls[0]!.function.arguments)).toEqual({ a: 2 });
  });

  test('finish reasons from other providers map into the OpenAI enum', () => {
    expect(assemble([rawChunk({ content: 'x', finishReason: 'MAX_TOKENS' })]).summary.finishReason).toBe('length');
    expect(assemble([rawChunk({ content: 'x', finishReason: 'end_turn' })]).summary.finishReason).toBe('stop');
    expect(assemble([rawChunk({ content: 'x', finishReason: 'SAFETY' })]).summary.finishReason).toBe('content_filter');
    expect(assemble([rawChunk({ content: 'x' })]).summary.finishReason).toBe('stop');
  });
});

describe('model-runtime errors as a client sees them', () => {
  test.each([
    [ERROR_TEXTS.contextLength, 400, 'context_length_exceeded'],
    ['PluginInvokeError: {"error_type":"InvokeBadRequestError","message":"prompt is too long: 210000 tokens > 200000 maximum"}', 400, 'context_length_exceeded'],
    [ERROR_TEXTS.quota, 429, 'insufficient_quota'],
    [ERROR_TEXTS.rateLimit, 429, 'rate_limit_exceeded'],
    [ERROR_TEXTS.credentials, 502, 'upstream_auth_error'],
    ['PluginInvokeError: {"error_type":"ValueError","message":"Model Parameter temperature should be less than or equal to 1.0."}', 400, 'invalid_request'],
    ['permission denied, you need to enable llm access in plugin manifest', 502, 'upstream_permission_error'],
    ['PluginInvokeError: {"error_type":"InvokeServerUnavailableError","message":"overloaded"}', 503, 'upstream_unavailable'],
    ['something odd', 502, 'upstream_error'],
  ])('%s -> %i %s', (text, status, code) => {
    const err = modelRuntimeError(new DifyError(text, 'model_invoke_error', 0));
    expect([err.status, err.code]).toEqual([status, code]);
    if (code === 'context_length_exceeded') expect(err.message).toMatch(/maximum context length/);
    // the plugin's JSON wrapper is unwrapped into a readable message
    expect(err.message).not.toMatch(/error_type/);
  });
});
