/** The list of earlier chats under the top bar: open one, delete one. What a chat is lives in storage.ts. */
import { h, iconButton } from './dom.js';
import type { Strings } from './i18n.js';
import { icons } from './icons.js';
import type { ChatSummary } from './storage.js';

/** "Today" for today's chats, else a short date. */
function dayLabel(ts: number, lang: 'zh' | 'en', today: string): string {
  const d = new Date(ts);
  if (d.toDateString() === new Date().toDateString()) return today;
  return d.toLocaleDateString(lang === 'zh' ? 'zh-CN' : 'en-US', { month: 'short', day: 'numeric' });
}

export interface HistoryActions {
  /** The chats to list (newest first) and which one is open. */
  chats(): { list: ChatSummary[]; current: string };
  open(id: string): void;
  remove(id: string): void;
}

export class HistoryPanel {
  readonly button: HTMLButtonElement;
  readonly element: HTMLElement;

  constructor(
    private readonly t: Strings,
    private readonly lang: 'zh' | 'en',
    private readonly actions: HistoryActions,
  ) {
    this.button = iconButton('history-btn', icons.history, t.history);
    this.button.setAttribute('aria-expanded', 'false');
    this.button.setAttribute('aria-controls', 'dbw-history');
    this.button.addEventListener('click', () => this.toggle());
    this.element = h('nav', { class: 'history-panel', id: 'dbw-history', 'aria-label': t.history });
    this.element.hidden = true;
    // A click anywhere else closes it; Escape too (and gives the focus back to the button).
    document.addEventListener('click', (e) => {
      if (this.isOpen && !this.element.contains(e.target as Node) && !this.button.contains(e.target as Node)) this.toggle(false);
    });
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || !this.isOpen) return;
      e.stopImmediatePropagation();
      this.toggle(false);
      this.button.focus();
    });
  }

  get isOpen(): boolean {
    return !this.element.hidden;
  }

  toggle(open = !this.isOpen): void {
    this.element.hidden = !open;
    this.button.setAttribute('aria-expanded', String(open));
    if (open) this.render();
  }

  private render(): void {
    const { list: chats, current } = this.actions.chats();
    this.element.replaceChildren();
    if (chats.length === 0) {
      this.element.append(h('p', { class: 'history-empty' }, this.t.noHistory));
      return;
    }
    const list = h('ul', { class: 'history-list' });
    for (const chat of chats) {
      const item = h('li', { class: `history-item${chat.id === current ? ' is-current' : ''}` });
      const open = h('button', { type: 'button', class: 'history-open' });
      if (chat.id === current) open.setAttribute('aria-current', 'true');
      const title = h('span', { class: 'history-title' });
      title.textContent = chat.title || this.t.untitled;
      const when = h('time', { class: 'history-when', datetime: new Date(chat.updated).toISOString() });
      when.textContent = dayLabel(chat.updated, this.lang, this.t.today);
      open.append(title, when);
      open.addEventListener('click', () => {
        this.toggle(false);
        this.actions.open(chat.id);
      });
      const remove = iconButton('history-delete', icons.trash, this.t.deleteChat);
      remove.addEventListener('click', (e) => {
        e.stopPropagation();
        this.actions.remove(chat.id);
        this.render();
      });
      item.append(open, remove);
      list.append(item);
    }
    this.element.append(list);
  }
}
