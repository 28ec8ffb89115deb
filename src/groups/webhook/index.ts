/**
 * The webhook group: an incoming webhook (GitHub, a review platform, Slack, anything that POSTs)
 * starts a run of one Dify app. Routes (endpoints/webhook/*.yaml):
 *   POST /webhook, /webhook/<name>  -> `deliver`
 *   GET  /webhook, /webhook/<name>  -> `challenge` (echo of a verification challenge)
 *
 * Order of a delivery: read the raw bytes (size limit) -> verify (bearer / HMAC over the bytes) ->
 * answer url_verification challenges -> replay check (claimed before the run starts) -> inputs ->
 * run (sync: wait and answer with the outcome; async: 202 now, outcome logged).
 */
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { AppHandle, AppInfo, AppInputField, AppRunRequest } from '../../backend/types.js';
import { DifyError } from '../../backend/types.js';
import { clientAbortSignal, endpointContext, type EndpointContext } from '../../host/context.js';
import type { GroupModule } from '../types.js';
import { parseBody, readRawBody, type ParsedBody } from './body.js';
import { DeliveryLedger, deliveryIdOf } from './deliveries.js';
import { WebhookHttpError } from './errors.js';
import { buildInputs } from './inputs.js';
import { runApp, takesQuery, type RunOutcome } from './run.js';
import { readSettings, type WebhookSettings } from './settings.js';
import { safeEqual, verifyDelivery } from './verify.js';

/** Header that tells the sender which response mode was actually used. */
export const MODE_HEADER = 'X-Webhook-Response-Mode';
export const ASYNC_UNAVAILABLE_NOTE =
  'async response mode is not available in plugin mode (the plugin daemon cancels the run once the HTTP answer is complete); this delivery ran synchronously';
const MAX_CHALLENGE_LENGTH = 2048;

/**
 * Whether the host keeps work going after the HTTP answer is complete. Standalone: yes. Plugin:
 * no, the daemon cancels the session (and its reverse invocations) when the request ends; see
 * the README section "Webhooks: why plugin mode runs synchronously". Absent means no.
 */
function hostRunsInBackground(ctx: EndpointContext): boolean {
  return ctx.backgroundWork === true;
}

function sendError(res: Response, error: WebhookHttpError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.status(error.status).json(error.toBody());
}

/** The `<name>` segment of /webhook/<name>, however the host's router exposes it. */
function routeName(req: Request): string | undefined {
  const param = (req.params as Record<string, string | undefined> | undefined)?.name;
  if (typeof param === 'string' && param !== '') return param;
  const match = /\/webhook\/([^/]+)\/?$/.exec(req.path);
  return match ? decodeURIComponent(match[1]!) : undefined;
}

function queryParams(req: Request): URLSearchParams {
  const url = req.originalUrl || req.url;
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}

function echoChallenge(res: Response, challenge: string, asJson: boolean): void {
  if (challenge.length > MAX_CHALLENGE_LENGTH) {
    sendError(res, new WebhookHttpError(400, 'invalid_challenge', 'The challenge is too long.'));
    return;
  }
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-store');
  if (asJson) res.status(200).json({ challenge });
  else res.status(200).type('text/plain').send(challenge);
}

/** Slack Events API handshake: `{"type":"url_verification","challenge":"..."}`. */
function urlVerificationChallenge(body: ParsedBody): string | undefined {
  if (body.kind !== 'json' || body.document === null || typeof body.document !== 'object') return undefined;
  const doc = body.document as { type?: unknown; challenge?: unknown };
  return doc.type === 'url_verification' && typeof doc.challenge === 'string' ? doc.challenge : undefined;
}

