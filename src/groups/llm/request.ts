/**
 * What every llm route does first: CORS and request id, the endpoint's settings, the client key,
 * the JSON body and its `model`.
 */
import type { Request, Response } from 'express';
import { endpointContext, type EndpointContext } from '../../host/context.js';
import { invalidRequest } from './errors.js';
import { checkKey, prepareResponse, readJsonBody } from './http.js';
import { readSettings, type LlmSettings } from './settings.js';

export interface ModelRequest {
  context: EndpointContext;
  settings: LlmSettings;
  body: Record<string, unknown>;
  model: string;
}

/** CORS and request id, the endpoint's settings, the client key: before any body is read. */
export function openEndpointRequest(req: Request, res: Response): { context: EndpointContext; settings: LlmSettings } {
  prepareResponse(req, res);
  const context = endpointContext(res);
  const settings = readSettings(context.settings);
  checkKey(req, settings.apiKey);
  return { context, settings };
}

export async function openModelRequest(req: Request, res: Response): Promise<ModelRequest> {
  const { context, settings } = openEndpointRequest(req, res);
  const body = await readJsonBody(req, res);
  if (typeof body.model !== 'string' || !body.model) {
    throw invalidRequest('you must provide a model parameter', 'model', 'missing_required_parameter');
  }
  return { context, settings, body, model: body.model };
}
