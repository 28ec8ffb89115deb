/**
 * JSON.parse for a stream of Dify frames, cheaper when frames repeat.
 *
 * An answer streams as hundreds of frames that are identical except for the text: every `message`
 * frame of one answer has the same ids, created_at and key order, and only `answer` differs
 * (`agent_message` the same; `text_chunk` differs only in `data.text`). Parsing each one in full is
 * most of the relay's per-event cost, so this parser remembers the last fully parsed frame as
 * `prefix + "<text>" + suffix` and, when a new frame has exactly that prefix and suffix, builds the
 * event from a copy of the remembered one with the new text. Anything else (another event, changed
 * ids, whitespace) is parsed in full and becomes the new template.
 *
 * Equivalence with JSON.parse: the prefix is byte-identical to one JSON.parse accepted, so the
 * parser state where the text starts is the same (inside the same object, right after the same
 * key); the text is a complete JSON string (closing quote found, escapes and control characters
 * handed to JSON.parse); the suffix is byte-identical too. So the result equals JSON.parse(frame).
 * Nested values (e.g. `from_variable_selector`) are shared between the events of one template:
 * consumers treat events as read-only.
 */

type Json = Record<string, unknown>;

/** Where the text lives in a repeated frame: a top-level key, or a key of one nested object. */
interface TextSlot {
  outer: string;
  inner?: string;
}

const SLOTS: Record<string, TextSlot> = {
  message: { outer: 'answer' },
  agent_message: { outer: 'answer' },
  text_chunk: { outer: 'data', inner: 'text' },
};

/** A backslash or a raw control character: the text needs JSON.parse's string rules. */
const NEEDS_JSON = /[\\\u0000-\u001f]/;

/** What ends a number, true, false or null. */
const TOKEN_END = /[,\]}\s]/;

export class RepeatedFrameParser {
  private prefix = '';
  private suffix = '';
  private template: Json | undefined;
  private slot: TextSlot | undefined;

  parse(frame: string): unknown {
    if (this.template !== undefined) {
      const event = this.reuse(frame);
      if (event !== undefined) return event;
    }
    const parsed: unknown = JSON.parse(frame);
    this.learn(frame, parsed);
    return parsed;
  }

  private reuse(frame: string): Json | undefined {
    const start = this.prefix.length;
    // slice + === compares with memcmp; startsWith/endsWith are several times slower in V8.
    if (frame.length < start + this.suffix.length + 2 || frame.charCodeAt(start) !== 34 || frame.slice(0, start) !== this.prefix) return undefined;
    const end = closingQuote(frame, start + 1);
    if (end < 0 || frame.length - end - 1 !== this.suffix.length || frame.slice(end + 1) !== this.suffix) return undefined;
    let text = frame.slice(start + 1, end);
    if (NEEDS_JSON.test(text)) {
      try {
        text = JSON.parse(frame.slice(start, end + 1)) as string;
      } catch {
        return undefined;
      }
    }
    const slot = this.slot!;
    const template = this.template!;
    if (slot.inner === undefined) return { ...template, [slot.outer]: text };
    return { ...template, [slot.outer]: { ...(template[slot.outer] as Json), [slot.inner]: text } };
  }

  /** Remembers `frame` as a template when it is a repeatable event whose text can be located. */
  private learn(frame: string, parsed: unknown): void {
    this.template = undefined;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return;
    const event = parsed as Json;
    const slot = typeof event.event === 'string' ? SLOTS[event.event] : undefined;
    if (!slot) return;
    const holder = slot.inner === undefined ? event : event[slot.outer];
    const key = slot.inner ?? slot.outer;
    if (holder === null || typeof holder !== 'object' || typeof (holder as Json)[key] !== 'string') return;
    const span = findTextSpan(frame, slot);
    if (!span) return;
    // Belt and braces: the span must hold exactly the parsed text.
    if (JSON.parse(frame.slice(span.start, span.end + 1)) !== (holder as Json)[key]) return;
    this.prefix = frame.slice(0, span.start);
    this.suffix = frame.slice(span.end + 1);
    this.template = event;
    this.slot = slot;
  }
}

/** Index of the unescaped `"` that closes the string whose content starts at `from`; -1 if none. */
function closingQuote(s: string, from: number): number {
  let i = s.indexOf('"', from);
  while (i >= 0) {
    let backslashes = 0;
    for (let j = i - 1; j >= from && s.charCodeAt(j) === 92; j--) backslashes++;
    if (backslashes % 2 === 0) return i;
    i = s.indexOf('"', i + 1);
  }
  return -1;
}

/**
 * The opening and closing quote of the slot's string value, found by walking the JSON text (strings,
 * objects and arrays), so key-like text inside another value is never taken for the key. A repeated
 * key counts by its last occurrence, as in JSON.parse. Runs once per template, not per frame.
 */
function findTextSpan(s: string, slot: TextSlot): { start: number; end: number } | undefined {
  const path = slot.inner === undefined ? [slot.outer] : [slot.outer, slot.inner];
  let i = 0;
  let found: { start: number; end: number } | undefined;
  const skipSpace = () => {
    while (isSpace(s.charCodeAt(i))) i++;
  };
  const expect = (code: number) => {
    if (s.charCodeAt(i) !== code) throw new SyntaxError('unexpected character');
    i++;
  };
  /** At an opening quote: moves past the string, returns its closing quote. */
  const string = (): number => {
    const end = closingQuote(s, i + 1);
    if (end < 0) throw new SyntaxError('unterminated string');
    i = end + 1;
    return end;
  };
  /** One value; `level` = how many path keys led here (-1: off the path). */
  const value = (level: number): void => {
    skipSpace();
    const c = s.charCodeAt(i);
    if (c === 34) {
      const start = i;
      const end = string();
      if (level === path.length) found = { start, end };
    } else if (c === 123 || c === 91) {
      const closer = c === 123 ? 125 : 93;
      i++;
      skipSpace();
      if (s.charCodeAt(i) === closer) {
        i++;
        return;
      }
      for (;;) {
        skipSpace();
        let next = -1;
        if (c === 123) {
          const keyStart = i;
          const keyEnd = string();
          const key = JSON.parse(s.slice(keyStart, keyEnd + 1)) as string;
          skipSpace();
          expect(58);
          if (level >= 0 && level < path.length && key === path[level]) next = level + 1;
        }
        value(next);
        skipSpace();
        if (s.charCodeAt(i) === 44) i++;
        else {
          expect(closer);
          return;
        }
      }
    } else {
      // number, true, false, null
      while (i < s.length && !TOKEN_END.test(s[i]!)) i++;
    }
  };
  try {
    value(0);
  } catch {
    return undefined;
  }
  return found;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}
