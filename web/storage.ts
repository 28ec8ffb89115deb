/**
 * The chats kept in localStorage, per endpoint and app: each chat under its own key, an index of
 * them (newest first) for the history list, and which one is open, so a reload shows it and
 * continues it. Storage can be full or disabled (private mode): the page then works without keeping.
 */
import type { ChatState } from './types.js';

const MAX_MESSAGES = 200;
/** Older chats beyond this many are forgotten. */
const MAX_CHATS = 30;
const TITLE_CHARS = 80;

function randomId(bytes = 16): string {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a); // available on plain http too, unlike crypto.randomUUID
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

export { randomId };

function safeGet(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function safeSet(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage full or disabled: the chat still works, it just is not kept.
  }
}

function safeRemove(key: string): void {
  try {
    localStorage.removeItem(key);
  } catch {
    // nothing kept, nothing to remove
  }
}

export interface ChatSummary {
  id: string;
  title: string;
  /** ms since the epoch */
  updated: number;
}

/** One open chat: its id and its state. */
export interface OpenChat {
  id: string;
  state: ChatState;
}

export class ChatStore {
  constructor(private readonly namespace: string) {}

  /** This browser's id for this endpoint; the server derives the Dify user from it. */
  uid(): string {
    const key = `dbw:${this.namespace}:uid`;
    let uid = safeGet(key);
    if (!uid || !/^[A-Za-z0-9_-]{8,64}$/.test(uid)) {
      uid = randomId();
      safeSet(key, uid);
    }
    return uid;
  }

  private prefix(appId: string | undefined): string {
    return `dbw:${this.namespace}:${appId ?? ''}`;
  }

  /** The chats of an app, newest first. */
  list(appId: string | undefined): ChatSummary[] {
    this.adoptSingleChat(appId);
    try {
      const list = JSON.parse(safeGet(`${this.prefix(appId)}:chats`) ?? '[]') as ChatSummary[];
      return Array.isArray(list) ? list.filter((c) => c && typeof c.id === 'string') : [];
    } catch {
      return [];
    }
  }

  /** The chat that was open last (a new, empty one when there is none). */
  current(appId: string | undefined): OpenChat {
    const chats = this.list(appId);
    const id = safeGet(`${this.prefix(appId)}:current`);
    if (id && chats.some((c) => c.id === id)) return { id, state: this.load(appId, id) };
    return this.fresh(appId);
  }

  /** A new chat, open from now on (kept once it has a message). */
  fresh(appId: string | undefined): OpenChat {
    const id = randomId(8);
    safeSet(`${this.prefix(appId)}:current`, id);
    return { id, state: { messages: [] } };
  }

  open(appId: string | undefined, id: string): OpenChat {
    safeSet(`${this.prefix(appId)}:current`, id);
    return { id, state: this.load(appId, id) };
  }

  private load(appId: string | undefined, id: string): ChatState {
    const raw = safeGet(`${this.prefix(appId)}:chat:${id}`);
    if (!raw) return { messages: [] };
    try {
      const state = JSON.parse(raw) as ChatState;
      if (!Array.isArray(state.messages)) return { messages: [] };
      // A reload in the middle of an answer: keep what arrived and mark it stopped.
      for (const m of state.messages) if (m.status === 'streaming') m.status = 'stopped';
      return state;
    } catch {
      return { messages: [] };
    }
  }

  /** Keeps a chat and moves it to the top of the list; an empty chat is not listed. */
  save(appId: string | undefined, chat: OpenChat): void {
    if (chat.state.messages.length === 0) return;
    const p = this.prefix(appId);
    const trimmed: ChatState = { ...chat.state, messages: chat.state.messages.slice(-MAX_MESSAGES) };
    safeSet(`${p}:chat:${chat.id}`, JSON.stringify(trimmed));
    const first = chat.state.messages.find((m) => m.role === 'user');
    const title = (first?.content ?? '').replace(/\s+/g, ' ').trim().slice(0, TITLE_CHARS);
    const list = [{ id: chat.id, title, updated: Date.now() }, ...this.list(appId).filter((c) => c.id !== chat.id)];
    for (const old of list.splice(MAX_CHATS)) safeRemove(`${p}:chat:${old.id}`);
    safeSet(`${p}:chats`, JSON.stringify(list));
  }

  remove(appId: string | undefined, id: string): void {
    const p = this.prefix(appId);
    safeRemove(`${p}:chat:${id}`);
    safeSet(`${p}:chats`, JSON.stringify(this.list(appId).filter((c) => c.id !== id)));
  }

  lastApp(): string | undefined {
    return safeGet(`dbw:${this.namespace}:app`) ?? undefined;
  }

  setLastApp(appId: string): void {
    safeSet(`dbw:${this.namespace}:app`, appId);
  }

  /** Pages from before the history kept one chat per app under `...:chat:<app>`: it becomes the first listed chat. */
  private adoptSingleChat(appId: string | undefined): void {
    const oldKey = `dbw:${this.namespace}:chat:${appId ?? ''}`;
    const raw = safeGet(oldKey);
    if (raw === null) return;
    safeRemove(oldKey);
    try {
      const state = JSON.parse(raw) as ChatState;
      if (!Array.isArray(state.messages) || state.messages.length === 0) return;
      const id = randomId(8);
      this.save(appId, { id, state });
      safeSet(`${this.prefix(appId)}:current`, id);
    } catch {
      // unreadable: dropped
    }
  }
}
