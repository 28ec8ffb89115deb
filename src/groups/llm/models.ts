/**
 * GET /v1/models and GET /v1/models/{id}: answered from the settings alone (no upstream call),
 * so model pickers stay fast even when Dify is slow.
 */
import type { Request, Response } from 'express';
import { endpointContext } from '../../host/context.js';
import { modelNotFound } from './errors.js';
import { checkKey, prepareResponse } from './http.js';
import { matchesModel, readSettings, type LlmSettings } from './settings.js';

/** A fixed `created` (the spec wants an integer; Dify does not say when a model appeared). */
const CREATED = 1_700_000_000;

function modelObjects(settings: LlmSettings): Array<Record<string, unknown>> {
  const owner = (provider: string) => provider.split('/').filter(Boolean).at(-1) ?? 'dify';
  const out: Array<Record<string, unknown>> = [
    { id: settings.llmId, object: 'model', created: CREATED, owned_by: owner(settings.llm.provider) },
  ];
  if (settings.embedding && settings.embeddingId && settings.embeddingId !== settings.llmId) {
    out.push({ id: settings.embeddingId, object: 'model', created: CREATED, owned_by: owner(settings.embedding.provider) });
  }
  return out;
}

export async function listModels(req: Request, res: Response): Promise<void> {
  prepareResponse(req, res);
  const settings = readSettings(endpointContext(res).settings);
  checkKey(req, settings.apiKey);
  res.status(200).json({ object: 'list', data: modelObjects(settings) });
}

export async function retrieveModel(req: Request, res: Response): Promise<void> {
  prepareResponse(req, res);
  const settings = readSettings(endpointContext(res).settings);
  checkKey(req, settings.apiKey);
  const id = requestedId(req);
  const objects = modelObjects(settings);
  const found =
    objects.find((m) => m.id === id) ??
    (matchesModel(id, settings.llmId, settings.llm)
      ? objects[0]
      : settings.embedding && settings.embeddingId && matchesModel(id, settings.embeddingId, settings.embedding)
        ? objects.find((m) => m.id === settings.embeddingId)
        : undefined);
  if (!found) throw modelNotFound(id);
  res.status(200).json(found);
}

/** The id after `models/`, percent-decoded; ids may contain `/` (sent as %2F or raw). */
function requestedId(req: Request): string {
  const param = req.params?.model_id as unknown;
  let raw: string | undefined;
  if (Array.isArray(param)) raw = param.join('/');
  else if (typeof param === 'string' && param) raw = param;
  if (raw === undefined) {
    const path = (req.originalUrl || req.url).split('?')[0] ?? '';
    const at = path.indexOf('/models/');
    raw = at >= 0 ? path.slice(at + '/models/'.length) : '';
  }
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
