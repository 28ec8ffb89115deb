/**
 * The llm group on the wire (plain fetch): routing, auth, CORS, SSE framing, what reaches the model
 * (prompt messages, tools, parameters, images) and the 400s for what Dify cannot honour.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FakeModels, rawChunk, rawUsage, streamedToolCalls, textAnswer, ERROR_TEXTS, LLM_SELECTOR } from '../fakes/dify-models.js';
import { FIRST_CHUNK_WAIT_MS } from '../../src/groups/llm/invoke.js';
import { API_KEY, defaultSettings, readSse, startLlmHost, type LlmHost } from './helpers.js';

const MODEL = 'gpt-4o-mini';
const auth = { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' };

let host: LlmHost;
let models: FakeModels;
beforeAll(async () => {
  models = new FakeModels({
    llm: (request) => {
      const last = String(request.promptMessages.at(-1)?.content ?? '');
      if (last === 'two tools') {
        return streamedToolCalls([
          { id: 'call_1', name: 'lookup', args: ['{"q":', '"a"}'] },
          { id: 'call_2', name: 'lookup', args: ['{"q":"b"}'] },
        ]);
      }
      if (last === 'cut off') return [rawChunk({ content: 'It was a dark and' }), rawChunk({ usage: rawUsage(5, 4), finishReason: 'length' })];
      return textAnswer(['ok']);
    },
  });
  host = await startLlmHost(models);
});
afterAll(async () => {
  await host.close();
});

async function chat(body: Record<string, unknown>, headers: Record<string, string> = auth, path = '/v1/chat/completions') {
  return fetch(host.baseUrl + path, { method: 'POST', headers, body: JSON.stringify({ model: MODEL, ...body }) });
}

async function errorOf(response: Response) {
  const body = (await response.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
  return { status: response.status, ...body.error };
}

describe('audio', () => {
  test('without a TTS or speech-to-text model in the settings: 404 model_not_found; a transcription must be multipart; too big is 413', async () => {
    const speech = await fetch(`${host.baseUrl}/v1/audio/speech`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'tts-1', input: 'hi', voice: 'alloy' }) });
    expect(speech.status).toBe(404);
    expect((await errorOf(speech)).code).toBe('model_not_found');
    const notMultipart = await fetch(`${host.baseUrl}/v1/audio/transcriptions`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'whisper-1' }) });
    expect(notMultipart.status).toBe(400);
    expect((await errorOf(notMultipart)).param).toBe('file');
    const form = new FormData();
    form.append('model', 'whisper-1');
    form.append('file', new Blob([new Uint8Array(3 * 1024 * 1024)], { type: 'audio/wav' }), 'big.wav');
    const big = await fetch(`${host.baseUrl}/v1/audio/transcriptions`, { method: 'POST', headers: { Authorization: auth.Authorization }, body: form });
    expect(big.status).toBe(413);
    const small = new FormData();
    small.append('model', 'whisper-1');
    small.append('file', new Blob([new Uint8Array(100)], { type: 'audio/wav' }), 'a.wav');
    const noModel = await fetch(`${host.baseUrl}/v1/audio/transcriptions`, { method: 'POST', headers: { Authorization: auth.Authorization }, body: small });
    expect(noModel.status).toBe(404);
    expect((await errorOf(noModel)).message).toContain('speech2text');
  });
});

describe('routing, auth, CORS', () => {
  test('OPTIONS preflight: 204 without auth, allows Authorization and the requested headers', async () => {
    for (const path of ['/v1/chat/completions', '/embeddings', '/v1/models', '/v1/models/x%2Fy', '/responses']) {
      const res = await fetch(host.baseUrl + path, {
        method: 'OPTIONS',
        headers: { Origin: 'https://chat.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-stainless-os, content-type' },
      });
      expect(res.status, path).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('https://chat.example');
      const allowed = res.headers.get('access-control-allow-headers')!.toLowerCase();
      expect(allowed).toContain('authorization');
      expect(allowed).toContain('x-stainless-os');
    }
  });

  test('Bearer, api-key and x-api-key authenticate; anything else is a 401 envelope with CORS', async () => {
    const variants: Array<Record<string, string>> = [{ Authorization: `Bearer ${API_KEY}` }, { 'api-key': API_KEY }, { 'x-api-key': API_KEY }];
    for (const headers of variants) {
      const res = await chat({ messages: [{ role: 'user', content: 'hi' }] }, { ...headers, 'Content-Type': 'application/json' });
      expect(res.status).toBe(200);
    }
    const missing = await chat({ messages: [{ role: 'user', content: 'hi' }] }, { 'Content-Type': 'application/json', Origin: 'https://x.example' });
    expect(missing.headers.get('access-control-allow-origin')).toBe('https://x.example');
    expect(await errorOf(missing)).toMatchObject({ status: 401, code: 'invalid_api_key' });
    const wrong = await chat({ messages: [{ role: 'user', content: 'hi' }] }, { Authorization: 'Bearer sk-wrong', 'Content-Type': 'application/json' });
    expect(await errorOf(wrong)).toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect((await fetch(`${host.v1}/models`)).status).toBe(401);
  });

  test('routes answer without /v1 too, with an x-request-id', async () => {
    const res = await chat({ messages: [{ role: 'user', content: 'hi' }] }, auth, '/chat/completions');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    expect(((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe('ok');
  });

  test('malformed JSON -> 400; missing model -> 400 param model', async () => {
    const bad = await fetch(`${host.v1}/chat/completions`, { method: 'POST', headers: auth, body: '{"model": ' });
    expect(await errorOf(bad)).toMatchObject({ status: 400, message: 'We could not parse the JSON body of your request.' });
    const noModel = await fetch(`${host.v1}/chat/completions`, { method: 'POST', headers: auth, body: JSON.stringify({ messages: [] }) });
    expect(await errorOf(noModel)).toMatchObject({ status: 400, param: 'model' });
  });

  test('a 10 MiB base64 image is accepted; a body over the limit is a 413 envelope', async () => {
    const image = 'data:image/jpeg;base64,' + Buffer.alloc(7.5 * 1024 * 1024, 7).toString('base64');
    const big = await chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image } }] }] });
    expect(big.status).toBe(200);
    const content = models.llmRequests.at(-1)!.promptMessages[0]!.content as Array<{ base64_data: string; mime_type: string }>;
    expect(content[0]!.base64_data.length).toBe(image.length - 'data:image/jpeg;base64,'.length);
    expect(content[0]!.mime_type).toBe('image/jpeg');
    // the payload travels once (Dify reads base64_data; a second copy doubled the daemon line)
    expect(JSON.stringify(content).length).toBeLessThan(image.length + 1000);
    const tooBig = await fetch(`${host.v1}/chat/completions`, { method: 'POST', headers: auth, body: JSON.stringify({ model: MODEL, pad: 'x'.repeat(33 * 1024 * 1024) }) });
    expect(await errorOf(tooBig)).toMatchObject({ status: 413, type: 'invalid_request_error' });
  });

  test('model_id setting renames the model; the selector name still works', async () => {
    const custom = await startLlmHost(models, defaultSettings({ model_id: 'dify/team-chat', text_embedding: '' }));
    try {
      const list = (await (await fetch(`${custom.v1}/models`, { headers: auth })).json()) as { data: Array<{ id: string }> };
      expect(list.data.map((m) => m.id)).toEqual(['dify/team-chat']);
      const one = await fetch(`${custom.v1}/models/dify%2Fteam-chat`, { headers: auth });
      expect(((await one.json()) as { id: string }).id).toBe('dify/team-chat');
      const res = await fetch(`${custom.v1}/chat/completions`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ model: 'dify/team-chat', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(((await res.json()) as { model: string }).model).toBe('dify/team-chat');
      const embed = await fetch(`${custom.v1}/embeddings`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'x', input: 'hi' }) });
      expect(await errorOf(embed)).toMatchObject({ status: 404, code: 'model_not_found' });
    } finally {
      await custom.close();
    }
  });

  test('without model_id, OpenAI-looking Dify names are listed dify-prefixed; other names verbatim; both ids answer', async () => {
    const listed = async (model: string) => {
      const host = await startLlmHost(models, defaultSettings({ llm: { ...LLM_SELECTOR, model }, text_embedding: '' }));
      try {
        const list = (await (await fetch(`${host.v1}/models`, { headers: auth })).json()) as { data: Array<{ id: string }> };
        const ids = list.data.map((m) => m.id);
        for (const id of new Set([ids[0]!, model])) {
          const res = await fetch(`${host.v1}/chat/completions`, { method: 'POST', headers: auth, body: JSON.stringify({ model: id, messages: [{ role: 'user', content: 'hi' }] }) });
          expect({ id, status: res.status }).toEqual({ id, status: 200 });
          await res.text();
        }
        return ids;
      } finally {
        await host.close();
      }
    };
    for (const model of ['gpt-4.1', 'o3-mini', 'o1', 'o4-mini', 'codex-mini-latest', 'gpt-5-codex', 'chatgpt-4o-latest', 'GPT-4o']) {
      expect(await listed(model)).toEqual([`dify-${model}`]);
    }
    for (const model of ['qwen-max', 'claude-sonnet-4', 'deepseek-chat', 'omni-moderation']) {
      expect(await listed(model)).toEqual([model]);
    }
  });
});

describe('SSE framing', () => {
  test('chat stream: single-line data frames, role first, one finish, [DONE] last, no usage unless asked', async () => {
    const res = await chat({ stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const { raw, data } = await readSse(res);
    expect(raw).not.toMatch(/^event:/m);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { id: string; choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }>; usage?: unknown });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.filter((c) => c.choices[0]?.finish_reason)).toHaveLength(1);
    expect(chunks.some((c) => c.choices.length === 0 || c.usage)).toBe(false);
  });

  test('parallel tool-call deltas: index always, id and name once, function object on every delta', async () => {
    const res = await chat({
      stream: true,
      messages: [{ role: 'user', content: 'two tools' }],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
    });
    const { data } = await readSse(res);
    const deltas = data
      .slice(0, -1)
      .map((d) => JSON.parse(d) as { choices: Array<{ delta: { tool_calls?: Array<Record<string, any>> }; finish_reason: string | null }> })
      .flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    const byIndex = new Map<number, { ids: string[]; names: string[]; args: string }>();
    for (const d of deltas) {
      expect(typeof d.index).toBe('number');
      expect(d.function).toBeTypeOf('object');
      const entry = byIndex.get(d.index) ?? { ids: [], names: [], args: '' };
      if (d.id) entry.ids.push(d.id);
      if (d.function.name) entry.names.push(d.function.name);
      entry.args += d.function.arguments ?? '';
      byIndex.set(d.index, entry);
    }
    expect([...byIndex.entries()].map(([i, e]) => [i, e.ids, e.names, JSON.parse(e.args)])).toEqual([
      [0, ['call_1'], ['lookup'], { q: 'a' }],
      [1, ['call_2'], ['lookup'], { q: 'b' }],
    ]);
    const last = JSON.parse(data.at(-2)!) as { choices: Array<{ finish_reason: string }> };
    expect(last.choices[0]!.finish_reason).toBe('tool_calls');
  });

  test('a length stop from the model becomes finish_reason "length"', async () => {
    const res = await chat({ messages: [{ role: 'user', content: 'cut off' }], max_tokens: 4 });
    const body = (await res.json()) as { choices: Array<{ finish_reason: string; message: { content: string } }> };
    expect(body.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'It was a dark and' } });
  });

  test('responses stream: named events equal data.type, sequence numbers from 0, completed last', async () => {
    const res = await fetch(`${host.v1}/responses`, { method: 'POST', headers: auth, body: JSON.stringify({ model: MODEL, input: 'hi', stream: true }) });
    const raw = await res.text();
    const events = raw
      .split('\n\n')
      .filter(Boolean)
      .map((frame) => {
        const [eventLine, dataLine] = frame.split('\n');
        return { name: eventLine!.slice('event: '.length), data: JSON.parse(dataLine!.slice('data: '.length)) as { type: string; sequence_number: number } };
      });
    expect(events.every((e) => e.name === e.data.type)).toBe(true);
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events[0]!.name).toBe('response.created');
    expect(events.at(-1)!.name).toBe('response.completed');
  });

  test('client abort mid-stream stops the model invocation', async () => {
    const slow = new FakeModels({ llm: () => textAnswer(Array.from({ length: 50 }, (_, i) => `w${i} `)), chunkDelayMs: 20 });
    const slowHost = await startLlmHost(slow);
    try {
      const controller = new AbortController();
      const res = await fetch(`${slowHost.v1}/chat/completions`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'long' }] }),
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      await reader.read();
      controller.abort();
      await expect.poll(() => slow.aborted, { timeout: 5_000 }).toBe(true);
    } finally {
      await slowHost.close();
    }
  });
});

describe('failures once the stream is committed', () => {
  test('chat: in-band error object, no finish chunk, no [DONE]', async () => {
    const failing = await startLlmHost(new FakeModels({ llm: () => textAnswer(['one ', 'two']), failAfter: { chunks: 1, message: ERROR_TEXTS.rateLimit } }));
    try {
      const res = await fetch(`${failing.v1}/chat/completions`, { method: 'POST', headers: auth, body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'x' }] }) });
      expect(res.status).toBe(200);
      const { data } = await readSse(res);
      const last = JSON.parse(data.at(-1)!) as { error?: { message: string; code: string }; choices?: unknown };
      expect(last.choices).toBeUndefined();
      expect(last.error).toMatchObject({ code: 'rate_limit_exceeded' });
      expect(data).not.toContain('[DONE]');
      expect(data.some((d) => d.includes('"finish_reason":"'))).toBe(false);
    } finally {
      await failing.close();
    }
  });

  test('responses: error then response.failed', async () => {
    const failing = await startLlmHost(new FakeModels({ llm: () => textAnswer(['one ', 'two']), failAfter: { chunks: 1, message: ERROR_TEXTS.credentials } }));
    try {
      const res = await fetch(`${failing.v1}/responses`, { method: 'POST', headers: auth, body: JSON.stringify({ model: MODEL, stream: true, input: 'x' }) });
      const names = (await res.text()).split('\n\n').filter(Boolean).map((f) => f.split('\n')[0]!.slice('event: '.length));
      expect(names.slice(-2)).toEqual(['error', 'response.failed']);
      expect(names).toContain('response.output_text.delta');
    } finally {
      await failing.close();
    }
  });

  test('a model silent past the commit bound: the 200 stream starts, the late failure arrives in-band', async () => {
    const slow = await startLlmHost(
      new FakeModels({
        llm: async () => {
          await new Promise((r) => setTimeout(r, FIRST_CHUNK_WAIT_MS + 300));
          return new Error(ERROR_TEXTS.quota);
        },
      }),
    );
    try {
      const res = await fetch(`${slow.v1}/chat/completions`, { method: 'POST', headers: auth, body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'x' }] }) });
      expect(res.status).toBe(200);
      const { data } = await readSse(res);
      expect(JSON.parse(data[0]!).choices[0].delta).toEqual({ role: 'assistant', content: '' });
      expect(JSON.parse(data.at(-1)!).error).toMatchObject({ code: 'insufficient_quota' });
    } finally {
      await slow.close();
    }
  });
});

describe('what reaches the model', () => {
  test('roles, parameters and stop; tool_choice none offers no tools', async () => {
    const res = await chat({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Rule one.' }] },
        { role: 'user', content: [{ type: 'text', text: 'line 1' }, { type: 'text', text: 'line 2', cache_control: { type: 'ephemeral' } }] },
      ],
      tools: [{ type: 'function', function: { name: 'lookup' } }],
      tool_choice: 'none',
      top_p: 0.9,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      seed: 7,
      max_tokens: 100,
      stop: 'END',
      user: 'u-42',
      reasoning: { effort: 'low' },
      chat_id: 'ignored',
    });
    expect(res.status).toBe(200);
    const sent = models.llmRequests.at(-1)!;
    expect(sent.promptMessages).toEqual([
      { role: 'system', content: 'Rule one.' },
      { role: 'user', content: 'line 1\nline 2' },
    ]);
    expect(sent.tools).toBeUndefined();
    expect(sent.stop).toEqual(['END']);
    expect(sent.model).toEqual(LLM_SELECTOR);
    expect(sent.completionParams).toEqual({
      temperature: 0.3,
      top_p: 0.9,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      seed: 7,
      max_tokens: 100,
      user: 'u-42',
    });
  });

  test('image parts (http and data URL) become Dify image content, in order', async () => {
    const dataUrl = 'data:image/png;base64,iVBORw0KGgo=';
    const res = await chat({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare' },
            { type: 'image_url', image_url: { url: 'https://img.example/cat.webp?x=1', detail: 'high' } },
            { type: 'image_url', image_url: { url: dataUrl } },
          ],
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(models.llmRequests.at(-1)!.promptMessages[0]!.content).toEqual([
      { type: 'text', data: 'Compare' },
      { type: 'image', url: 'https://img.example/cat.webp?x=1', base64_data: '', mime_type: 'image/webp', format: 'webp', detail: 'high' },
      { type: 'image', url: '', base64_data: 'iVBORw0KGgo=', mime_type: 'image/png', format: 'png', detail: 'low' },
    ]);
  });

  test('images to a model known to lack vision -> 400 at the part; Dify refusing images -> 400 too', async () => {
    const noVision = await startLlmHost(models, defaultSettings({ llm: { ...LLM_SELECTOR, features: ['tool-call'] } }));
    const before = models.llmRequests.length;
    try {
      const res = await fetch(`${noVision.v1}/chat/completions`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: 'what?' }, { type: 'image_url', image_url: { url: 'https://img.example/a.png' } }] }] }),
      });
      const err = await errorOf(res);
      expect(err).toMatchObject({ status: 400, param: 'messages[0].content[1].type', code: 'unsupported_value' });
      expect(err.message).toMatch(/does not accept images/);
      expect(models.llmRequests.length).toBe(before);
    } finally {
      await noVision.close();
    }
    const refusing = await startLlmHost(new FakeModels({ llm: () => new Error(ERROR_TEXTS.vision) }));
    try {
      const res = await fetch(`${refusing.v1}/chat/completions`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://img.example/a.png' } }] }] }),
      });
      const err = await errorOf(res);
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/cannot read images/);
    } finally {
      await refusing.close();
    }
  });

  test('what Dify cannot honour is a 400 with the param', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ n: 2 }, 'n'],
      [{ logprobs: true }, 'logprobs'],
      [{ modalities: ['text', 'audio'] }, 'modalities'],
      [{ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'f' } } }, 'tool_choice'],
      [{ messages: [{ role: 'narrator', content: 'x' }] }, 'messages[0].role'],
      [{ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: '', format: 'wav' } }] }] }, 'messages[0].content[0].type'],
      [{ messages: [] }, 'messages'],
    ];
    for (const [body, param] of cases) {
      const res = await chat({ messages: [{ role: 'user', content: 'x' }], ...body });
      const err = await errorOf(res);
      expect(err, JSON.stringify(body)).toMatchObject({ status: 400, param, type: 'invalid_request_error' });
    }
  });
});

describe('legacy functions', () => {
  test('functions in, function_call out', async () => {
    const legacy = await startLlmHost(new FakeModels({ llm: () => streamedToolCalls([{ id: 'call_x', name: 'lookup', args: ['{"q":1}'] }]) }));
    try {
      const res = await fetch(`${legacy.v1}/chat/completions`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x' }], functions: [{ name: 'lookup', parameters: { type: 'object' } }] }),
      });
      const body = (await res.json()) as { choices: Array<{ finish_reason: string; message: { function_call?: { name: string; arguments: string }; tool_calls?: unknown } }> };
      expect(body.choices[0]!.finish_reason).toBe('function_call');
      expect(body.choices[0]!.message.function_call).toEqual({ name: 'lookup', arguments: '{"q":1}' });
      expect(body.choices[0]!.message.tool_calls).toBeUndefined();

      const streamed = await fetch(`${legacy.v1}/chat/completions`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'x' }], functions: [{ name: 'lookup' }] }),
      });
      const chunks = (await readSse(streamed)).data.slice(0, -1).map((d) => JSON.parse(d) as { choices: Array<{ delta: { function_call?: { name?: string; arguments?: string }; tool_calls?: unknown }; finish_reason: string | null }> });
      const calls = chunks.map((c) => c.choices[0]!.delta.function_call).filter(Boolean);
      expect(calls[0]!.name).toBe('lookup');
      expect(calls.map((c) => c!.arguments ?? '').join('')).toBe('{"q":1}');
      expect(chunks.some((c) => c.choices[0]!.delta.tool_calls)).toBe(false);
      expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('function_call');
    } finally {
      await legacy.close();
    }
  });
});

describe('embeddings edge cases', () => {
  const embed = (body: Record<string, unknown>) =>
    fetch(`${host.v1}/embeddings`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'text-embedding-3-small', ...body }) });

  test('token-id arrays are refused with a hint to send text', async () => {
    for (const input of [[1, 2, 3], [[1, 2], [3]]]) {
      const err = await errorOf(await embed({ input }));
      expect(err).toMatchObject({ status: 400, param: 'input' });
      expect(err.message).toMatch(/send the text/i);
    }
  });

  test('dimensions: the model\'s own size is fine, anything else is a 400; empty input is a 400', async () => {
    expect((await embed({ input: 'x', dimensions: 8 })).status).toBe(200);
    expect(await errorOf(await embed({ input: 'x', dimensions: 4 }))).toMatchObject({ status: 400, param: 'dimensions' });
    expect(await errorOf(await embed({ input: '' }))).toMatchObject({ status: 400, param: 'input' });
    expect(await errorOf(await embed({ input: 'x', encoding_format: 'int8' }))).toMatchObject({ status: 400, param: 'encoding_format' });
  });

  test('texts go to Dify as one document batch', async () => {
    await embed({ input: ['a', 'b'] });
    expect(models.embedRequests.at(-1)).toMatchObject({ texts: ['a', 'b'], inputType: 'document', model: { model: 'text-embedding-3-small' } });
  });
});
