/**
 * The app's citations: Dify's `retriever_resources`, sent in `message_end` metadata when the app has
 * "Citations and attributions" on. One cited document per source (a document's several segments
 * are one source), in Dify's order. OpenAI's chat format has no place for knowledge-base sources,
 * so the OpenAI groups append them to the answer as a short markdown list; the chat page draws them.
 */

export interface CitedDocument {
  name: string;
  dataset?: string;
  page?: number;
  /** The first cited passage of the document, shortened. */
  excerpt?: string;
}

const EXCERPT_CHARS = 300;

/** What markdown would read as formatting in a document name. */
const MARKDOWN_SPECIAL = /[\\`*_[\]<>#|]/g;

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The documents a message_end (or blocking answer) metadata object cites. */
export function citedDocuments(metadata: unknown): CitedDocument[] {
  const list = metadata && typeof metadata === 'object' ? (metadata as { retriever_resources?: unknown }).retriever_resources : undefined;
  if (!Array.isArray(list)) return [];
  const out: CitedDocument[] = [];
  const seen = new Set<string>();
  for (const item of list) {
    if (!item || typeof item !== 'object') continue;
    const r = item as Record<string, unknown>;
    const name = typeof r.document_name === 'string' ? oneLine(r.document_name) : '';
    if (!name) continue;
    const key = typeof r.document_id === 'string' && r.document_id ? r.document_id : name;
    if (seen.has(key)) continue;
    seen.add(key);
    const doc: CitedDocument = { name };
    if (typeof r.dataset_name === 'string' && r.dataset_name.trim()) doc.dataset = oneLine(r.dataset_name);
    if (typeof r.page === 'number' && Number.isInteger(r.page) && r.page > 0) doc.page = r.page;
    if (typeof r.content === 'string' && r.content.trim()) {
      const text = oneLine(r.content);
      doc.excerpt = text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS - 1)}…` : text;
    }
    out.push(doc);
  }
  return out;
}

/** The markdown block to append after the answer; '' when there is nothing to cite. */
export function sourcesMarkdown(documents: readonly CitedDocument[]): string {
  if (documents.length === 0) return '';
  const escape = (text: string) => text.replace(MARKDOWN_SPECIAL, (c) => `\\${c}`);
  const lines = documents.map((d, i) => `${i + 1}. ${escape(d.name)}${d.page ? `, p. ${d.page}` : ''}${d.dataset ? ` (${escape(d.dataset)})` : ''}`);
  return `\n\nSources:\n${lines.join('\n')}`;
}
