/**
 * webapp-skin: a hosted chat page for one Dify chat app, in four skins, with its own small stream API.
 * Routes (endpoints/webapp-skin/*.yaml): GET / (page), GET /assets/<path:file>, GET /api/config,
 * POST /api/chat (SSE), POST /api/stop, POST /api/suggested, POST /api/feedback, POST /api/speech,
 * POST /api/transcribe, POST /api/login, POST /api/logout.
 */
import type { Request, RequestHandler, Response } from 'express';
import { DifyError } from '../../backend/types.js';
import { clientAbortSignal, endpointContext, type EndpointContext } from '../../host/context.js';
import type { GroupModule } from '../types.js';
import { followUps, parseAnswerRef, parseRating, rateAnswer, speech } from './after-answer.js';
import { NoAppError } from './apps.js';
import { MAX_AUDIO_BYTES, parseRecording, transcribe } from './dictation.js';
import { loadAssets } from './assets.js';
import { clearSessionCookie, isAuthorized, passwordMatches, setSessionCookie } from './auth.js';
import { parseChatBody, prepareRun, stopRun, streamChat } from './chat.js';
import { buildConfig, pageLanguage, pageSkin } from './config.js';
import { renderLogin, renderPage } from './page.js';
import { BodyError, basePath, readBody } from './request.js';
import { parseSettings, type WebappSettings } from './settings.js';

/** A question with up to four scaled-down images; the daemon passes at most 10 MiB to a plugin. */
const CHAT_BODY_LIMIT = 10 * 1024 * 1024;

const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // Answers may show images from Dify's file host or from anywhere a markdown answer points.
  'img-src * data: blob:',
  'media-src * data: blob:',
  "connect-src 'self'",
  "font-src 'self' data:",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

function setup(res: Response): { ctx: EndpointContext; settings: WebappSettings } {
  const ctx = endpointContext(res);
  return { ctx, settings: parseSettings(ctx.settings) };
}

function apiError(res: Response, status: number, message: string, code: string, param?: string): void {
  res.status(status).json({ error: { message, code, ...(param ? { param } : {}) } });
}

/** Wraps async handlers: a thrown error becomes a clear JSON error, never a hang. */
function handler(fn: (req: Request, res: Response) => Promise<void> | void): RequestHandler {
  return (req, res) => {
    Promise.resolve()
      .then(() => fn(req, res))
      .catch((err: unknown) => {
        if (res.headersSent) {
          if (!res.writableEnded) res.end();
          return;
        }
        if (err instanceof BodyError) return apiError(res, err.status, err.message, 'invalid_request');
        if (err instanceof NoAppError) return apiError(res, 503, err.message, 'no_app');
        if (err instanceof DifyError) return apiError(res, err.status >= 400 && err.status < 600 ? err.status : 502, err.message, err.code);
        // Anything else: logged here, never shown (no stack traces to visitors).
        try {
          endpointContext(res).log.error({ err: (err as Error)?.message }, 'webapp-skin: handler failed');
        } catch {
          // no context: nothing to log to
        }
        apiError(res, 500, 'Internal error.', 'internal_error');
      });
  };
}

function requireAuth(req: Request, res: Response, ctx: EndpointContext, settings: WebappSettings): boolean {
  if (isAuthorized(req, settings.password, ctx.endpointId)) return true;
  apiError(res, 401, 'A password is required.', 'unauthorized');
  return false;
}

function pageHeaders(res: Response): void {
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
}

const page = handler(async (req, res) => {
  const { ctx, settings } = setup(res);
  // A page served without its trailing slash would resolve its relative URLs one level too high.
  const path = req.originalUrl.split('?')[0] ?? '/';
  if (!req.headers['dify-hook-url'] && !path.endsWith('/')) {
    const query = req.originalUrl.slice(path.length);
    res.redirect(308, `${path}/${query}`);
    return;
  }
  pageHeaders(res);
  const lang = pageLanguage(req, settings.language);
  if (!isAuthorized(req, settings.password, ctx.endpointId)) {
    res.status(200).send(renderLogin(pageSkin(req, settings), lang, req.query.login === 'failed'));
    return;
  }
  const wanted = typeof req.query.app === 'string' ? req.query.app : undefined;
  res.status(200).send(renderPage(await buildConfig(req, ctx, settings, wanted)));
});

