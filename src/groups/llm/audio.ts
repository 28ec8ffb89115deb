/**
 * POST /v1/audio/speech and /v1/audio/transcriptions over the text-to-speech and speech-to-text
 * models chosen in the endpoint settings (the daemon's `tts` and `speech2text` reverse invocations),
 * so clients with OpenAI voice settings (Open WebUI, the SDKs) read aloud and transcribe with Dify's
 * models. One model of each kind per endpoint: any `model` the client names is that model. Audio is
 * relayed as the provider makes it (MP3 for OpenAI-style providers); transcodes are not offered.
 */
import type { Request, Response } from 'express';
import { readRawBody } from '../../openai/http.js';
import { OpenAIError, invalidRequest, modelRuntimeError, modelsUnavailable, unsupported } from './errors.js';
import { clientAbortSignal } from '../../host/context.js';
import { openEndpointRequest, openModelRequest } from './request.js';

/** OpenAI's own limit on `input`. */
const MAX_SPEECH_CHARS = 4096;
/** The daemon's 5 MiB line carries the audio hex-encoded, so about half of it. */
const MAX_UPLOAD_BYTES = 2 * 1024 * 1024 + 512 * 1024;

function notConfigured(kind: string, setting: string): OpenAIError {
  return new OpenAIError(404, `This endpoint has no ${kind} model configured (set ${setting} in its settings).`, 'invalid_request_error', 'model', 'model_not_found');
}

export async function speech(req: Request, res: Response): Promise<void> {
  const { context, settings, body } = await openModelRequest(req, res);
  if (!settings.tts) throw notConfigured('text-to-speech', 'tts');
  const models = context.models;
  if (!models?.speak) throw modelsUnavailable();
  const input = body.input;
  if (typeof input !== 'string' || input.trim() === '') throw invalidRequest("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  if (input.length > MAX_SPEECH_CHARS) throw invalidRequest(`'input' is longer than ${MAX_SPEECH_CHARS} characters.`, 'input', 'string_above_max_length');
  const format = body.response_format ?? 'mp3';
  if (format !== 'mp3') throw unsupported("Only response_format 'mp3' is available: the audio comes as the Dify model makes it.", 'response_format', 'unsupported_value');
  if (body.voice !== undefined && typeof body.voice !== 'string') throw invalidRequest("'voice' must be a string.", 'voice');
  // The client's voice where it names one (voices are the provider's: alloy, nova... for OpenAI-style ones).
  const model = typeof body.voice === 'string' && body.voice ? { ...settings.tts, voice: body.voice } : settings.tts;
  const audio = models.speak(model, input, clientAbortSignal(req, res))[Symbol.asyncIterator]();
  // The first piece decides between an error envelope and a 200.
  let first: IteratorResult<Uint8Array>;
  try {
    first = await audio.next();
  } catch (err) {
    throw modelRuntimeError(err);
  }
  res.status(200);
  res.setHeader('Content-Type', 'audio/mpeg');
  res.setHeader('Cache-Control', 'no-store');
  try {
    for (let piece = first; !piece.done; piece = await audio.next()) res.write(piece.value);
  } catch {
    // Cut mid-stream: the client sees a short file, as with any broken download.
  }
  res.end();
}

export async function transcriptions(req: Request, res: Response): Promise<void> {
  const { context, settings } = openEndpointRequest(req, res);
  const type = String(req.headers['content-type'] ?? '');
  if (!type.startsWith('multipart/form-data')) throw invalidRequest('Send the audio as multipart/form-data with a `file` field.', 'file');
  const raw = await readRawBody(req, MAX_UPLOAD_BYTES);
  let form: FormData;
  try {
    // The platform's multipart parser (undici), as fetch's Response.formData() offers it.
    const bytes = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
    form = await new Response(bytes, { headers: { 'content-type': type } }).formData();
  } catch {
    throw invalidRequest('The multipart body could not be read.', 'file');
  }
  const file = form.get('file');
  if (!file || typeof file === 'string') throw invalidRequest("Missing required parameter: 'file'.", 'file', 'missing_required_parameter');
  if (!form.get('model')) throw invalidRequest('you must provide a model parameter', 'model', 'missing_required_parameter');
  const format = String(form.get('response_format') ?? 'json');
  if (format !== 'json' && format !== 'text') throw unsupported("response_format must be 'json' or 'text'.", 'response_format', 'unsupported_value');
  if (!settings.stt) throw notConfigured('speech-to-text', 'speech2text');
  const models = context.models;
  if (!models?.transcribe) throw modelsUnavailable();
  let text: string;
  try {
    text = await models.transcribe(settings.stt, new Uint8Array(await file.arrayBuffer()));
  } catch (err) {
    throw modelRuntimeError(err);
  }
  if (format === 'text') {
    res.status(200).type('text/plain; charset=utf-8').send(text);
    return;
  }
  res.status(200).json({ text });
}
