/**
 * POST /v1/embeddings over the text-embedding model chosen in the endpoint settings.
 */
import type { Request, Response } from 'express';
import { OpenAIError, invalidRequest, modelNotFound, modelRuntimeError, modelsUnavailable, unsupported } from './errors.js';
import { openModelRequest } from './request.js';
import { matchesModel } from './settings.js';

/** OpenAI's own cap on inputs per request. */
const MAX_INPUTS = 2048;

export async function embeddings(req: Request, res: Response): Promise<void> {
  const { context, settings, body, model } = await openModelRequest(req, res);
  if (!settings.embedding || !settings.embeddingId) {
    throw new OpenAIError(
      404,
      `The model \`${model}\` does not exist: this endpoint has no text-embedding model configured (set text_embedding in its settings).`,
      'invalid_request_error',
      'model',
      'model_not_found',
    );
  }
  if (!matchesModel(model, settings.embeddingId, settings.embedding)) throw modelNotFound(model);

  const texts = readInput(body.input);
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    throw invalidRequest("encoding_format must be 'float' or 'base64'.", 'encoding_format');
  }
  const models = context.models;
  if (!models) throw modelsUnavailable();

  let result;
  try {
    result = await models.embed(settings.embedding, texts, 'document');
  } catch (err) {
    throw modelRuntimeError(err);
  }
  if (result.embeddings.length !== texts.length) {
    throw new OpenAIError(502, `The embedding model returned ${result.embeddings.length} vectors for ${texts.length} inputs.`, 'server_error', null, 'upstream_error');
  }
  checkDimensions(body.dimensions, result.embeddings[0]?.length ?? 0);

  const tokens = Math.max(0, Math.round(result.usage.total_tokens || result.usage.tokens || 0));
  res.status(200).json({
    object: 'list',
    model,
    data: result.embeddings.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: format === 'base64' ? toBase64(vector) : vector,
    })),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

function readInput(input: unknown): string[] {
  if (input === undefined || input === null) {
    throw invalidRequest("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  }
  const tokenHint =
    "Token-id arrays are not supported: Dify embeds text. Send the text itself (LangChain Python: OpenAIEmbeddings(check_embedding_ctx_length=False)).";
  if (typeof input === 'string') {
    if (!input) throw invalidRequest("'input' cannot be an empty string.", 'input');
    return [input];
  }
  if (!Array.isArray(input) || input.length === 0) {
    throw invalidRequest("'input' must be a string or a non-empty array of strings.", 'input');
  }
  if (input.length > MAX_INPUTS) throw invalidRequest(`'input' may hold at most ${MAX_INPUTS} items.`, 'input');
  return input.map((item, i) => {
    if (typeof item === 'number' || Array.isArray(item)) throw unsupported(tokenHint, 'input', 'unsupported_value');
    if (typeof item !== 'string') throw invalidRequest(`'input[${i}]' must be a string.`, `input[${i}]`);
    if (!item) throw invalidRequest(`'input[${i}]' cannot be an empty string.`, `input[${i}]`);
    return item;
  });
}

/**
 * Dify's embedding invocation has no `dimensions` parameter, so a request for another length than
 * the model produces cannot be honoured (truncating would need a re-normalisation the model may not
 * support). Asking for exactly the model's length is harmless.
 */
function checkDimensions(dimensions: unknown, actual: number): void {
  if (dimensions === undefined || dimensions === null) return;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1) {
    throw invalidRequest("'dimensions' must be a positive integer.", 'dimensions');
  }
  if (dimensions !== actual) {
    throw unsupported(
      `This model produces ${actual}-dimensional embeddings and Dify cannot change that; omit 'dimensions' or set it to ${actual}.`,
      'dimensions',
      'unsupported_value',
    );
  }
}

/** Little-endian float32, as the OpenAI SDKs decode `encoding_format: "base64"`. */
function toBase64(vector: number[]): string {
  const buffer = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => buffer.writeFloatLE(value, i * 4));
  return buffer.toString('base64');
}