/** GET /webhook[/<name>]: echoes `challenge` / `hub.challenge` (Meta checks hub.verify_token against the secret). */
const challenge: RequestHandler = (req, res) => {
  const ctx = endpointContext(res);
  let settings: WebhookSettings;
  try {
    settings = readSettings(ctx.settings);
  } catch (error) {
    if (error instanceof WebhookHttpError) return sendError(res, error);
    throw error;
  }
  const params = queryParams(req);
  const value = params.get('hub.challenge') ?? params.get('challenge');
  if (value === null) {
    res.status(200).json({ status: 'ready', message: 'POST deliveries to this URL.' });
    return;
  }
  const verifyToken = params.get('hub.verify_token');
  if (verifyToken !== null && settings.verification !== 'none' && !safeEqual(Buffer.from(verifyToken), Buffer.from(settings.secret))) {
    sendError(res, new WebhookHttpError(403, 'invalid_verify_token', 'hub.verify_token does not match this webhook.'));
    return;
  }
  echoChallenge(res, value, false);
};

interface Prepared {
  app: AppHandle;
  info: AppInfo;
  request: AppRunRequest;
}

async function prepareRun(ctx: EndpointContext, settings: WebhookSettings, body: ParsedBody, name: string | undefined): Promise<Prepared> {
  let app: AppHandle;
  try {
    app = ctx.app(settings.app);
  } catch (error) {
    throw new WebhookHttpError(500, 'endpoint_misconfigured', `This endpoint is not configured correctly (check the setting: app): ${error instanceof Error ? error.message : String(error)}`);
  }
  let info: AppInfo;
  try {
    info = await app.info();
  } catch (error) {
    throw upstreamError(error, 'The webhook could not read its Dify app');
  }
  let declared: AppInputField[] | undefined;
  try {
    declared = (await app.parameters()).inputs;
  } catch (error) {
    ctx.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'webhook: app parameters unavailable, sending inputs unconverted');
  }
  const inputs = buildInputs({
    declared,
    payloadInput: settings.payloadInput,
    payloadText: body.text,
    payloadDocument: body.document,
    mapping: settings.inputMapping,
    nameInput: settings.nameInput,
    name,
  });
  const request: AppRunRequest = { inputs, user: name ? `webhook:${name}` : 'webhook', streaming: true };
  // Chat apps take the payload as their message. (An empty body sends no query: Dify says what it needs.)
  if (takesQuery(info.mode) && body.text !== '') request.query = body.text;
  return { app, info, request };
}

function upstreamError(error: unknown, prefix: string): WebhookHttpError {
  if (error instanceof DifyError) {
    if (error.status === 429) {
      return new WebhookHttpError(503, error.code, `${prefix}: ${error.message}`, error.retryAfterSeconds ? { 'Retry-After': String(error.retryAfterSeconds) } : {});
    }
    return new WebhookHttpError(502, error.code, `${prefix}: ${error.message}`);
  }
  return new WebhookHttpError(502, 'upstream_error', `${prefix}: ${error instanceof Error ? error.message : String(error)}`);
}

/** The JSON a sync answer carries for a finished run. */
function outcomeBody(outcome: RunOutcome & { ok: true }): Record<string, unknown> {
  if (outcome.kind === 'workflow') {
    return { status: outcome.status, workflow_run_id: outcome.workflowRunId ?? null, outputs: outcome.outputs };
  }
  return {
    status: 'succeeded',
    answer: outcome.answer,
    ...(outcome.messageId ? { message_id: outcome.messageId } : {}),
    ...(outcome.conversationId ? { conversation_id: outcome.conversationId } : {}),
    ...(outcome.workflowRunId ? { workflow_run_id: outcome.workflowRunId } : {}),
  };
}

function logOutcome(log: Logger, runId: string, outcome: RunOutcome): void {
  if (outcome.ok) {
    log.info(
      { run_id: runId, workflow_run_id: outcome.workflowRunId, status: outcome.kind === 'workflow' ? outcome.status : 'succeeded' },
      'webhook run finished',
    );
  } else {
    log.error(
      { run_id: runId, workflow_run_id: outcome.workflowRunId, code: outcome.code, error: outcome.message },
      'webhook run failed',
    );
  }
}

