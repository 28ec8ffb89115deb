/**
 * OpenAI's `stop` for answers that arrive in pieces: text up to the first stop sequence passes,
 * the sequence and everything after it do not. A piece that ends in what could be the start of a
 * sequence is held back until the next piece settles it, so nothing of a sequence ever leaks.
 */
export class StopSequences {
  private held = '';
  private done = false;
  private readonly sequences: string[];

  constructor(sequences: readonly string[]) {
    this.sequences = sequences.filter((s) => s !== '');
  }

  /** A stop sequence was seen: nothing more passes. */
  get stopped(): boolean {
    return this.done;
  }

  /** The part of `text` that may be shown now. */
  push(text: string): string {
    if (this.done) return '';
    const buf = this.held + text;
    let cut = -1;
    for (const s of this.sequences) {
      const i = buf.indexOf(s);
      if (i !== -1 && (cut === -1 || i < cut)) cut = i;
    }
    if (cut !== -1) {
      this.done = true;
      this.held = '';
      return buf.slice(0, cut);
    }
    const keep = this.pendingPrefix(buf);
    this.held = buf.slice(buf.length - keep);
    return buf.slice(0, buf.length - keep);
  }

  /** The answer ended: what was held back, unless a sequence was seen. */
  flush(): string {
    const rest = this.done ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest end of `buf` that begins some sequence. */
  private pendingPrefix(buf: string): number {
    let keep = 0;
    for (const s of this.sequences) {
      for (let k = Math.min(s.length - 1, buf.length); k > keep; k--) {
        if (buf.endsWith(s.slice(0, k))) {
          keep = k;
          break;
        }
      }
    }
    return keep;
  }
}

/** The request's `stop` as a list (a string, a list, or nothing). */
export function stopList(stop: string | readonly string[] | null | undefined): string[] {
  if (stop === null || stop === undefined) return [];
  return (typeof stop === 'string' ? [stop] : [...stop]).filter((s) => s !== '');
}
