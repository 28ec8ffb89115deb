/** The plugin host's AppHandle over a session double shaped like the shim's DifySession. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { blockingToEvents, createPluginAppHandle, difyErrorFromInvocation, parseInputForm } from '../../src/backend/plugin-apps.js';
import { DifyError } from '../../src/backend/types.js';
import { blockingBody, chatStream, workflowStream } from '../fakes/dify-apps.js';

const log = pino({ level: 'silent' });

function session(over: Record<string, unknown> = {}) {
  const calls: Array<Record<string, unknown>> = [];
  return {
    calls,
    invokeApp(req: Record<string, unknown>) {
      calls.push(req);
      if (req.response_mode === 'blocking') return Promise.resolve(blockingBody('chat', chatStream({ answer: 'Blocking answer.' })));
      return (async function* () {
        yield* chatStream({ answer: 'Streamed answer.' });
      })();
    },
    fetchApp: async () => ({ name: 'Plugin App', mode: 'chat', user_input_form: [{ 'text-input': { variable: 'city', label: 'City', required: true, max_length: 48, default: '' } }, { select: { variable: 'tone', required: false, options: ['a', 'b'], default: 'a' } }] }),
    uploadFile: async () => ({ url: 'http://127.0.0.1:9/upload' }),
    ...over,
  };
}

async function collect(it: AsyncIterable<unknown>) {
  const out = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('plugin app handle', () => {
  it('info and parameters from fetch_app', async () => {
    const h = createPluginAppHandle(session(), { app_id: 'app-9' }, log);
    expect(await h.info()).toEqual({ id: 'app-9', name: 'Plugin App', mode: 'chat' });
    const p = await h.parameters();
    expect(p.inputs).toEqual([
      { variable: 'city', type: 'text-input', label: 'City', required: true, maxLength: 48 },
      { variable: 'tone', type: 'select', required: false, options: ['a', 'b'], default: 'a' },
    ]);
    expect(h.fileTransfer).toBe('upload_only');
  });

  it('streaming run sends the daemon request and yields the events', async () => {
    const s = session();
    const h = createPluginAppHandle(s, { app_id: 'app-9' }, log);
    const events = (await collect(h.run({ query: 'q', inputs: { a: 1 }, user: 'u', conversationId: 'c1', streaming: true }, new AbortController().signal))) as Array<{ event: string }>;
    expect(s.calls[0]).toEqual({ app_id: 'app-9', inputs: { a: 1 }, query: 'q', conversation_id: 'c1', user: 'u', response_mode: 'streaming' });
    expect(events.map((e) => e.event).at(-1)).toBe('message_end');
  });

  it('a non-streaming request still streams upstream; blocking bodies map to terminal events', async () => {
    const s = session();
    const h = createPluginAppHandle(s, 'app-9', log);
    const events = (await collect(h.run({ query: 'q', inputs: {}, user: 'u', streaming: false }, new AbortController().signal))) as Array<Record<string, unknown>>;
    expect(s.calls[0]!.response_mode).toBe('streaming');
    expect(events.map((e) => e.event).at(-1)).toBe('message_end');
    const chat = blockingToEvents(blockingBody('chat', chatStream({ answer: 'Blocking answer.' })));
    expect(chat.map((e) => e.event)).toEqual(['message', 'message_end']);
    expect(chat[0]!.answer).toBe('Blocking answer.');
    const wf = blockingToEvents(blockingBody('workflow', workflowStream({ answer: 'W' })));
    expect(wf[0]).toMatchObject({ event: 'workflow_finished', data: { status: 'succeeded', outputs: { result: 'W' } } });
  });

  it('invocation failures become classified DifyErrors before the first event', async () => {
    const failing = session({
      invokeApp: () =>
        (async function* () {
          throw new Error('read app failed: request failed: {"code": "not_found", "message": "Conversation Not Exists.", "status": 404}');
        })(),
    });
    const h = createPluginAppHandle(failing, 'app-9', log);
    const err = await collect(h.run({ query: 'q', inputs: {}, user: 'u', streaming: true }, new AbortController().signal)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DifyError);
    expect((err as DifyError).status).toBe(404);
    expect(difyErrorFromInvocation(new Error('request failed: Too many requests. Please try again later.')).status).toBe(429);
    expect(difyErrorFromInvocation(new Error('request failed: city is required in input form')).code).toBe('invalid_param');
    expect(parseInputForm(null)).toEqual([]);
  });
});

describe('reverse invocations too large for the daemon', () => {
  it('the shim refusing an invoke line over 5 MiB becomes DifyError request_too_large 413, before any event', async () => {
    // shaped like the shim's ReverseInvocationTooLargeError (matched by name)
    const refusal = Object.assign(new Error('the app invocation is 6291456 bytes; the daemon reads lines of at most 5242880 bytes'), { name: 'ReverseInvocationTooLargeError' });
    const refusing = session({
      invokeApp: () =>
        (async function* () {
          throw refusal;
        })(),
    });
    const h = createPluginAppHandle(refusing, 'app-9', log);
    const err = await collect(h.run({ query: 'q'.repeat(100), inputs: {}, user: 'u', streaming: true }, new AbortController().signal)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DifyError);
    expect(err).toMatchObject({ code: 'request_too_large', status: 413 });
    // the name decides, whatever words the message uses ("invalid" and "timeout" have their own rules)
    const worded = Object.assign(new Error('invalid: timeout while sizing'), { name: 'ReverseInvocationTooLargeError' });
    expect(difyErrorFromInvocation(worded)).toMatchObject({ code: 'request_too_large', status: 413 });
  });
});

describe('plugin app handle with the real fetch_app answer (parameters only)', () => {
  it('names the app from its id, learns the mode from the first run, retries a workflow with its text input', async () => {
    const calls: Array<Record<string, any>> = [];
    const s = {
      fetchApp: async () => ({ opening_statement: '', suggested_questions: [], user_input_form: [{ paragraph: { variable: 'text', label: 'Text', required: true, type: 'paragraph' } }] }),
      uploadFile: async () => ({ url: '' }),
      invokeApp(req: Record<string, any>) {
        calls.push(req);
        return (async function* () {
          if (!req.inputs.text) throw new Error('read app failed: request failed: text is required in input form');
          yield* workflowStream({ answer: 'done' });
        })();
      },
    };
    const h = createPluginAppHandle(s, { app_id: 'wf-app-000111' }, log);
    const info = await h.info();
    expect(info.name).toBe('dify-app-wf-app-0');
    expect(info.mode).toBe('chat');
    const events = (await collect(h.run({ query: 'summarise this', inputs: {}, user: 'u', streaming: true }, new AbortController().signal))) as Array<{ event: string }>;
    expect(calls).toHaveLength(2);
    expect(calls[1]!.inputs).toEqual({ text: 'summarise this' });
    expect(events.at(-1)!.event).toBe('workflow_finished');
    expect((await createPluginAppHandle(s, { app_id: 'wf-app-000111' }, log).info()).mode).toBe('workflow');
  });
});
