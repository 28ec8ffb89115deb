/**
 * Model-runtime failures -> the OpenAI envelope (src/openai/errors.ts renders it). The shared
 * `fromDifyError` classifies Dify *app* errors by code; model invocations fail with provider text
 * relayed by Dify and the daemon, so this reads error names and phrases instead.
 */
import { DifyError } from '../../backend/types.js';
import { OpenAIError, invalidRequest, modelNotFound, unsupported } from '../../openai/errors.js';

export { OpenAIError, invalidRequest, modelNotFound, unsupported };

/** The host has no Dify models (the standalone server): nothing a retry would change. */
export function modelsUnavailable(): OpenAIError {
  return new OpenAIError(501, 'Dify-configured models are only available when this runs as a Dify plugin.', 'server_error', null, 'models_unavailable', {
    'x-should-retry': 'false',
  });
}

/**
 * Classifies a model-runtime failure (DifyError from the models client, or anything thrown) into
 * the OpenAI status and code a client reacts to. Dify relays provider errors as text (often the
 * plugin's `{"error_type":"InvokeRateLimitError","message":...}`), so this reads names and phrases.
 */
export function modelRuntimeError(err: unknown): OpenAIError {
  if (err instanceof OpenAIError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof DifyError ? err.code : '';
  const status = err instanceof DifyError ? err.status : 0;
  const retryAfter = err instanceof DifyError ? err.retryAfterSeconds : undefined;
  const text = `${code} ${message}`;
  const clean = readableMessage(message);

  // The shim refused to write an invoke line over the daemon's 5 MiB stdout limit (src/backend/plugin-models.ts).
  if (code === 'request_too_large' || status === 413) {
    return new OpenAIError(
      413,
      'The request is too large for the Dify plugin daemon: the prompt (messages and images) is sent to Dify as one message of at most 5 MiB. Send a smaller request (fewer or smaller images, a shorter history).',
      'invalid_request_error',
      null,
      'request_too_large',
      { 'x-should-retry': 'false' },
    );
  }

  if (/context_length_exceeded|maximum context length|context (window|length)|too many tokens|prompt is too long|input is too long|exceeds? the (model'?s? )?(maximum|max|context)|token limit/i.test(text)) {
    const msg = /maximum context length/i.test(clean)
      ? clean
      : `This model's maximum context length was exceeded: ${clean}`;
    return new OpenAIError(400, msg, 'invalid_request_error', 'messages', 'context_length_exceeded', { 'x-should-retry': 'false' });
  }
  if (/quota|insufficient_quota|billing|credit balance|QuotaExceeded/i.test(text)) {
    return new OpenAIError(429, `Model quota exhausted: ${clean}`, 'insufficient_quota', null, 'insufficient_quota', {
      'x-should-retry': 'false',
    });
  }
  if (/rate.?limit|InvokeRateLimitError|too many requests/i.test(text) || status === 429) {
    const seconds = retryAfter ?? 1;
    return new OpenAIError(429, `Model rate limit reached: ${clean}`, 'rate_limit_error', null, 'rate_limit_exceeded', {
      'retry-after': String(seconds),
      'retry-after-ms': String(seconds * 1000),
    });
  }
  if (/vision|image.*(not supported|unsupported|only supported)|does not support (image|vision)/i.test(text)) {
    return unsupported(`The selected model cannot read images: ${clean}`, 'messages', 'unsupported_value');
  }
  // The upstream provider rejected the workspace's credentials: the user's own key is fine, so not 401.
  if (/InvokeAuthorizationError|CredentialsValidateFailed|invalid.{0,20}(api.?key|credential)|unauthori[sz]ed|authentication|ProviderTokenNotInit/i.test(text)) {
    return new OpenAIError(502, `The model provider rejected Dify's credentials: ${clean}`, 'server_error', null, 'upstream_auth_error', {
      'x-should-retry': 'false',
    });
  }
  if (/permission denied/i.test(text)) {
    return new OpenAIError(502, `Dify refused the model invocation: ${clean}`, 'server_error', null, 'upstream_permission_error', {
      'x-should-retry': 'false',
    });
  }
  // Dify validates parameters against the model's rules ("Model Parameter temperature should be ...").
  if (/InvokeBadRequestError|ValueError|Model Parameter|bad request|invalid_param|validation/i.test(text) || status === 400) {
    return new OpenAIError(400, clean, 'invalid_request_error', null, 'invalid_request');
  }
  if (/timeout|timed out/i.test(text) || status === 504) {
    return new OpenAIError(504, `The model did not answer in time: ${clean}`, 'server_error', null, 'upstream_timeout');
  }
  if (/ServerUnavailable|unavailable|overloaded/i.test(text) || status === 503) {
    return new OpenAIError(503, `The model is unavailable: ${clean}`, 'server_error', null, 'upstream_unavailable');
  }
  return new OpenAIError(502, clean || 'The model invocation failed.', 'server_error', null, 'upstream_error');
}

/** Pulls `message` out of the plugin's JSON error text when there is one. */
function readableMessage(message: string): string {
  const start = message.indexOf('{');
  if (start >= 0) {
    try {
      const parsed = JSON.parse(message.slice(start)) as { message?: unknown; error_type?: unknown };
      if (typeof parsed.message === 'string' && parsed.message) {
        return typeof parsed.error_type === 'string' ? `${parsed.message} (${parsed.error_type})` : parsed.message;
      }
    } catch {
      /* not JSON: keep the text */
    }
  }
  return message.trim();
}
