/** The chat-app group's use of the shared HTTP plumbing (src/openai/http.ts): its extra headers. */
import type { Request, Response } from 'express';
import * as http from '../../openai/http.js';

export { authenticate, readJsonBody } from '../../openai/http.js';

/** Headers this group adds for browsers: the conversation id, and rate-limit headers a host may set. */
const EXPOSED = ['x-dify-conversation-id', 'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests'];
const ALLOWED = ['x-dify-conversation-id'];

/** CORS headers and the request id, for every response of this group (JSON, SSE, errors). */
export function prepareResponse(req: Request, res: Response): string {
  http.applyCors(req, res, EXPOSED);
  return http.requestId(req, res);
}

/** OPTIONS preflight: 204, no auth. */
export function preflight(req: Request, res: Response): void {
  http.preflight(req, res, { exposed: EXPOSED, allowed: ALLOWED });
}
