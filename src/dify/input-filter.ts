/**
 * Optional input filter: strips the metadata that chat-platform bots prepend to user text before it
 * becomes a Dify query (off by default; see settings).
 *
 * OpenClaw (and bots built the same way) put this in front of every inbound message:
 *
 *   Conversation info (untrusted metadata):
 *   ```json
 *   { "message_id": "…", "sender_id": "…", "sender": "…", "timestamp": "Mon 2026-03-02 14:05 GMT+8" }
 *   ```
 *
 *   Sender (untrusted metadata):
 *   ```json
 *   { "label": "Alice (123)", "id": "123", "name": "Alice" }
 *   ```
 *
 *   [Mon 2026-03-02 14:05 GMT+8] the actual message
 *
 * Older builds put the JSON on one line without a fence, and the bracketed envelope takes forms like
 * `[Telegram Alice id:42 +5m 2026-03-02 14:05 GMT+8]`, `[iMessage +1555 Mon 2026-02-23 16:05:10]`
 * or `[WhatsApp 2026-01-05T12:00Z]`.
 *
 * What is removed:
 * - a block headed `<Label> (untrusted metadata):` on its own line followed by a fenced body
 *   (``` or ~~~, through the closing fence) or by a JSON value starting on the next line, together
 *   with the blank lines after it — at the start of the text or at the start of any later line
 *   (queued/batched messages repeat the blocks mid-text);
 * - a bracketed envelope `[… YYYY-MM-DD HH:MM[:SS] [TZ]]` (or `…THH:MMZ]`) and the space after it,
 *   at the start of the text or right after a removed block.
 * What is kept: everything else, byte for byte — including OpenClaw's `(untrusted, for context)`
 * blocks (replied/forwarded message, thread starter, chat history), which carry text the user is
 * reacting to, headers without a well-formed body, and brackets without a date-time.
 * Text without any of this comes back unchanged (the same string).
 */

const HEADER_TAIL = ' (untrusted metadata):';
const MAX_LABEL = 64;
const MAX_ENVELOPE = 200;
/** Inner text of an envelope: anything, then a date-time with optional seconds and zone at the end. */
const ENVELOPE_INNER =
  /(?:^|\s)\d{4}-\d{2}-\d{2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)(?:Z|\s?[A-Za-z]{1,5}(?:[+-]\d{1,2}(?::?\d{2})?)?)?$/;

function lineEnd(text: string, p: number): number {
  const e = text.indexOf('\n', p);
  return e < 0 ? text.length : e;
}

function nextLine(text: string, e: number): number {
  return e < text.length ? e + 1 : e;
}

function isBlank(text: string, p: number, e: number): boolean {
  for (let i = p; i < e; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

function skipBlankLines(text: string, p: number): number {
  while (p < text.length) {
    const e = lineEnd(text, p);
    if (!isBlank(text, p, e)) break;
    p = nextLine(text, e);
  }
  return p;
}

/** Index of the first non-blank character of the line starting at p (or e). */
function firstNonBlank(text: string, p: number, e: number): number {
  while (p < e && (text.charCodeAt(p) === 0x20 || text.charCodeAt(p) === 0x09)) p++;
  return p;
}

/** Index just past the JSON value starting at text[p] (`{` or `[`), string-aware; -1 if it never ends. */
function jsonValueEnd(text: string, p: number): number {
  let depth = 0;
  let inString = false;
  for (let i = p; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) depth++;
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** If a metadata block starts at the line [p, e), the offset just after it; otherwise -1. */
function metadataBlockEnd(text: string, p: number, e: number): number {
  let end = e;
  while (end > p && (text.charCodeAt(end - 1) === 0x0d || text.charCodeAt(end - 1) === 0x20)) end--;
  if (end - p <= HEADER_TAIL.length || !text.startsWith(HEADER_TAIL, end - HEADER_TAIL.length)) return -1;
  const labelLen = end - HEADER_TAIL.length - p;
  if (labelLen > MAX_LABEL) return -1;
  for (let i = p; i < p + labelLen; i++) {
    const c = text[i];
    if (c === '`' || c === '{' || c === '}' || c === '[' || c === ']' || c === ':') return -1;
  }
  if (e >= text.length) return -1;
  const bodyStart = e + 1;
  const bodyEnd = lineEnd(text, bodyStart);
  const q = firstNonBlank(text, bodyStart, bodyEnd);
  if (text.startsWith('```', q) || text.startsWith('~~~', q)) {
    const fence = text.slice(q, q + 3);
    let l = nextLine(text, bodyEnd);
    while (l < text.length) {
      const le = lineEnd(text, l);
      const f = firstNonBlank(text, l, le);
      if (text.startsWith(fence, f) && isBlank(text, f + 3, le)) return nextLine(text, le);
      l = nextLine(text, le);
    }
    return -1;
  }
  const c = text.charCodeAt(q);
  if (c === 0x7b || c === 0x5b) {
    const v = jsonValueEnd(text, q);
    if (v < 0) return -1;
    const le = lineEnd(text, v);
    if (!isBlank(text, v, le)) return -1;
    return nextLine(text, le);
  }
  return -1;
}

/** Length of a leading `[… date-time …]` envelope (plus one following space) at p, or 0. */
function envelopeLength(text: string, p: number, e: number): number {
  if (text.charCodeAt(p) !== 0x5b /* [ */) return 0;
  const close = text.indexOf(']', p + 1);
  if (close < 0 || close > e || close - p > MAX_ENVELOPE) return 0;
  if (!ENVELOPE_INNER.test(text.slice(p + 1, close).trimEnd())) return 0;
  let len = close + 1 - p;
  if (text.charCodeAt(p + len) === 0x20) len++;
  return len;
}

export function stripChatPlatformMetadata(text: string): string {
  if (!text) return text;
  const hasHeader = text.includes(HEADER_TAIL);
  const first = firstNonBlank(text, skipBlankLines(text, 0), text.length);
  if (!hasHeader && text.charCodeAt(first) !== 0x5b) return text;

  let out = '';
  let changed = false;
  let envelopeAllowed = true; // at the start of the text, or right after a removed block
  let p = 0;
  while (p < text.length) {
    const e = lineEnd(text, p);
    if (hasHeader) {
      const blockEnd = metadataBlockEnd(text, p, e);
      if (blockEnd >= 0) {
        changed = true;
        envelopeAllowed = true;
        p = skipBlankLines(text, blockEnd);
        continue;
      }
    }
    if (envelopeAllowed && !isBlank(text, p, e)) {
      envelopeAllowed = false;
      const cut = envelopeLength(text, p, e);
      if (cut > 0) {
        changed = true;
        p += cut;
      }
    }
    const next = nextLine(text, e);
    out += text.slice(p, next);
    p = next;
  }
  if (!changed) return text;
  // Blank lines left in front by removed blocks carry nothing.
  return out.slice(skipBlankLines(out, 0));
}
