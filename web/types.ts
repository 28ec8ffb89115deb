/** Shapes shared by the page's modules (the server's PageConfig and PageEvent, as the page reads them). */
import type { PageSource } from '../src/groups/webapp-skin/protocol.js';

export type { PageConfig, PageEvent, PageInputField, PageSource, Skin } from '../src/groups/webapp-skin/protocol.js';

export interface ToolUse {
  id: string;
  tool: string;
  input?: string;
  observation?: string;
}

export interface ChatMessage {
  id: string;
  role: 'user' | 'bot';
  content: string;
  /** Thumbnails (small data URLs) of the images a user message carried. */
  images?: string[];
  reasoning?: string;
  tools?: ToolUse[];
  files?: Array<{ url: string; kind: string }>;
  /** The knowledge documents the answer cites. */
  sources?: PageSource[];
  /** Dify's id of this answer (ratings and follow-ups refer to it). */
  difyId?: string;
  /** Questions the app suggests after this answer (shown under the latest answer only). */
  followUps?: string[];
  rating?: 'like' | 'dislike';
  ts: number;
  status?: 'streaming' | 'done' | 'stopped' | 'error';
  /** What the app is doing before it writes (chatflow node titles); not kept. */
  progress?: string;
  error?: string;
}

export interface ChatState {
  conversationId?: string;
  /** The app's form as this chat started with it (sent with every turn: a reset conversation needs it again). */
  inputs?: Record<string, string | number | boolean>;
  messages: ChatMessage[];
}
