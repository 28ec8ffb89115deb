/** Shapes shared by the page's modules (the server's PageConfig and PageEvent, as the page reads them). */
export type Skin = 'minimal' | 'cute' | 'korean' | 'classic';

export interface PageConfig {
  botName: string;
  skin: Skin;
  lang: 'zh' | 'en';
  welcome?: string;
  suggestions: string[];
  appId?: string;
  apps?: Array<{ id: string; name: string }>;
  storageKey: string;
  problem?: 'no-app' | 'unreachable' | string;
}

export type PageEvent =
  | { t: 'meta'; conversationId?: string; messageId?: string; reset?: boolean }
  | { t: 'content'; text: string }
  | { t: 'reasoning'; text: string }
  | { t: 'tool'; id: string; tool: string; input?: string; observation?: string }
  | { t: 'file'; url: string; kind: string }
  | { t: 'replace'; text: string }
  | { t: 'status'; text: string }
  | { t: 'end'; conversationId?: string; messageId?: string; stopped?: boolean }
  | { t: 'error'; message: string; code?: string };

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
  reasoning?: string;
  tools?: ToolUse[];
  files?: Array<{ url: string; kind: string }>;
  ts: number;
  status?: 'streaming' | 'done' | 'stopped' | 'error';
  /** What the app is doing before it writes (chatflow node titles); not kept. */
  progress?: string;
  error?: string;
}

export interface ChatState {
  conversationId?: string;
  messages: ChatMessage[];
}
