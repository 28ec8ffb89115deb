/**
 * The chat page. Reads its config from the inline JSON, keeps the chat in localStorage, streams
 * answers from `api/chat` (relative: the page lives under /e/<hook>/ behind Dify, or any mount standalone).
 */
import { AppForm, formSummary, type FormValues } from './app-form.js';
import { Attachments } from './attachments.js';
import { botAvatar } from './avatars.js';
import { h, iconButton } from './dom.js';
import { HistoryPanel } from './history-panel.js';
import { fill, strings, type Strings } from './i18n.js';
import { icons } from './icons.js';
import { plainText, renderMarkdown } from './markdown.js';
import { canRecord, startRecording, type Recording } from './recorder.js';
import { canListen, canSpeak, isSpeaking, listen, playAudio, speak, speechLang, stopSpeaking } from './speech.js';
import { ChatStore, randomId } from './storage.js';
import { blobToBase64, type PickedImage } from './images.js';
import { HttpError, readEvents } from './stream.js';
import type { ChatMessage, ChatState, PageConfig, PageEvent, PageSource } from './types.js';


function timeLabel(ts: number, lang: 'zh' | 'en'): string {
  return new Date(ts).toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en-US', { hour: 'numeric', minute: '2-digit' });
}

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // Clipboard API needs a secure context; fall back to a selection copy.
  }
  const ta = h('textarea', { 'aria-hidden': 'true', class: 'clipboard-helper' });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  document.execCommand('copy');
  ta.remove();
}

interface Run {
  runId: string;
  controller: AbortController;
  message: ChatMessage;
}

class ChatPage {
  private t: Strings;
  private store: ChatStore;
  private uid: string;
  private appId: string | undefined;
  private state: ChatState;
  private run: Run | undefined;
  private stopListening: (() => void) | undefined;
  private renderQueued = new Set<string>();
  private stickToBottom = true;

  private root = document.getElementById('app')!;
  private thread!: HTMLElement;
  private scroller!: HTMLElement;
  private input!: HTMLTextAreaElement;
  private sendBtn!: HTMLButtonElement;
  private micBtn: HTMLButtonElement | undefined;
  private statusEl!: HTMLElement;
  private announcer!: HTMLElement;
  private scrollDownBtn!: HTMLButtonElement;
  /** The app's form while a new chat shows it. */
  private form: AppForm | undefined;
  /** What the form held when the last chat started: a new chat offers it again. */
  private lastInputs: FormValues | undefined;
  private attachments!: Attachments;
  private attachBtn!: HTMLButtonElement;
  private fileInput!: HTMLInputElement;
  /** The open chat's id in the store. */
  private chatId: string;
  private history!: HistoryPanel;

  constructor(private config: PageConfig) {
    this.t = strings(config.lang);
    this.store = new ChatStore(config.storageKey);
    this.uid = this.store.uid();
    const last = this.store.lastApp();
    this.appId = config.apps?.some((a) => a.id === last) && last !== config.appId ? last : config.appId;
    const open = this.store.current(this.appId);
    this.chatId = open.id;
    this.state = open.state;
    this.build();
    if (this.appId !== config.appId) void this.switchApp(this.appId!);
    else this.renderAll();
  }

  // ---------- layout ----------

