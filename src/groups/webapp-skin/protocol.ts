/**
 * What the chat page and its server agree on: the page's config and its stream protocol (one JSON
 * object per SSE `data:` line). No runtime dependencies, so web/ imports it into the browser bundle.
 */
export const SKINS = ['minimal', 'cute', 'korean', 'classic'] as const;
export type Skin = (typeof SKINS)[number];

export interface PageConfig {
  botName: string;
  skin: Skin;
  lang: 'zh' | 'en';
  welcome?: string;
  suggestions: string[];
  /** The app this config describes. */
  appId?: string;
  /** Offered when the host has several apps (standalone). */
  apps?: Array<{ id: string; name: string }>;
  /** Namespace for the page's localStorage: one per endpoint, never the endpoint id itself. */
  storageKey: string;
  /** A message to show instead of the chat (no app configured, Dify unreachable). */
  problem?: string;
  /** The app's form: asked before a chat starts. */
  inputs?: PageInputField[];
  /** Present when the app takes images from the page: how many per message. */
  images?: { max: number };
  /** The app suggests follow-up questions after an answer (api/suggested). */
  followUps?: boolean;
  /** Answers can be rated like / dislike (api/feedback). */
  feedback?: boolean;
  /** Answers are read aloud in the app's own voice (api/speech) instead of the browser's. */
  speech?: boolean;
  /** Voice input goes through the app's speech-to-text (api/transcribe) instead of the browser's. */
  dictation?: boolean;
}

/** One of the app's input variables as the page draws it. */
export interface PageInputField {
  variable: string;
  label: string;
  type: 'text' | 'paragraph' | 'select' | 'number' | 'checkbox';
  required: boolean;
  maxLength?: number;
  options?: string[];
  default?: string | number | boolean;
}

/** A knowledge document the answer cites (the app has citations on). */
export interface PageSource {
  name: string;
  dataset?: string;
  page?: number;
  excerpt?: string;
}

export type PageEvent =
  | { t: 'meta'; conversationId?: string; messageId?: string; reset?: boolean }
  | { t: 'content'; text: string }
  | { t: 'reasoning'; text: string }
  | { t: 'tool'; id: string; tool: string; input?: string; observation?: string }
  | { t: 'file'; url: string; kind: string }
  | { t: 'sources'; items: PageSource[] }
  | { t: 'replace'; text: string }
  | { t: 'status'; text: string }
  | { t: 'end'; conversationId?: string; messageId?: string; stopped?: boolean }
  | { t: 'error'; message: string; code?: string };
