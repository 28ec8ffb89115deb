/**
 * POST api/transcribe: the page's voice input through the app's own speech-to-text model (Dify's
 * "speech to text"), for browsers without speech recognition or whose recognition service is out of
 * reach. The page records WAV (Dify takes WAV, MP3, M4A, AMR; not WebM), base64 in JSON like images.
 */
import type { EndpointContext } from '../../host/context.js';
import { resolveApp } from './apps.js';
import { difyUser, isBrowserId } from './chat.js';
import type { WebappSettings } from './settings.js';

/** About five minutes of 16 kHz mono WAV. */
export const MAX_AUDIO_BYTES = 10 * 1024 * 1024;
const TYPES: Record<string, string> = { 'audio/wav': 'speech.wav', 'audio/mp3': 'speech.mp3', 'audio/m4a': 'speech.m4a' };

export interface Recording {
  uid: string;
  app?: string;
  audio: { data: Buffer; filename: string; mimeType: string };
}

export function parseRecording(body: Record<string, unknown>): Recording | { error: string; param: string } {
  const { uid, app, audio, type } = body;
  if (typeof uid !== 'string' || !isBrowserId(uid)) return { error: 'uid must be 8-64 letters, digits, "-" or "_"', param: 'uid' };
  if (app !== undefined && app !== null && typeof app !== 'string') return { error: 'app must be a string', param: 'app' };
  const filename = typeof type === 'string' ? TYPES[type] : undefined;
  if (!filename) return { error: `type must be one of ${Object.keys(TYPES).join(', ')}`, param: 'type' };
  if (typeof audio !== 'string' || audio === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(audio)) return { error: 'audio must be base64', param: 'audio' };
  const data = Buffer.from(audio, 'base64');
  if (data.length > MAX_AUDIO_BYTES) return { error: `audio is larger than ${MAX_AUDIO_BYTES / 1048576} MiB`, param: 'audio' };
  return { uid, ...(typeof app === 'string' && app ? { app } : {}), audio: { data, filename, mimeType: type as string } };
}

/**
 * The recording's text: by the app's speech to text where the host can ask Dify (standalone), else by
 * the speech2text model chosen in the settings (plugin); undefined when neither is there.
 */
export async function transcribe(ctx: EndpointContext, settings: WebappSettings, recording: Recording): Promise<string | undefined> {
  const app = await resolveApp(ctx, settings, recording.app);
  if (app.handle.transcribe) return app.handle.transcribe(recording.audio, difyUser(recording.uid));
  if (!ctx.models?.transcribe || !settings.sttModel) return undefined;
  return ctx.models.transcribe(settings.sttModel, recording.audio.data);
}