  private build(): void {
    const { t, config } = this;
    this.root.textContent = '';
    document.title = config.botName;

    const header = h('header', { class: 'topbar' });
    const brand = h('div', { class: 'brand' });
    brand.append(h('div', { class: 'avatar avatar-header' }, botAvatar(config.skin, config.botName)));
    const brandText = h('div', { class: 'brand-text' });
    brandText.append(h('h1', { class: 'bot-name' }));
    brandText.querySelector('h1')!.textContent = config.botName;
    this.statusEl = h('p', { class: 'bot-status' });
    this.statusEl.textContent = t.online;
    brandText.append(this.statusEl);
    brand.append(brandText);
    header.append(brand);

    const actions = h('div', { class: 'top-actions' });
    if (config.apps && config.apps.length > 1) {
      const select = h('select', { class: 'app-picker', 'aria-label': t.chooseApp, title: t.chooseApp });
      for (const app of config.apps) {
        const o = h('option', { value: app.id });
        o.textContent = app.name;
        if (app.id === this.appId) o.selected = true;
        select.append(o);
      }
      select.addEventListener('change', () => void this.switchApp(select.value));
      actions.append(select);
    }
    // Made before the page's own Escape handler: an open list takes Escape first.
    this.history = new HistoryPanel(t, config.lang, {
      chats: () => ({ list: this.store.list(this.appId), current: this.chatId }),
      open: (id) => this.openChat(id),
      remove: (id) => {
        this.store.remove(this.appId, id);
        if (id === this.chatId) this.newChat(false);
      },
    });
    const newChat = iconButton('new-chat', icons.edit, t.newChat);
    newChat.append(h('span', { class: 'btn-label' }, t.newChat));
    newChat.addEventListener('click', () => this.newChat());
    actions.append(this.history.button, newChat);
    header.append(actions, this.history.element);

    const main = h('main', { class: 'chat', 'aria-label': t.messages });
    this.scroller = h('div', { class: 'scroller' });
    this.thread = h('div', { class: 'thread', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions' });
    this.scroller.append(this.thread);
    this.scrollDownBtn = iconButton('scroll-down', icons.arrowDown, t.scrollDown);
    this.scrollDownBtn.hidden = true;
    this.scrollDownBtn.addEventListener('click', () => this.scrollToBottom(true));
    main.append(this.scroller, this.scrollDownBtn);
    this.scroller.addEventListener('scroll', () => {
      const gap = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight;
      this.stickToBottom = gap < 80;
      this.scrollDownBtn.hidden = gap < 240;
    });

    const footer = h('footer', { class: 'composer' });
    const form = h('form', { class: 'composer-form' });
    this.input = h('textarea', {
      class: 'composer-input',
      rows: '1',
      'aria-label': fill(t.placeholder, { name: config.botName }),
      placeholder: fill(t.placeholder, { name: config.botName }),
      enterkeyhint: 'send',
    });
    form.append(this.input);
    const tools = h('div', { class: 'composer-tools' });
    this.attachBtn = iconButton('attach', icons.image, t.attachImage);
    this.fileInput = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/webp,image/gif', multiple: '', class: 'file-input', tabindex: '-1', 'aria-hidden': 'true' });
    this.attachBtn.addEventListener('click', () => this.fileInput.click());
    this.fileInput.addEventListener('change', () => {
      void this.attachments.add([...(this.fileInput.files ?? [])], this.config.images?.max ?? 0);
      this.fileInput.value = '';
    });
    tools.append(this.attachBtn, this.fileInput);
    if (canRecord || canListen) {
      this.micBtn = iconButton('mic', icons.mic, t.voiceStart);
      this.micBtn.addEventListener('click', () => this.toggleVoice());
      tools.append(this.micBtn);
      this.updateMic();
    }
    this.sendBtn = h('button', { type: 'submit', class: 'send-btn', 'aria-label': t.send, title: t.send });
    tools.append(this.sendBtn);
    form.append(tools);
    this.attachments = new Attachments(t, (text) => this.announce(text), () => this.input.focus());
    footer.append(this.attachments.element, form, h('p', { class: 'composer-hint' }, t.hint));

    this.announcer = h('div', { class: 'sr-only', 'aria-live': 'polite' });

    this.root.append(header, main, footer, this.announcer);
    if (config.problem) {
      const banner = h('div', { class: 'banner', role: 'alert' }, icons.alert);
      banner.append(document.createTextNode(config.problem === 'no-app' ? t.problemNoApp : t.problemUnreachable));
      main.prepend(banner);
    }

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (this.run) this.stop();
      else this.sendFromInput();
    });
    this.input.addEventListener('keydown', (e) => {
      // Enter sends; Shift+Enter is a new line; never send while an IME is composing (Chinese, Korean...).
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        if (!this.run) this.sendFromInput();
      }
    });
    this.input.addEventListener('input', () => this.updateComposer());
    // Pasted images are attached like picked ones.
    this.input.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.files ?? [])].filter((f) => f.type.startsWith('image/'));
      if (files.length === 0 || !this.config.images) return;
      e.preventDefault();
      void this.attachments.add(files, this.config.images.max);
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.run) {
        e.preventDefault();
        this.stop();
      }
    });
    this.updateComposer();
  }

  private updateComposer(): void {
    const input = this.input;
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
    const streaming = !!this.run;
    this.sendBtn.innerHTML = streaming ? icons.stop : this.config.skin === 'classic' ? `<span>${this.config.lang === 'zh' ? '发送' : 'Send'}</span>` : this.config.skin === 'korean' ? icons.paperPlane : icons.send;
    this.sendBtn.setAttribute('aria-label', streaming ? this.t.stop : this.t.send);
    this.sendBtn.title = streaming ? this.t.stop : this.t.send;
    this.sendBtn.classList.toggle('is-stop', streaming);
    this.sendBtn.disabled = !streaming && (input.value.trim() === '' || !!this.config.problem);
    this.attachBtn.hidden = !this.config.images;
    this.statusEl.textContent = streaming ? this.t.typing : this.t.online;
    this.root.classList.toggle('is-streaming', streaming);
    this.thread.setAttribute('aria-busy', String(streaming));
  }

  // ---------- rendering ----------

  private renderAll(): void {
    this.thread.textContent = '';
    const { messages } = this.state;
    if (messages.length === 0) {
      this.thread.append(this.welcome());
    } else {
      if (this.config.welcome) this.thread.append(this.welcomeBubble());
      const summary = this.inputsSummary();
      if (summary) this.thread.append(summary);
      for (const m of messages) this.thread.append(this.messageEl(m));
    }
    this.scrollToBottom(true);
  }

  /** What the chat started with, one line above it. */
  private inputsSummary(): HTMLElement | undefined {
    const line = formSummary(this.config.inputs ?? [], this.state.inputs);
    if (!line) return undefined;
    const el = h('p', { class: 'inputs-summary' });
    el.textContent = line;
    return el;
  }

  /**
   * Before the first message of a chat with a form: the form's values become the chat's inputs.
   * False (the form shows which field is missing) when a required one is empty.
   */
  private takeFormValues(): boolean {
    if (this.state.messages.length > 0 || !this.form) return true;
    const values = this.form.read();
    if (!values) return false;
    this.state.inputs = values;
    this.lastInputs = values;
    return true;
  }

  private welcome(): HTMLElement {
    const { t, config } = this;
    const el = h('section', { class: 'welcome' });
    el.append(h('div', { class: 'avatar avatar-hero' }, botAvatar(config.skin, config.botName)));
    const title = h('h2', { class: 'welcome-title' });
    title.textContent = config.botName;
    el.append(title);
    if (config.welcome) el.append(h('div', { class: 'welcome-text markdown' }, renderMarkdown(config.welcome)));
    this.form = config.inputs?.length ? new AppForm(config.inputs, this.state.inputs ?? this.lastInputs ?? {}, this.t) : undefined;
    if (this.form) el.append(this.form.element);
    if (config.suggestions.length) {
      const list = h('div', { class: 'suggestions', role: 'group', 'aria-label': t.suggestions });
      for (const q of config.suggestions) {
        const chip = h('button', { type: 'button', class: 'chip' });
        chip.textContent = q;
        chip.addEventListener('click', () => void this.send(q));
        list.append(chip);
      }
      el.append(list);
    }
    return el;
  }

  private welcomeBubble(): HTMLElement {
    return this.messageEl({ id: 'welcome', role: 'bot', content: this.config.welcome ?? '', ts: this.state.messages[0]?.ts ?? Date.now() }, true);
  }

  private messageEl(m: ChatMessage, isWelcome = false): HTMLElement {
    const el = h('article', { class: `msg msg-${m.role}${isWelcome ? ' msg-welcome' : ''}`, 'data-id': m.id });
    if (m.role === 'bot') el.append(h('div', { class: 'avatar avatar-msg' }, botAvatar(this.config.skin, this.config.botName)));
    const body = h('div', { class: 'msg-body' });
    const name = h('div', { class: 'msg-name' });
    name.textContent = m.role === 'bot' ? this.config.botName : this.t.you;
    body.append(name);
    const row = h('div', { class: 'msg-row' });
    const bubble = h('div', { class: 'bubble' });
    row.append(bubble, h('time', { class: 'msg-time', datetime: new Date(m.ts).toISOString() }, timeLabel(m.ts, this.config.lang)));
    body.append(row);
    if (m.role === 'bot' && !isWelcome) body.append(h('div', { class: 'msg-actions' }));
    el.append(body);
    this.fillMessage(el, m);
    return el;
  }

  /** (Re)draws the inside of one message from its state. */
  private fillMessage(el: HTMLElement, m: ChatMessage): void {
    const bubble = el.querySelector<HTMLElement>('.bubble')!;
    const streaming = m.status === 'streaming';
    bubble.classList.toggle('streaming', streaming);
    if (m.role === 'user') {
      const p = h('div', { class: 'user-text' });
      p.textContent = m.content;
      const parts: HTMLElement[] = [];
      if (m.images?.length) {
        const images = h('div', { class: 'msg-images' });
        for (const src of m.images) images.append(h('img', { src, alt: this.t.image }));
        parts.push(images);
      }
      bubble.replaceChildren(...parts, p);
      return;
    }
    const parts: HTMLElement[] = [];
    if (m.reasoning || m.tools?.length) parts.push(this.reasoningEl(el, m));
    if (m.files?.length) {
      const files = h('div', { class: 'files' });
      for (const f of m.files) {
        if (f.kind === 'image') {
          const a = h('a', { href: f.url, target: '_blank', rel: 'noopener noreferrer' });
          a.append(h('img', { src: f.url, alt: this.t.image, loading: 'lazy', referrerpolicy: 'no-referrer' }));
          files.append(a);
        } else {
          const a = h('a', { class: 'file-link', href: f.url, target: '_blank', rel: 'noopener noreferrer' }, icons.file);
          a.append(document.createTextNode(this.t.file));
          files.append(a);
        }
      }
      parts.push(files);
    }
    if (m.content) {
      const content = h('div', { class: 'content markdown' }, renderMarkdown(m.content));
      this.enhanceCode(content);
      parts.push(content);
    } else if (streaming && !m.reasoning && !m.tools?.length) {
      const typing = h('div', { class: 'typing', 'aria-label': this.t.typing }, '<span></span><span></span><span></span>');
      if (m.progress) {
        const label = h('em', { class: 'typing-status' });
        label.textContent = m.progress;
        typing.append(label);
      }
      parts.push(typing);
    }
    if (m.sources?.length) parts.push(this.sourcesEl(m.sources));
    if (m.followUps?.length && this.state.messages[this.state.messages.length - 1] === m) parts.push(this.followUpsEl(m.followUps));
    if (m.status === 'stopped') parts.push(h('div', { class: 'msg-note' }, this.t.stopped));
    if (m.status === 'error') {
      const err = h('div', { class: 'msg-error', role: 'alert' }, icons.alert);
      const text = h('span');
      text.textContent = m.error || this.t.errorGeneric;
      err.append(text);
      parts.push(err);
    }
    bubble.replaceChildren(...parts);
    this.fillActions(el, m);
  }

  /** The app's suggested next questions: one click asks. */
  private followUpsEl(questions: string[]): HTMLElement {
    const box = h('div', { class: 'follow-ups', role: 'group', 'aria-label': this.t.followUps });
    for (const q of questions) {
      const chip = h('button', { type: 'button', class: 'chip follow-up' });
      chip.textContent = q;
      chip.addEventListener('click', () => void this.send(q));
      box.append(chip);
    }
    return box;
  }

  /** A JSON POST to one of the page's API routes, as this browser and for the app on show. */
  private post(path: string, body: Record<string, unknown>): Promise<Response> {
    return fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ uid: this.uid, app: this.appId ?? '', ...body }),
      credentials: 'same-origin',
    });
  }

  /** Asks the app for follow-up questions to a finished answer (where the host can). */
  private async loadFollowUps(bot: ChatMessage): Promise<void> {
    try {
      const res = await this.post('api/suggested', { messageId: bot.difyId });
      if (!res.ok) return;
      const { questions } = (await res.json()) as { questions?: unknown };
      const list = Array.isArray(questions) ? questions.filter((q): q is string => typeof q === 'string' && q !== '') : [];
      // Only if this is still the latest answer and nothing new is running.
      if (list.length === 0 || this.run || this.state.messages[this.state.messages.length - 1] !== bot) return;
      bot.followUps = list;
      this.redraw(bot);
      this.save();
      this.scrollToBottom();
    } catch {
      // Suggestions are a nicety: without them the chat goes on.
    }
  }

  /** The answer in the app's own voice, as the server relays it from Dify. */
  private async appSpeech(messageId: string, text: string): Promise<Blob> {
    const res = await this.post('api/speech', { messageId, text });
    if (!res.ok) throw new HttpError(this.t.errorGeneric, res.status);
    return res.blob();
  }

  /** Sends like / dislike (the same again withdraws it). */
  private async rate(el: HTMLElement, m: ChatMessage, rating: 'like' | 'dislike'): Promise<void> {
    const next = m.rating === rating ? null : rating;
    const ok = await this.post('api/feedback', { messageId: m.difyId, rating: next })
      .then((r) => r.ok)
      .catch(() => false);
    if (!ok) {
      this.announce(this.t.feedbackFailed);
      return;
    }
    if (next) m.rating = next;
    else delete m.rating;
    this.save();
    this.fillActions(el, m);
  }

  /** The cited documents, folded: names first, the cited passage on opening. */
  private sourcesEl(sources: PageSource[]): HTMLElement {
    const d = h('details', { class: 'sources' });
    const summary = h('summary');
    summary.textContent = `${this.t.sources} (${sources.length})`;
    const list = h('ol');
    for (const s of sources) {
      const item = h('li');
      const name = h('span', { class: 'source-name' });
      name.textContent = s.page ? `${s.name}, p. ${s.page}` : s.name;
      item.append(name);
      if (s.dataset) {
        const dataset = h('span', { class: 'source-dataset' });
        dataset.textContent = s.dataset;
        item.append(dataset);
      }
      if (s.excerpt) {
        const excerpt = h('blockquote');
        excerpt.textContent = s.excerpt;
        item.append(excerpt);
      }
      list.append(item);
    }
    d.append(summary, list);
    return d;
  }

  private reasoningEl(el: HTMLElement, m: ChatMessage): HTMLElement {
    const wasOpen = el.querySelector<HTMLDetailsElement>('details.reasoning')?.open ?? false;
    const thinking = m.status === 'streaming' && !m.content;
    const d = h('details', { class: `reasoning${thinking ? ' is-thinking' : ''}` });
    d.open = wasOpen;
    const s = h('summary', {}, icons.spark);
    const label = h('span');
    const running = m.tools?.find((tl) => !tl.observation);
    label.textContent = thinking ? (running && m.status === 'streaming' ? fill(this.t.usingTool, { tool: running.tool }) : this.t.thinking) : this.t.thoughts;
    s.append(label, h('span', { class: 'chev' }, icons.chevron));
    d.append(s);
    const body = h('div', { class: 'reasoning-body' });
    if (m.reasoning) body.append(h('div', { class: 'markdown' }, renderMarkdown(m.reasoning)));
    for (const tool of m.tools ?? []) {
      const item = h('div', { class: 'tool' });
      const head = h('div', { class: 'tool-head' }, icons.tool);
      head.append(document.createTextNode(fill(tool.observation ? this.t.usedTool : this.t.usingTool, { tool: tool.tool })));
      item.append(head);
      for (const [label, value] of [
        [this.t.toolInput, tool.input],
        [this.t.toolOutput, tool.observation],
      ] as const) {
        if (!value) continue;
        const pre = h('pre', { class: 'tool-io' });
        pre.setAttribute('data-label', label);
        pre.textContent = prettyJson(value);
        item.append(pre);
      }
      body.append(item);
    }
    d.append(body);
    return d;
  }

  private fillActions(el: HTMLElement, m: ChatMessage): void {
    const bar = el.querySelector<HTMLElement>('.msg-actions');
    if (!bar) return;
    bar.textContent = '';
    if (m.status === 'streaming') return;
    const t = this.t;
    if (m.content) {
      const copy = iconButton('copy', icons.copy, t.copy);
      copy.addEventListener('click', async () => {
        await copyText(m.content);
        copy.innerHTML = icons.check;
        copy.setAttribute('aria-label', t.copied);
        this.announce(t.copied);
        setTimeout(() => {
          copy.innerHTML = icons.copy;
          copy.setAttribute('aria-label', t.copy);
        }, 1500);
      });
      bar.append(copy);
      const appVoice = this.config.speech && m.difyId;
      if (appVoice || canSpeak) {
        const read = iconButton('read', isSpeaking(m.id) ? icons.speakerOff : icons.speaker, isSpeaking(m.id) ? t.stopReading : t.readAloud);
        read.addEventListener('click', () => {
          if (isSpeaking(m.id)) {
            stopSpeaking();
            this.fillActions(el, m);
            return;
          }
          if (appVoice) playAudio(m.id, this.appSpeech(m.difyId!, plainText(m.content)), () => this.fillActions(el, m));
          else {
            const text = plainText(m.content);
            speak(m.id, text, speechLang(text, this.config.lang), () => this.fillActions(el, m));
          }
          this.thread.querySelectorAll<HTMLElement>('.msg-bot').forEach((other) => {
            if (other !== el) {
              const om = this.state.messages.find((x) => x.id === other.dataset.id);
              if (om) this.fillActions(other, om);
            }
          });
          this.fillActions(el, m);
        });
        bar.append(read);
      }
    }
    if (this.config.feedback && m.difyId && !m.status) {
      for (const rating of ['like', 'dislike'] as const) {
        const button = iconButton(`rate rate-${rating}`, rating === 'like' ? icons.thumbUp : icons.thumbDown, t[rating]);
        button.setAttribute('aria-pressed', String(m.rating === rating));
        button.addEventListener('click', () => void this.rate(el, m, rating));
        bar.append(button);
      }
    }
    const last = this.state.messages[this.state.messages.length - 1];
    if (last === m && !this.run) {
      const regen = iconButton('regenerate', icons.refresh, m.status === 'error' ? t.retry : t.regenerate);
      regen.addEventListener('click', () => void this.regenerate());
      bar.append(regen);
    }
  }

  private enhanceCode(container: HTMLElement): void {
    container.querySelectorAll<HTMLElement>('.code-block').forEach((block) => {
      const head = block.querySelector('.code-head');
      const code = block.querySelector('code');
      if (!head || !code) return;
      const btn = h('button', { type: 'button', class: 'code-copy', 'aria-label': this.t.copyCode, title: this.t.copyCode }, icons.copy);
      btn.append(h('span', {}, this.t.copy));
      btn.addEventListener('click', async () => {
        await copyText(code.textContent ?? '');
        btn.innerHTML = icons.check;
        btn.append(h('span', {}, this.t.copied));
        setTimeout(() => {
          btn.innerHTML = icons.copy;
          btn.append(h('span', {}, this.t.copy));
        }, 1500);
      });
      head.append(btn);
    });
  }

  private queueRender(m: ChatMessage): void {
    if (this.renderQueued.has(m.id)) return;
    this.renderQueued.add(m.id);
    requestAnimationFrame(() => {
      this.renderQueued.delete(m.id);
      this.redraw(m);
    });
  }

  private redraw(m: ChatMessage): void {
    const el = this.thread.querySelector<HTMLElement>(`.msg[data-id="${m.id}"]`);
    if (el) this.fillMessage(el, m);
    if (this.stickToBottom) this.scrollToBottom();
  }

  private scrollToBottom(force = false): void {
    if (force) this.stickToBottom = true;
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  private announce(text: string): void {
    this.announcer.textContent = '';
    setTimeout(() => (this.announcer.textContent = text), 30);
  }

  private save(): void {
    this.store.save(this.appId, { id: this.chatId, state: this.state });
  }

  // ---------- chat history ----------

  private openChat(id: string): void {
    if (this.run) this.stop();
    stopSpeaking();
    const open = this.store.open(this.appId, id);
    this.chatId = open.id;
    this.state = open.state;
    this.attachments.clear();
    this.renderAll();
    this.input.focus();
  }

  // ---------- actions ----------

  private sendFromInput(): void {
    const text = this.input.value.trim();
    if (!text || this.config.problem || !this.takeFormValues()) return;
    this.input.value = '';
    this.updateComposer();
    void this.send(text);
  }

  private async send(text: string): Promise<void> {
    if (this.run || !this.takeFormValues()) return;
    stopSpeaking();
    const previous = this.state.messages[this.state.messages.length - 1];
    if (previous?.followUps) {
      delete previous.followUps;
      this.redraw(previous);
    }
    if (this.state.messages.length === 0) this.thread.textContent = '';
    if (this.state.messages.length === 0 && this.config.welcome) this.thread.append(this.welcomeBubble());
    if (this.state.messages.length === 0) {
      const summary = this.inputsSummary();
      if (summary) this.thread.append(summary);
    }
    const images = this.attachments.take();
    const user: ChatMessage = { id: randomId(8), role: 'user', content: text, ts: Date.now(), ...(images.length ? { images: images.map((i) => i.thumb) } : {}) };
    this.state.messages.push(user);
    this.thread.append(this.messageEl(user));
    await this.answer(text, images);
  }

  private async regenerate(): Promise<void> {
    if (this.run) return;
    const msgs = this.state.messages;
    const last = msgs[msgs.length - 1];
    if (last?.role === 'bot') {
      msgs.pop();
      this.thread.querySelector(`.msg[data-id="${last.id}"]`)?.remove();
    }
    const question = [...msgs].reverse().find((m) => m.role === 'user');
    if (question) await this.answer(question.content);
  }

  private async answer(query: string, images: PickedImage[] = []): Promise<void> {
    const bot: ChatMessage = { id: randomId(8), role: 'bot', content: '', ts: Date.now(), status: 'streaming' };
    this.state.messages.push(bot);
    const run: Run = { runId: randomId(12), controller: new AbortController(), message: bot };
    this.run = run;
    // Earlier answers lose their "regenerate" button while a new one streams.
    this.thread.querySelectorAll<HTMLElement>('.msg-bot').forEach((el) => {
      const m = this.state.messages.find((x) => x.id === el.dataset.id);
      if (m) this.fillActions(el, m);
    });
    this.thread.append(this.messageEl(bot));
    this.updateComposer();
    this.scrollToBottom(true);
    this.save();
    try {
      const response = await fetch('api/chat', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: JSON.stringify({ query, uid: this.uid, runId: run.runId, conversationId: this.state.conversationId ?? '', app: this.appId ?? '', ...(this.state.inputs ? { inputs: this.state.inputs } : {}), ...(images.length ? { images: images.map(({ type, data }) => ({ type, data })) } : {}) }),
        signal: run.controller.signal,
        credentials: 'same-origin',
      });
      for await (const event of readEvents(response)) this.apply(bot, event);
      if (bot.status === 'streaming') {
        // The stream ended without its end event: the connection was cut somewhere on the way.
        bot.status = 'error';
        bot.error = this.t.errorNetwork;
      }
      delete bot.progress;
    } catch (err) {
      if (run.controller.signal.aborted) bot.status = 'stopped';
      else if (err instanceof HttpError && err.status === 401) {
        location.reload();
        return;
      } else {
        bot.status = 'error';
        bot.error = err instanceof HttpError ? err.message : this.t.errorNetwork;
      }
    } finally {
      if (bot.status === 'done') delete bot.status;
      if (this.run === run) this.run = undefined;
      this.updateComposer();
      this.redraw(bot);
      this.save();
      this.thread.querySelectorAll<HTMLElement>('.msg-bot').forEach((el) => {
        const m = this.state.messages.find((x) => x.id === el.dataset.id);
        if (m && m !== bot) this.fillActions(el, m);
      });
    }
    if (bot.status !== 'error' && bot.content) this.announce(plainText(bot.content).slice(0, 500));
    if (!bot.status && bot.difyId && this.config.followUps) void this.loadFollowUps(bot);
  }

  private apply(bot: ChatMessage, e: PageEvent): void {
    switch (e.t) {
      case 'meta':
        if (e.reset) {
          delete this.state.conversationId;
          this.announce(this.t.reset);
        }
        if (e.conversationId) this.state.conversationId = e.conversationId;
        this.save();
        return;
      case 'content':
        bot.content += e.text;
        break;
      case 'reasoning':
        bot.reasoning = (bot.reasoning ?? '') + e.text;
        break;
      case 'replace':
        bot.content = e.text;
        break;
      case 'status':
        bot.progress = e.text;
        break;
      case 'tool': {
        bot.tools ??= [];
        const found = bot.tools.find((x) => x.id === e.id);
        const tool = { id: e.id, tool: e.tool, ...(e.input ? { input: e.input } : {}), ...(e.observation ? { observation: e.observation } : {}) };
        if (found) Object.assign(found, tool);
        else bot.tools.push(tool);
        break;
      }
      case 'sources':
        bot.sources = e.items;
        break;
      case 'file':
        bot.files ??= [];
        if (!bot.files.some((f) => f.url === e.url)) bot.files.push({ url: e.url, kind: e.kind });
        break;
      case 'end':
        if (e.conversationId) this.state.conversationId = e.conversationId;
        if (e.messageId) bot.difyId = e.messageId;
        bot.status = e.stopped ? 'stopped' : 'done';
        break;
      case 'error':
        bot.status = 'error';
        bot.error = e.message;
        break;
    }
    this.queueRender(bot);
  }

  private stop(): void {
    const run = this.run;
    if (!run) return;
    // Behind Dify the server is not told when the browser goes away, so ask it to stop explicitly.
    void fetch('api/stop', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ uid: this.uid, runId: run.runId }),
      credentials: 'same-origin',
    }).catch(() => undefined);
    run.controller.abort();
  }

  private newChat(focus = true): void {
    if (this.run) this.stop();
    stopSpeaking();
    // The form of the new chat starts from what this one used.
    if (this.state.inputs) this.lastInputs = this.state.inputs;
    const fresh = this.store.fresh(this.appId);
    this.chatId = fresh.id;
    this.state = fresh.state;
    this.renderAll();
    if (focus) this.input.focus();
  }

  private async switchApp(appId: string): Promise<void> {
    if (this.run) this.stop();
    try {
      const res = await fetch(`api/config?app=${encodeURIComponent(appId)}`, { credentials: 'same-origin' });
      if (res.ok) {
        const next = (await res.json()) as PageConfig;
        this.config = { ...next, skin: this.config.skin, lang: this.config.lang };
      }
    } catch {
      // keep the current texts
    }
    this.appId = appId;
    this.attachments.clear();
    this.updateComposer();
    this.updateMic();
    this.store.setLastApp(appId);
    const open = this.store.current(appId);
    this.chatId = open.id;
    this.state = open.state;
    this.history.toggle(false);
    const name = this.root.querySelector('.bot-name');
    if (name) name.textContent = this.config.botName;
    document.title = this.config.botName;
    const ph = fill(this.t.placeholder, { name: this.config.botName });
    this.input.placeholder = ph;
    this.input.setAttribute('aria-label', ph);
    this.renderAll();
  }

  private recording: Recording | undefined;
  /** Asking for the microphone, or waiting for the text: presses are ignored meanwhile. */
  private micBusy = false;

  /** Voice input is offered where this app transcribes (recorded here) or the browser recognizes speech. */
  private updateMic(): void {
    if (this.micBtn) this.micBtn.hidden = !((this.config.dictation && canRecord) || canListen);
  }

  private setMic(state: 'idle' | 'recording' | 'busy'): void {
    const mic = this.micBtn!;
    mic.classList.toggle('is-listening', state === 'recording');
    mic.setAttribute('aria-pressed', String(state === 'recording'));
    mic.setAttribute('aria-label', state === 'recording' ? this.t.voiceStop : state === 'busy' ? this.t.transcribing : this.t.voiceStart);
    mic.disabled = state === 'busy';
  }

  /** First press records; the second (or a minute) sends the recording to the app and puts its text in the composer. */
  private async toggleRecording(): Promise<void> {
    if (this.micBusy) return;
    if (!this.recording) {
      this.micBusy = true;
      try {
        this.recording = await startRecording(MAX_RECORDING_SECONDS, () => void this.toggleRecording());
        this.setMic('recording');
      } catch {
        this.announce(this.t.micUnavailable);
      } finally {
        this.micBusy = false;
      }
      return;
    }
    const wav = this.recording.stop();
    this.recording = undefined;
    this.micBusy = true;
    this.setMic('busy');
    try {
      const res = await this.post('api/transcribe', { type: 'audio/wav', audio: await blobToBase64(wav) });
      const body = (await res.json().catch(() => ({}))) as { text?: unknown };
      const text = res.ok && typeof body.text === 'string' ? body.text.trim() : '';
      if (text) {
        this.input.value = this.input.value ? `${this.input.value} ${text}` : text;
        this.updateComposer();
      } else this.announce(this.t.heardNothing);
    } catch {
      this.announce(this.t.heardNothing);
    } finally {
      this.micBusy = false;
      this.setMic('idle');
      this.input.focus();
    }
  }

  /** Voice input: the app's speech to text where it has it (recorded here, transcribed by Dify), else the browser's recognition. */
  private toggleVoice(): void {
    if (!this.micBtn) return;
    if (this.config.dictation && canRecord) {
      void this.toggleRecording();
      return;
    }
    if (this.stopListening) {
      this.stopListening();
      return;
    }
    const before = this.input.value;
    this.micBtn.classList.add('is-listening');
    this.micBtn.setAttribute('aria-label', this.t.voiceStop);
    this.micBtn.setAttribute('aria-pressed', 'true');
    this.stopListening = listen(
      this.config.lang === 'zh' ? 'zh-CN' : navigator.language || 'en-US',
      (text) => {
        this.input.value = (before ? before + ' ' : '') + text;
        this.updateComposer();
      },
      () => {
        this.stopListening = undefined;
        this.micBtn?.classList.remove('is-listening');
        this.micBtn?.setAttribute('aria-label', this.t.voiceStart);
        this.micBtn?.setAttribute('aria-pressed', 'false');
        this.input.focus();
      },
    );
  }
}

const MAX_RECORDING_SECONDS = 60;

function prettyJson(value: string): string {
  try {
    return JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return value;
  }
}

function start(): void {
  const raw = document.getElementById('dbw-config')?.textContent;
  if (!raw) return;
  const config = JSON.parse(raw) as PageConfig;
  const page = new ChatPage(config);
  (window as unknown as { __chatPage?: ChatPage }).__chatPage = page;
}

start();
