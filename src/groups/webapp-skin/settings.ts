/** The webapp-skin endpoint settings (settings/webapp-skin.yaml), validated leniently: a bad value falls back to its default. */
import { z } from 'zod';
import type { ModelSelector } from '../../backend/types.js';

import { SKINS, type Skin } from './protocol.js';

export { SKINS, type Skin };
export const LANGUAGES = ['auto', 'zh', 'en'] as const;
export type PageLanguage = (typeof LANGUAGES)[number];

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

const choices = z.object({
  skin: z.enum(SKINS).catch('minimal'),
  language: z.enum(LANGUAGES).catch('auto'),
});

export interface WebappSettings {
  /** The app-selector value; absent when the host offers several apps instead (standalone). */
  app?: unknown;
  botName?: string;
  skin: Skin;
  welcomeMessage?: string;
  suggestedQuestions?: string[];
  language: PageLanguage;
  password?: string;
  /** A Dify TTS model (with its voice) for reading answers aloud, where the host offers models. */
  ttsModel?: ModelSelector;
  /** A Dify speech2text model for voice input. */
  sttModel?: ModelSelector;
}

/** A model-selector value that names a model, or nothing. */
function modelSelector(v: unknown): ModelSelector | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const m = v as Record<string, unknown>;
  return typeof m.provider === 'string' && m.provider && typeof m.model === 'string' && m.model ? (m as ModelSelector) : undefined;
}

/** Questions are one text-input, separated by "|" or new lines. */
export function splitQuestions(raw: string | undefined): string[] | undefined {
  if (!raw) return undefined;
  const list = raw
    .split(/\||\r?\n/)
    .map((q) => q.trim())
    .filter(Boolean);
  return list.length ? list.slice(0, 8) : undefined;
}

export function parseSettings(raw: Record<string, unknown>): WebappSettings {
  const settings = raw ?? {};
  const { skin, language } = choices.parse({ skin: settings.skin, language: settings.language });
  const app = settings.app === null || settings.app === '' ? undefined : settings.app;
  const botName = text(settings.bot_name);
  const welcomeMessage = text(settings.welcome_message);
  const suggestedQuestions = splitQuestions(text(settings.suggested_questions));
  // A secret-input is kept exactly as typed (a password may start or end with a space).
  const password = typeof settings.password === 'string' && settings.password !== '' ? settings.password : undefined;
  const ttsModel = modelSelector(settings.tts_model);
  const sttModel = modelSelector(settings.stt_model);
  return {
    ...(app !== undefined ? { app } : {}),
    ...(botName ? { botName } : {}),
    skin,
    ...(welcomeMessage ? { welcomeMessage } : {}),
    ...(suggestedQuestions ? { suggestedQuestions } : {}),
    language,
    ...(password ? { password } : {}),
    ...(ttsModel ? { ttsModel } : {}),
    ...(sttModel ? { sttModel } : {}),
  };
}

export function isSkin(v: unknown): v is Skin {
  return typeof v === 'string' && (SKINS as readonly string[]).includes(v);
}
