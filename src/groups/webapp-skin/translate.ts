/**
 * Dify app events -> the page's own small stream protocol (one JSON object per SSE `data:` line).
 * The page never sees Dify's JSON; this is the only place that knows both.
 */
import { citedDocuments } from '../../dify/citations.js';
import type { DifyEvent } from '../../dify/events.js';
import { ReasoningSplitter, splitReasoning } from '../../dify/reasoning-splitter.js';
import { workflowAnswer } from '../../dify/translator.js';
import type { PageEvent } from './protocol.js';

export type { PageEvent } from './protocol.js';

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The answer without its reasoning blocks (for events that carry the whole answer). */
function visibleText(full: string): string {
  return splitReasoning(full).content;
}

export class PageTranslator {
  private splitter = new ReasoningSplitter();
  private conversationId?: string;
  private messageId?: string;
  private sawAgentMessage = false;
  private sawText = false;

  /** `mode`: the app's; a workflow answers with text_chunk events and ends with workflow_finished. */
  constructor(private readonly mode = 'chat') {}
  private tools = new Map<string, string>();
  private files = new Set<string>();
  ended = false;

  push(event: DifyEvent): PageEvent[] {
    const e = event as Record<string, unknown>;
    const out: PageEvent[] = [];
    const conv = str(e.conversation_id);
    const msg = str(e.message_id);
    if ((conv && conv !== this.conversationId) || (msg && msg !== this.messageId)) {
      if (conv) this.conversationId = conv;
      if (msg) this.messageId = msg;
      out.push({ t: 'meta', conversationId: this.conversationId, messageId: this.messageId });
    }
    switch (e.event) {
      case 'message':
        // New Agent apps close with one `message` holding the complete answer: replace, don't append.
        if (this.sawAgentMessage) {
          const full = str(e.answer);
          if (full) out.push({ t: 'replace', text: visibleText(full) });
        } else this.text(out, str(e.answer));
        break;
      case 'agent_message':
        this.sawAgentMessage = true;
        this.text(out, str(e.answer));
        break;
      case 'text_chunk': {
        if (this.mode !== 'workflow') break;
        const data = e.data as Record<string, unknown> | undefined;
        this.text(out, str(data?.text));
        break;
      }
      case 'workflow_finished': {
        // Chatflows go on to message_end; a workflow ends here.
        if (this.mode !== 'workflow') break;
        const data = (e.data ?? {}) as Record<string, unknown>;
        if (data.status !== 'succeeded' && data.status !== 'partial-succeeded') {
          this.flush(out);
          this.ended = true;
          out.push({ t: 'error', message: str(data.error) || `The workflow ${str(data.status) ?? 'failed'}.`, code: 'workflow_failed' });
          break;
        }
        if (!this.sawText && data.outputs && typeof data.outputs === 'object') this.text(out, workflowAnswer(data.outputs as Record<string, unknown>));
        this.flush(out);
        this.ended = true;
        out.push({ t: 'end' });
        break;
      }
      case 'agent_thought': {
        const tool = str(e.tool);
        const id = str(e.id) ?? '';
        if (!tool) break;
        const input = str(e.tool_input) || undefined;
        const observation = str(e.observation) || undefined;
        const key = JSON.stringify([tool, input, observation]);
        if (this.tools.get(id) === key) break;
        this.tools.set(id, key);
        out.push({ t: 'tool', id, tool, ...(input ? { input } : {}), ...(observation ? { observation } : {}) });
        break;
      }
      case 'message_file':
        if (e.belongs_to === undefined || e.belongs_to === 'assistant') this.file(out, str(e.url), str(e.type));
        break;
      case 'message_replace':
        out.push({ t: 'replace', text: visibleText(str(e.answer) ?? '') });
        break;
      case 'reasoning_chunk': {
        const data = e.data as Record<string, unknown> | undefined;
        const text = str(data?.reasoning);
        if (text) out.push({ t: 'reasoning', text });
        break;
      }
      case 'node_started': {
        // Chatflow progress while nothing is written yet ("Knowledge retrieval", "LLM"...).
        const data = e.data as Record<string, unknown> | undefined;
        const title = str(data?.title);
        if (title && !data?.iteration_id && !data?.loop_id) out.push({ t: 'status', text: title });
        break;
      }
      case 'message_end': {
        this.flush(out);
        if (Array.isArray(e.files)) {
          for (const f of e.files as Array<Record<string, unknown>>) this.file(out, str(f?.url), str(f?.type));
        }
        const sources = citedDocuments(e.metadata);
        if (sources.length > 0) out.push({ t: 'sources', items: sources });
        this.ended = true;
        out.push({ t: 'end', conversationId: this.conversationId, messageId: this.messageId });
        break;
      }
      case 'error':
        this.flush(out);
        this.ended = true;
        out.push({ t: 'error', message: str(e.message) ?? 'The app reported an error.', ...(str(e.code) ? { code: str(e.code) } : {}) });
        break;
      default:
        break;
    }
    return out;
  }

  /** The stream ended without message_end or error (stopped, or upstream closed). */
  finish(stopped: boolean): PageEvent[] {
    if (this.ended) return [];
    const out: PageEvent[] = [];
    this.flush(out);
    this.ended = true;
    out.push({ t: 'end', conversationId: this.conversationId, messageId: this.messageId, ...(stopped ? { stopped: true } : {}) });
    return out;
  }

  private text(out: PageEvent[], text: string | undefined): void {
    if (!text) return;
    this.sawText = true;
    for (const p of this.splitter.push(text)) out.push({ t: p.kind, text: p.text });
  }

  private flush(out: PageEvent[]): void {
    for (const p of this.splitter.flush()) out.push({ t: p.kind, text: p.text });
  }

  private file(out: PageEvent[], url: string | undefined, type: string | undefined): void {
    if (!url || this.files.has(url)) return;
    this.files.add(url);
    out.push({ t: 'file', url, kind: type ?? 'file' });
  }
}
