/**
 * Splits a streamed Dify answer into reasoning and content.
 *
 * Dify has no separate reasoning channel for chat, agent-chat and completion apps: reasoning arrives
 * inline in the answer text (../shared/reference/dify-service-api.md §7 item 3), either as
 *   `<think>\n … \n</think>\n\n answer`                       (model plugins, raw R1/Qwen/Ollama), or
 *   `<details style="…" open> <summary> Thinking... </summary>\n … </details> answer`  (older builds).
 * Tags straddle event boundaries, so this is a streaming state machine, not a per-event regex.
 *
 * Rules (decided here, pinned by test/unit/reasoning-splitter.test.ts):
 * - A block opens with `<think>` or with a `<details …>` whose `<summary>` says `Thinking...`
 *   (attributes, spacing and the dots are matched leniently). It closes with the matching
 *   `</think>` / `</details>`; anything else inside, including other tags, is reasoning.
 * - At the start of the answer, and right after a block closed (agent apps emit several rounds),
 *   `<think>` opens a block wherever it stands. Elsewhere in the answer it opens a block only when
 *   followed by a line break (`<think>\n`, as models and the plugin SDK emit it) and only outside
 *   a fenced code block: `` `<think>` tags ``, "wrap it in <think> tags" and code samples stay content.
 * - Whitespace right after an opening tag and right before a closing tag is dropped; so is the
 *   whitespace that follows a closing tag (the answer usually starts with "\n\n"). Whitespace at the
 *   very start of the answer is held and dropped if a block follows, kept otherwise.
 * - A `</think>` without an opening tag is content (the stream cannot be taken back).
 * - An unterminated block is reasoning up to the end of the stream.
 * - Holding back: only a suffix that could still become a tag (at most ~300 characters for the
 *   lenient `<details` opener, 8 for `<think>\n`) and whitespace that may turn out to be trimmed are
 *   held; everything else in a push is returned at once. Nothing else is ever dropped or repeated.
 * Each push is O(length of the push + held suffix); no regular expressions.
 */

export type Segment = { kind: 'reasoning' | 'content'; text: string };

type Mode = 'content' | 'think' | 'details';

const LT = 0x3c; // <
const NL = 0x0a;
const CR = 0x0d;
const TICK = 0x60;
const TILDE = 0x7e;
const SPACE = 0x20;

const THINK_OPEN = '<think>';
const THINK_CLOSE = '</think>';
const DETAILS_OPEN = '<details';
const DETAILS_CLOSE = '</details>';
const SUMMARY_OPEN = '<summary>';
const SUMMARY_CLOSE = '</summary>';
const THINKING = 'Thinking';
/** Upper bound on the attribute text of a legacy `<details …>` opener (Dify's is ~90 chars). */
const MAX_DETAILS_ATTRS = 256;

const NONE = -1;
const PARTIAL = -2;

function isWs(c: number): boolean {
  return c === SPACE || c === NL || c === CR || c === 0x09;
}

/** Compares `lit` at s[i…]: MATCH (index past it), PARTIAL (s ends inside a prefix), or NONE. */
function matchLiteral(s: string, i: number, lit: string): number {
  const n = s.length;
  for (let k = 0; k < lit.length; k++) {
    if (i + k >= n) return PARTIAL;
    if (s.charCodeAt(i + k) !== lit.charCodeAt(k)) return NONE;
  }
  return i + lit.length;
}

function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

/** `<details …> <summary> Thinking... </summary>` at s[i]: end index, PARTIAL or NONE. */
function matchDetailsOpener(s: string, i: number): number {
  const n = s.length;
  let p = matchLiteral(s, i, DETAILS_OPEN);
  if (p < 0) return p;
  if (p >= n) return PARTIAL;
  const c = s.charCodeAt(p);
  if (c !== 0x3e /* > */ && !isWs(c)) return NONE;
  const limit = p + MAX_DETAILS_ATTRS;
  while (p < n && s.charCodeAt(p) !== 0x3e) {
    if (s.charCodeAt(p) === LT || p >= limit) return NONE;
    p++;
  }
  if (p >= n) return PARTIAL;
  p = skipWs(s, p + 1);
  if (p >= n) return PARTIAL;
  p = matchLiteral(s, p, SUMMARY_OPEN);
  if (p < 0) return p;
  p = skipWs(s, p);
  if (p >= n) return PARTIAL;
  p = matchLiteral(s, p, THINKING);
  if (p < 0) return p;
  let dots = 0;
  while (p < n && dots < 3 && (s.charCodeAt(p) === 0x2e /* . */ || s.charCodeAt(p) === 0x2026 /* … */)) {
    p++;
    dots++;
  }
  p = skipWs(s, p);
  if (p >= n) return PARTIAL;
  return matchLiteral(s, p, SUMMARY_CLOSE);
}

