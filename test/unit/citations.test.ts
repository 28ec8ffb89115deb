// The app's citations as the Sources list a chat client shows under the answer.
import { describe, expect, it } from 'vitest';
import { citedDocuments, sourcesMarkdown } from '../../src/dify/citations.js';

const segment = (document_id: string, document_name: string, extra: Record<string, unknown> = {}) => ({
  position: 1, dataset_id: 'ds', dataset_name: 'Handbook', document_id, document_name, segment_id: 's', score: 0.8, content: '...', ...extra,
});

describe('citedDocuments', () => {
  it('keeps the first passage of each document, shortened to one line', () => {
    const long = 'word '.repeat(100);
    expect(citedDocuments({ retriever_resources: [segment('d1', 'A.md', { content: 'Line one\n\nline two' }), segment('d2', 'B.md', { content: long })] })).toEqual([
      { name: 'A.md', dataset: 'Handbook', excerpt: 'Line one line two' },
      { name: 'B.md', dataset: 'Handbook', excerpt: long.trim().slice(0, 299) + '…' },
    ]);
  });
});

describe('sourcesMarkdown', () => {
  it('lists each document once, in Dify order, with its knowledge base and page', () => {
    const md = sourcesMarkdown(citedDocuments({ retriever_resources: [segment('d1', 'Leave policy.pdf', { page: 3 }), segment('d2', 'FAQ.md'), segment('d1', 'Leave policy.pdf', { page: 7 })] }));
    expect(md).toBe('\n\nSources:\n1. Leave policy.pdf, p. 3 (Handbook)\n2. FAQ.md (Handbook)');
  });

  it('keeps names literal in markdown and on one line', () => {
    expect(sourcesMarkdown(citedDocuments({ retriever_resources: [segment('d1', '*draft*\n[v2] <notes>.md', { dataset_name: '' })] }))).toBe('\n\nSources:\n1. \\*draft\\* \\[v2\\] \\<notes\\>.md');
  });

  it('is empty when the app cites nothing (citations off, or no document matched)', () => {
    expect(sourcesMarkdown([])).toBe('');
    expect(citedDocuments({ retriever_resources: [{ score: 1 }, null] })).toEqual([]);
    expect(citedDocuments(null)).toEqual([]);
    expect(citedDocuments({ usage: {} })).toEqual([]);
  });
});
