/**
 * POST api/chat: runs the app and streams the answer to the page as SSE, one PageEvent per `data:` line.
 * POST api/stop: stops a run by the id the page gave it. Behind Dify the plugin is not told when the
 * browser goes away, so the page says so itself.
 */
import type { Request, Response } from 'express';
import { DifyError, type DifyFileInput } from '../../backend/types.js';
import { clientAbortSignal, type EndpointContext } from '../../host/context.js';
import { defaultInputs, hasConversation, textInputVariable } from '../../dify/app-inputs.js';
import { parametersOrNothing, resolveApp, type ResolvedApp } from './apps.js';
import { imageSupport, parseImages, uploadImages, type PageImage } from './images.js';
import { checkPageInputs, pageFormFields } from './inputs.js';
import type { WebappSettings } from './settings.js';
import { PageTranslator, type PageEvent } from './translate.js';

const KEEPALIVE_MS = 15_000;
const MAX_QUERY_CHARS = 32_000;
const ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

/** Runs in flight, by endpoint + browser + run id: a browser can stop only its own runs. */
const running = new Map<string, AbortController>();

function runKey(ctx: EndpointContext, uid: string, runId: string): string {
  return `${ctx.endpointId}\u0000${uid}\u0000${runId}`;
}

export interface ChatBody {
  query: string;
  uid: string;
  runId: string;
  conversationId?: string;
  app?: string;
  /** Values for the app's form, checked against it in prepareRun. */
  inputs?: unknown;
  images?: PageImage[];
}

export function parseChatBody(body: Record<string, unknown>): ChatBody | { error: string; param: string } {
  const { query, uid, runId, conversationId, app, inputs } = body;
  const images = parseImages(body.images);
  if ('error' in images) return images;
  if (typeof query !== 'string' || query.trim() === '') return { error: 'query must be a non-empty string', param: 'query' };
  if (query.length > MAX_QUERY_CHARS) return { error: `query is longer than ${MAX_QUERY_CHARS} characters`, param: 'query' };
  if (typeof uid !== 'string' || !ID_PATTERN.test(uid)) return { error: 'uid must be 8-64 letters, digits, "-" or "_"', param: 'uid' };
  if (typeof runId !== 'string' || !ID_PATTERN.test(runId)) return { error: 'runId must be 8-64 letters, digits, "-" or "_"', param: 'runId' };
  if (conversationId !== undefined && conversationId !== null && (typeof conversationId !== 'string' || conversationId.length > 128))
    return { error: 'conversationId must be a string', param: 'conversationId' };
  if (app !== undefined && app !== null && typeof app !== 'string') return { error: 'app must be a string', param: 'app' };
  return {
    query,
    uid,
    runId,
    ...(typeof conversationId === 'string' && conversationId ? { conversationId } : {}),
    ...(typeof app === 'string' && app ? { app } : {}),
    ...(inputs !== undefined && inputs !== null ? { inputs } : {}),
    ...(images.images.length > 0 ? { images: images.images } : {}),
  };
}

export interface PreparedRun {
  app: ResolvedApp;
  inputs: Record<string, unknown>;
  files?: DifyFileInput[];
  /** Apps without a conversation (text generators, workflows): the input that carries the message. */
  textVariable?: string;
}

/**
 * The app, inputs and files of a run: the app's defaults under what the page's form sent (checked),
 * the page's images uploaded to Dify (where the app takes images), and for apps without a
 * conversation the input the message goes into.
 */
