/**
 * POST api/suggested, api/feedback and api/speech: what the page asks about an answer once it is
 * done: the follow-up questions the app suggests and the visitor's like / dislike (where the host can
 * ask Dify: standalone's Service API; the plugin daemon has no message APIs), and the answer read
 * aloud (the app's voice standalone, the settings' TTS model as a plugin). The browser's Dify user
 * scopes what goes to Dify: it answers only about messages that user received.
 */
import type { EndpointContext } from '../../host/context.js';
import { resolveApp } from './apps.js';
import { difyUser, isBrowserId } from './chat.js';
import type { WebappSettings } from './settings.js';

/** Dify message ids are UUIDs (its routes take nothing else). */
const MESSAGE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_FOLLOW_UPS = 3;

export interface AnswerRef {
  uid: string;
  messageId: string;
  app?: string;
  /** The answer as plain text (the page sends it for reading aloud with a TTS model). */
  text?: string;
}

const MAX_SPOKEN_CHARS = 4000;

type Invalid = { error: string; param: string };

export function parseAnswerRef(body: Record<string, unknown>): AnswerRef | Invalid {
  const { uid, messageId, app } = body;
  if (typeof uid !== 'string' || !isBrowserId(uid)) return { error: 'uid must be 8-64 letters, digits, "-" or "_"', param: 'uid' };
  if (typeof messageId !== 'string' || !MESSAGE_ID.test(messageId)) return { error: 'messageId must be a Dify message id', param: 'messageId' };
  if (app !== undefined && app !== null && typeof app !== 'string') return { error: 'app must be a string', param: 'app' };
  const text = typeof body.text === 'string' ? body.text.trim().slice(0, MAX_SPOKEN_CHARS) : '';
  return { uid, messageId, ...(typeof app === 'string' && app ? { app } : {}), ...(text ? { text } : {}) };
}

export function parseRating(value: unknown): 'like' | 'dislike' | null | Invalid {
  if (value === 'like' || value === 'dislike' || value === null) return value;
  return { error: 'rating must be "like", "dislike" or null', param: 'rating' };
}

/** Up to three follow-up questions; none where the host cannot ask or the app does not suggest. */
export async function followUps(ctx: EndpointContext, settings: WebappSettings, ref: AnswerRef): Promise<string[]> {
  const app = await resolveApp(ctx, settings, ref.app);
  if (!app.handle.suggestedQuestions) return [];
  const questions = await app.handle.suggestedQuestions(ref.messageId, difyUser(ref.uid));
  return questions.map((q) => q.trim()).filter(Boolean).slice(0, MAX_FOLLOW_UPS);
}

/**
 * The answer as audio: in the app's own voice where the host can ask Dify for it (standalone), else
 * with the TTS model chosen in the settings (plugin); undefined when neither is there.
 */
export async function speech(ctx: EndpointContext, settings: WebappSettings, ref: AnswerRef, signal: AbortSignal): Promise<{ contentType: string; audio: AsyncIterable<Uint8Array> } | undefined> {
  const app = await resolveApp(ctx, settings, ref.app);
  if (app.handle.speak) return app.handle.speak(ref.messageId, difyUser(ref.uid), signal);
  const models = ctx.models;
  if (!models?.speak || !settings.ttsModel || !ref.text) return undefined;
  // Provider plugins stream MP3 or WAV without saying which; browsers sniff either from audio/mpeg.
  return { contentType: 'audio/mpeg', audio: models.speak(settings.ttsModel, ref.text, signal) };
}

/** Records the rating; false where the host cannot. */
export async function rateAnswer(ctx: EndpointContext, settings: WebappSettings, ref: AnswerRef, rating: 'like' | 'dislike' | null): Promise<boolean> {
  const app = await resolveApp(ctx, settings, ref.app);
  if (!app.handle.rateMessage) return false;
  await app.handle.rateMessage(ref.messageId, rating, difyUser(ref.uid));
  return true;
}
