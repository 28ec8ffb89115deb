/** The chat kept in localStorage, one entry per endpoint (and app), so a reload shows it and continues it. */
import type { ChatState } from './types.js';

const MAX_MESSAGES = 200;

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
    // Storage full or disabled (private mode): the chat still works, it just is not kept.
  }
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

  private chatKey(appId: string | undefined): string {
    return `dbw:${this.namespace}:chat:${appId ?? ''}`;
  }

  load(appId: string | undefined): ChatState {
    const raw = safeGet(this.chatKey(appId));
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

  save(appId: string | undefined, state: ChatState): void {
    const trimmed: ChatState = { ...state, messages: state.messages.slice(-MAX_MESSAGES) };
    safeSet(this.chatKey(appId), JSON.stringify(trimmed));
  }

  lastApp(): string | undefined {
    return safeGet(`dbw:${this.namespace}:app`) ?? undefined;
  }

  setLastApp(appId: string): void {
    safeSet(`dbw:${this.namespace}:app`, appId);
  }
}