/** POST /webhook[/<name>]: one delivery. */
const deliver: RequestHandler = async (req, res) => {
  const ctx = endpointContext(res);
  const ledger = new DeliveryLedger(ctx.store, ctx.endpointId);
  let claimedId: string | undefined;
  /**
   * Forgets a claimed delivery that is about to be answered with an error, so the sender's retry
   * runs it. Before the answer: in the plugin the session (and its storage) ends with the answer.
   */
  const releaseClaim = async (): Promise<void> => {
    if (claimedId === undefined) return;
    const id = claimedId;
    claimedId = undefined;
    await ledger.release(id).catch((error: unknown) => ctx.log.warn({ err: String(error) }, 'webhook: could not release delivery id'));
  };
  try {
    const settings = readSettings(ctx.settings);
    const raw = await readRawBody(req);
    verifyDelivery(settings, req.headers, raw);
    const body = parseBody(raw, req.headers['content-type']);

    const urlChallenge = urlVerificationChallenge(body);
    if (urlChallenge !== undefined) return echoChallenge(res, urlChallenge, true);

    const name = routeName(req);
    const runId = randomUUID();
    const delivery = deliveryIdOf(req.headers, raw);
    let claim;
    try {
      claim = await ledger.claim(delivery.id, runId);
    } catch (error) {
      ctx.log.error({ err: error instanceof Error ? error.message : String(error) }, 'webhook: replay store unavailable');
      throw new WebhookHttpError(503, 'replay_store_unavailable', 'The webhook cannot check for repeated deliveries right now; retry later.');
    }
    if (!claim.fresh) {
      ctx.log.info({ delivery_source: delivery.source, run_id: claim.runId }, 'webhook: repeated delivery ignored');
      res.status(200).json({ status: 'duplicate', ...(claim.runId ? { run_id: claim.runId } : {}) });
      return;
    }
    claimedId = delivery.id;

    const prepared = await prepareRun(ctx, settings, body, name);
    ctx.log.info({ run_id: runId, delivery_source: delivery.source, mode: prepared.info.mode, name }, 'webhook delivery accepted');

    const background = hostRunsInBackground(ctx);
    if (settings.responseMode === 'async' && background) {
      claimedId = undefined; // answered 202: the sender will not retry, keep the claim
      res.setHeader(MODE_HEADER, 'async');
      res.status(202).json({ status: 'accepted', run_id: runId });
      // The run outlives the request: its own signal, its outcome logged, never thrown into the void.
      runApp(prepared.app, prepared.request, new AbortController().signal)
        .then((outcome) => logOutcome(ctx.log, runId, outcome))
        .catch((error: unknown) => ctx.log.error({ run_id: runId, err: String(error) }, 'webhook run failed'));
      return;
    }

    const note = settings.responseMode === 'async' ? { note: ASYNC_UNAVAILABLE_NOTE } : {};
    const signal = background ? new AbortController().signal : clientAbortSignal(req, res);
    const outcome = await runApp(prepared.app, prepared.request, signal);
    logOutcome(ctx.log, runId, outcome);
    res.setHeader(MODE_HEADER, 'sync');
    if (outcome.ok) {
      claimedId = undefined;
      res.status(200).json({ ...outcomeBody(outcome), run_id: runId, ...note });
      return;
    }
    await releaseClaim();
    if (outcome.retryAfterSeconds) res.setHeader('Retry-After', String(outcome.retryAfterSeconds));
    res.status(outcome.httpStatus === 429 ? 503 : 502).json({
      status: 'failed',
      code: outcome.code,
      message: outcome.message,
      run_id: runId,
      ...(outcome.workflowRunId ? { workflow_run_id: outcome.workflowRunId } : {}),
      ...note,
    });
  } catch (error) {
    await releaseClaim();
    if (!(error instanceof WebhookHttpError)) throw error;
    if (!res.headersSent) sendError(res, error);
  }
};

export const group: GroupModule = {
  name: 'webhook',
  handlers: { deliver, challenge },
};