export async function prepareRun(ctx: EndpointContext, settings: WebappSettings, body: ChatBody): Promise<PreparedRun | { error: string; param: string }> {
  const app = await resolveApp(ctx, settings, body.app);
  const params = await parametersOrNothing(ctx, app);
  const inputs = defaultInputs(params);
  const run: PreparedRun = { app, inputs };
  if (!hasConversation(app.info.mode)) run.textVariable = textInputVariable(params);
  if (body.inputs !== undefined) {
    const checked = checkPageInputs(pageFormFields(app, params), body.inputs);
    if ('error' in checked) return checked;
    Object.assign(inputs, checked.inputs);
  }
  if (!body.images) return run;
  const support = imageSupport(app.handle, params);
  if (!support) return { error: 'This app does not take images.', param: 'images' };
  if (body.images.length > support.max) return { error: `This app takes at most ${support.max} image${support.max === 1 ? '' : 's'} per message.`, param: 'images' };
  const uploaded = await uploadImages(app.handle, support, body.images, difyUser(body.uid));
  Object.assign(inputs, uploaded.inputs);
  if (uploaded.files) run.files = uploaded.files;
  return run;
}

/** A browser's own id (kept in its storage) or a run id: what the page may send as one. */
export function isBrowserId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** The Dify `user` for a browser: stable per browser, so its conversation ids stay valid. */
export function difyUser(uid: string): string {
  return `webapp-${uid}`;
}

export async function streamChat(req: Request, res: Response, ctx: EndpointContext, body: ChatBody, run: PreparedRun): Promise<void> {
  const { app, files, textVariable } = run;
  // Text generators and workflows take the message as an input and keep no conversation.
  const inputs = textVariable ? { ...run.inputs, [textVariable]: body.query } : run.inputs;

  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();

  const send = (events: PageEvent[]) => {
    if (events.length && !res.writableEnded) res.write(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join(''));
  };
  const keepalive = setInterval(() => {
    if (!res.writableEnded) res.write(': keep-alive\n\n');
  }, KEEPALIVE_MS);

  const stopper = new AbortController();
  const key = runKey(ctx, body.uid, body.runId);
  running.set(key, stopper);
  const signal = AbortSignal.any([stopper.signal, clientAbortSignal(req, res)]);
  const translator = new PageTranslator(app.info.mode);
  let conversationId = textVariable ? undefined : body.conversationId;
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      let produced = false;
      try {
        const events = abortable(app.handle.run(
          { query: body.query, inputs, user: difyUser(body.uid), streaming: true, ...(files ? { files } : {}), ...(conversationId ? { conversationId } : {}) },
          signal,
        ), signal);
        for await (const event of events) {
          produced = true;
          send(translator.push(event));
          if (signal.aborted) break;
        }
        break;
      } catch (err) {
        // A conversation Dify no longer knows (deleted, other user): start a fresh one once.
        if (!produced && conversationId && err instanceof DifyError && err.status === 404 && !signal.aborted) {
          conversationId = undefined;
          send([{ t: 'meta', reset: true }]);
          continue;
        }
        throw err;
      }
    }
    send(translator.finish(signal.aborted));
  } catch (err) {
    if (signal.aborted) send(translator.finish(true));
    else {
      const message = err instanceof DifyError ? err.message : 'The app could not answer. Please try again.';
      if (!(err instanceof DifyError)) ctx.log.error({ err: (err as Error)?.message }, 'webapp-skin: run failed');
      send([{ t: 'error', message, ...(err instanceof DifyError ? { code: err.code } : {}) }]);
    }
  } finally {
    clearInterval(keepalive);
    running.delete(key);
    if (!res.writableEnded) res.end();
  }
}

export function stopRun(ctx: EndpointContext, uid: unknown, runId: unknown): boolean {
  if (typeof uid !== 'string' || typeof runId !== 'string') return false;
  const key = runKey(ctx, uid, runId);
  const controller = running.get(key);
  if (!controller) return false;
  controller.abort();
  running.delete(key);
  return true;
}

/** Iterates until the source ends or the signal fires, whichever comes first (a stalled upstream cannot hold a stop). */
async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  try {
    while (true) {
      const next = await Promise.race([it.next(), aborted]);
      if (next === 'aborted' || next.done) return;
      yield next.value;
    }
  } finally {
    // Tell the source we are done; do not wait for a source that ignores it.
    void Promise.resolve(it.return?.()).catch(() => undefined);
  }
}