const asset = handler((req, res) => {
  const params = req.params as Record<string, string | string[] | undefined>;
  let file = params.file ?? params[0] ?? req.path.replace(/^.*?\/assets\//, '');
  if (Array.isArray(file)) file = file.join('/');
  const found = loadAssets().get(String(file).replace(/^\/+/, ''));
  if (!found) {
    res.status(404).type('text/plain').send('Not found');
    return;
  }
  const etag = `"${found.hash}"`;
  res.setHeader('Content-Type', found.contentType);
  res.setHeader('ETag', etag);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // Versioned URLs (?v=<hash>, as the page links them) never change; anything else revalidates.
  res.setHeader('Cache-Control', req.query.v === found.hash ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (req.headers['if-none-match'] === etag) {
    res.status(304).end();
    return;
  }
  res.status(200).send(found.body);
});

const config = handler(async (req, res) => {
  const { ctx, settings } = setup(res);
  if (!requireAuth(req, res, ctx, settings)) return;
  const wanted = typeof req.query.app === 'string' ? req.query.app : undefined;
  res.setHeader('Cache-Control', 'no-store');
  res.json(await buildConfig(req, ctx, settings, wanted));
});

const chat = handler(async (req, res) => {
  const { ctx, settings } = setup(res);
  if (!requireAuth(req, res, ctx, settings)) return;
  const body = parseChatBody(await readBody(req, CHAT_BODY_LIMIT));
  if ('error' in body) return apiError(res, 400, body.error, 'invalid_request', body.param);
  const run = await prepareRun(ctx, settings, body);
  if ('error' in run) return apiError(res, 400, run.error, 'invalid_request', run.param);
  await streamChat(req, res, ctx, body, run);
});

const stop = handler(async (req, res) => {
  const { ctx, settings } = setup(res);
  if (!requireAuth(req, res, ctx, settings)) return;
  const body = await readBody(req);
  res.json({ stopped: stopRun(ctx, body.uid, body.runId) });
});

const suggested = handler(async (req, res) => {
  const { ctx, settings } = setup(res);
  if (!requireAuth(req, res, ctx, settings)) return;
  const ref = parseAnswerRef(await readBody(req, 16 * 1024));
  if ('error' in ref) return apiError(res, 400, ref.error, 'invalid_request', ref.param);
  res.setHeader('Cache-Control', 'no-store');
  res.json({ questions: await followUps(ctx, settings, ref) });
});

const feedback = handler(async (req, res) => {
  const { ctx, settings } = setup(res);
  if (!requireAuth(req, res, ctx, settings)) return;
  const body = await readBody(req, 16 * 1024);
  const ref = parseAnswerRef(body);
  if ('error' in ref) return apiError(res, 400, ref.error, 'invalid_request', ref.param);
  const rating = parseRating(body.rating);
  if (rating !== null && typeof rating === 'object') return apiError(res, 400, rating.error, 'invalid_request', rating.param);
  if (!(await rateAnswer(ctx, settings, ref, rating))) return apiError(res, 501, 'Ratings are not available here.', 'not_supported');
  res.json({ ok: true });
});

const speak = handler(async (req, res) => {
  const { ctx, settings } = setup(res);
  if (!requireAuth(req, res, ctx, settings)) return;
  const ref = parseAnswerRef(await readBody(req, 16 * 1024));
  if ('error' in ref) return apiError(res, 400, ref.error, 'invalid_request', ref.param);
  const signal = clientAbortSignal(req, res);
  const spoken = await speech(ctx, settings, ref, signal);
  if (!spoken) return apiError(res, 501, 'Reading aloud in the app\'s voice is not available here.', 'not_supported');
  res.status(200);
  res.setHeader('Content-Type', spoken.contentType);
  res.setHeader('Cache-Control', 'no-store');
  for await (const chunk of spoken.audio) {
    if (signal.aborted) break;
    res.write(chunk);
  }
  res.end();
});

const dictate = handler(async (req, res) => {
  const { ctx, settings } = setup(res);
  if (!requireAuth(req, res, ctx, settings)) return;
  // base64 is 4/3 of the audio, plus the JSON around it.
  const recording = parseRecording(await readBody(req, Math.ceil((MAX_AUDIO_BYTES * 4) / 3) + 4096));
  if ('error' in recording) return apiError(res, 400, recording.error, 'invalid_request', recording.param);
  const text = await transcribe(ctx, settings, recording);
  if (text === undefined) return apiError(res, 501, 'Voice input through the app is not available here.', 'not_supported');
  res.setHeader('Cache-Control', 'no-store');
  res.json({ text });
});

const FAILED_LOGIN_DELAY_MS = 400;

const login = handler(async (req, res) => {
  const { ctx, settings } = setup(res);
  const body = await readBody(req, 16 * 1024);
  const wantsJson = String(req.headers.accept ?? '').includes('application/json');
  const given = typeof body.password === 'string' ? body.password : '';
  const ok = settings.password === undefined || passwordMatches(given, settings.password);
  res.setHeader('Cache-Control', 'no-store');
  if (!ok) {
    // Slows guessing a little; the check itself is constant-time.
    await new Promise((r) => setTimeout(r, FAILED_LOGIN_DELAY_MS));
    if (wantsJson) return apiError(res, 401, 'Wrong password.', 'unauthorized');
    res.redirect(303, `${basePath(req)}?login=failed`);
    return;
  }
  if (settings.password !== undefined) setSessionCookie(req, res, settings.password, ctx.endpointId);
  if (wantsJson) res.json({ ok: true });
  else res.redirect(303, basePath(req));
});

const logout = handler((req, res) => {
  const { ctx } = setup(res);
  clearSessionCookie(req, res, ctx.endpointId);
  res.json({ ok: true });
});

export const group: GroupModule = {
  name: 'webapp-skin',
  handlers: { page, asset, config, chat, stop, suggested, feedback, speak, dictate, login, logout },
};