/** Collects segments of one push, merging neighbours of the same kind and dropping empty ones. */
class SegmentList {
  readonly list: Segment[] = [];
  add(kind: Segment['kind'], text: string): void {
    if (!text) return;
    const last = this.list[this.list.length - 1];
    if (last && last.kind === kind) last.text += text;
    else this.list.push({ kind, text });
  }
}

export class ReasoningSplitter {
  private mode: Mode = 'content';
  /** Undecided suffix, always starting at a `<` that may begin a tag. */
  private held = '';
  /** Content: nothing but whitespace since the start of the answer or the last closed block. */
  private boundary = true;
  /** Content at a boundary: whitespace is dropped (after a block) rather than held (answer start). */
  private dropWs = false;
  /** Whitespace held at the start of the answer. */
  private leadWs = '';
  /** Reasoning: whitespace after the opener is still being skipped. */
  private skipLead = false;
  /** Reasoning: trailing whitespace, dropped if the block closes next. */
  private trailWs = '';
  // Fenced-code tracking over content (CommonMark-ish: ``` or ~~~ after up to 3 spaces).
  private inFence = false;
  private fenceChar = 0;
  private lineStart = true;
  private lineSpaces = 0;
  private runChar = 0;
  private runLen = 0;

  push(text: string): Segment[] {
    if (!text) return [];
    // Most pushes: plain content in the middle of a line. With no `<` (no tag can start) and no
    // line break (fence tracking only acts at line starts), the scan would return the text as is.
    if (this.mode === 'content' && !this.held && !this.boundary && !this.lineStart && text.indexOf('<') < 0 && text.indexOf('\n') < 0) {
      return [{ kind: 'content', text }];
    }
    const out = new SegmentList();
    this.run(this.held ? this.held + text : text, out);
    return out.list;
  }

  /** Ends the stream: releases whatever was held and resets the splitter for reuse. */
  flush(): Segment[] {
    const out = new SegmentList();
    if (this.mode === 'content') {
      out.add('content', this.leadWs + this.held);
    } else {
      const held = this.held;
      this.held = '';
      if (held) this.emitReasoning(held, out);
    }
    this.reset();
    return out.list;
  }

  private reset(): void {
    this.mode = 'content';
    this.held = '';
    this.boundary = true;
    this.dropWs = false;
    this.leadWs = '';
    this.skipLead = false;
    this.trailWs = '';
    this.resetLine();
    this.inFence = false;
  }

  private resetLine(): void {
    this.lineStart = true;
    this.lineSpaces = 0;
    this.runChar = 0;
    this.runLen = 0;
  }

  private run(buf: string, out: SegmentList): void {
    this.held = '';
    let i = 0;
    while (i < buf.length) {
      i = this.mode === 'content' ? this.scanContent(buf, i, out) : this.scanReasoning(buf, i, out);
    }
  }

  private openBlock(kind: 'think' | 'details'): void {
    this.mode = kind;
    this.skipLead = true;
    this.trailWs = '';
    this.leadWs = '';
    this.boundary = false;
  }

