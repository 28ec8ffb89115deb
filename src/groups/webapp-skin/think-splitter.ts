/**
 * Stand-in until src/dify/reasoning-splitter.ts lands: splits `<think>…</think>` out of streamed text,
 * tags split across chunks included. Same shape as the shared ReasoningSplitter.
 */
export interface Part {
  kind: 'reasoning' | 'content';
  text: string;
}

const OPEN = '<think>';
const CLOSE = '</think>';

export class ThinkSplitter {
  private inside = false;
  private pending = '';
  private started = false;

  push(text: string): Part[] {
    const out: Part[] = [];
    let buf = this.pending + text;
    this.pending = '';
    while (buf) {
      const tag = this.inside ? CLOSE : OPEN;
      const at = buf.indexOf(tag);
      if (at >= 0) {
        this.emit(out, buf.slice(0, at));
        buf = buf.slice(at + tag.length);
        this.inside = !this.inside;
        continue;
      }
      // Hold back a suffix that could be the start of the tag.
      let keep = 0;
      for (let n = Math.min(tag.length - 1, buf.length); n > 0; n--) {
        if (tag.startsWith(buf.slice(buf.length - n))) {
          keep = n;
          break;
        }
      }
      this.emit(out, buf.slice(0, buf.length - keep));
      this.pending = buf.slice(buf.length - keep);
      break;
    }
    return out;
  }

  flush(): Part[] {
    const out: Part[] = [];
    this.emit(out, this.pending);
    this.pending = '';
    return out;
  }

  private emit(out: Part[], text: string): void {
    if (!text) return;
    // Leading whitespace before the first visible content is noise left around the think block.
    if (!this.inside && !this.started) {
      text = text.replace(/^\s+/, '');
      if (!text) return;
      this.started = true;
    }
    const kind = this.inside ? 'reasoning' : 'content';
    const last = out[out.length - 1];
    if (last && last.kind === kind) last.text += text;
    else out.push({ kind, text });
  }
}
