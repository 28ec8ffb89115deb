/** GET /v1/models and GET /v1/models/{id} (openai-compat.md §5.1). */
import type { Request, Response } from 'express';
import { modelNotFound, sendError } from '../../openai/errors.js';
import { sendJson } from '../../openai/json-response.js';
import { listApps } from './apps.js';
import { prepareResponse } from './http.js';
import { authorize, logUnexpected } from './chat-completions.js';

/** A stable `created` (the Dify apps do not expose one): 2026-01-01. */
const CREATED = 1767225600;

function modelObject(id: string, mode: string): Record<string, unknown> {
  return { id, object: 'model', created: CREATED, owned_by: 'dify', dify_app_mode: mode };
}

export async function listModels(req: Request, res: Response): Promise<void> {
  prepareResponse(req, res);
  try {
    const { ctx, settings } = authorize(req, res);
    const apps = await listApps(ctx, settings);
    sendJson(res, 200, JSON.stringify({ object: 'list', data: apps.map((a) => modelObject(a.modelId, a.info.mode)) }));
  } catch (err) {
    sendError(res, err);
    logUnexpected(res, err);
  }
}

function requestedModelId(req: Request): string {
  const p = (req.params as Record<string, unknown>).model_id ?? (req.params as Record<string, unknown>).model;
  let raw = Array.isArray(p) ? p.join('/') : typeof p === 'string' ? p : '';
  if (!raw) {
    const m = /\/models\/(.+)$/.exec(req.path);
    raw = m ? m[1]! : '';
  }
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export async function retrieveModel(req: Request, res: Response): Promise<void> {
  prepareResponse(req, res);
  try {
    const { ctx, settings } = authorize(req, res);
    const id = requestedModelId(req);
    const apps = await listApps(ctx, settings);
    const app = apps.find((a) => a.modelId === id);
    if (!app) throw modelNotFound(id);
    sendJson(res, 200, JSON.stringify(modelObject(app.modelId, app.info.mode)));
  } catch (err) {
    sendError(res, err);
    logUnexpected(res, err);
  }
}