  /** Content from buf[i]; returns where scanning stopped (buf.length when done or held). */
  private scanContent(buf: string, i: number, out: SegmentList): number {
    const n = buf.length;
    if (this.boundary) {
      let p = i;
      while (p < n && isWs(buf.charCodeAt(p))) p++;
      if (!this.dropWs) this.leadWs += buf.slice(i, p);
      if (p >= n) return n;
      if (buf.charCodeAt(p) === LT) {
        const m = this.matchOpener(buf, p, true);
        if (m === PARTIAL) {
          this.held = buf.slice(p);
          return n;
        }
        if (m !== NONE) return m;
      }
      out.add('content', this.leadWs);
      this.leadWs = '';
      this.boundary = false;
      this.dropWs = false;
      i = p;
    }
    const start = i;
    for (; i < n; i++) {
      const c = buf.charCodeAt(i);
      if (c === LT && !this.inFence) {
        const m = this.matchOpener(buf, i, false);
        if (m === PARTIAL) {
          out.add('content', buf.slice(start, i));
          this.held = buf.slice(i);
          return n;
        }
        if (m !== NONE) {
          out.add('content', buf.slice(start, i));
          return m;
        }
      }
      this.track(c);
    }
    out.add('content', buf.slice(start, n));
    return n;
  }

  /** Opening tag at buf[i] (a `<`): index past it (mode switched), PARTIAL or NONE. */
  private matchOpener(buf: string, i: number, anywhere: boolean): number {
    const n = buf.length;
    const t = matchLiteral(buf, i, THINK_OPEN);
    if (t === PARTIAL) return PARTIAL;
    if (t >= 0) {
      if (!anywhere) {
        if (t >= n) return PARTIAL;
        const c = buf.charCodeAt(t);
        if (c !== NL && c !== CR) return NONE;
      }
      this.openBlock('think');
      return t;
    }
    const d = matchDetailsOpener(buf, i);
    if (d >= 0) this.openBlock('details');
    return d;
  }

  /** Updates the fenced-code state with one content character. */
  private track(c: number): void {
    if (c === NL) {
      this.resetLine();
      return;
    }
    if (!this.lineStart) return;
    if (c === SPACE && this.runLen === 0 && this.lineSpaces < 3) {
      this.lineSpaces++;
      return;
    }
    if ((c === TICK || c === TILDE) && (this.runLen === 0 || c === this.runChar)) {
      this.runChar = c;
      this.runLen++;
      if (this.runLen === 3) {
        if (!this.inFence) {
          this.inFence = true;
          this.fenceChar = c;
        } else if (c === this.fenceChar) {
          this.inFence = false;
        }
        this.lineStart = false;
      }
      return;
    }
    this.lineStart = false;
  }

  /** Reasoning from buf[i]; returns where scanning stopped. */
  private scanReasoning(buf: string, i: number, out: SegmentList): number {
    const n = buf.length;
    if (this.skipLead) {
      while (i < n && isWs(buf.charCodeAt(i))) i++;
      if (i >= n) return n;
      this.skipLead = false;
    }
    const closer = this.mode === 'think' ? THINK_CLOSE : DETAILS_CLOSE;
    let p = i;
    for (;;) {
      const lt = buf.indexOf('<', p);
      if (lt < 0) {
        this.emitReasoning(buf.slice(i), out);
        return n;
      }
      const m = matchLiteral(buf, lt, closer);
      if (m === NONE) {
        p = lt + 1;
        continue;
      }
      this.emitReasoning(buf.slice(i, lt), out);
      if (m === PARTIAL) {
        this.held = buf.slice(lt);
        return n;
      }
      this.trailWs = '';
      this.mode = 'content';
      this.boundary = true;
      this.dropWs = true;
      this.resetLine();
      return m;
    }
  }

  /** Emits reasoning text, holding its trailing whitespace until more reasoning follows. */
  private emitReasoning(s: string, out: SegmentList): void {
    if (!s) return;
    let k = s.length;
    while (k > 0 && isWs(s.charCodeAt(k - 1))) k--;
    if (k === 0) {
      this.trailWs += s;
      return;
    }
    out.add('reasoning', this.trailWs + s.slice(0, k));
    this.trailWs = s.slice(k);
  }
}

/** Splits a complete answer (blocking mode) with the same rules as the streaming splitter. */
export function splitReasoning(text: string): { reasoning: string; content: string } {
  const splitter = new ReasoningSplitter();
  let reasoning = '';
  let content = '';
  for (const seg of [...splitter.push(text), ...splitter.flush()]) {
    if (seg.kind === 'reasoning') reasoning += seg.text;
    else content += seg.text;
  }
  return { reasoning, content };
}
