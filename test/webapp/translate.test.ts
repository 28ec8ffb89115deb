/** Dify events -> the page's stream events, over the shared fixture streams (test/fakes/dify-apps.ts). */
import { describe, expect, test } from 'vitest';
import { PageTranslator, type PageEvent } from '../../src/groups/webapp-skin/translate.js';
import { agentChatStream, chatflowStream, chatLegacyThinkingStream, chatReplaceStream, chatStream, completionStream, workflowNodeFailureStream, workflowStream } from '../fakes/dify-apps.js';

function translate(events: Array<Record<string, unknown> & { event: string }>, mode = 'chat'): PageEvent[] {
  const t = new PageTranslator(mode);
  return [...events.flatMap((e) => t.push(e)), ...t.finish(false)];
}

const text = (events: PageEvent[], kind: 'content' | 'reasoning') =>
  events
    .filter((e) => e.t === kind)
    .map((e) => (e as { text: string }).text)
    .join('');

describe('PageTranslator', () => {
  test('workflow: text_chunk deltas, or the outputs when nothing streamed; workflow_finished ends it; a failed run is an error', () => {
    const streamed = translate(workflowStream({ answer: 'Streamed result.' }), 'workflow');
    expect(text(streamed, 'content')).toBe('Streamed result.');
    expect(streamed.filter((e) => e.t === 'end')).toEqual([{ t: 'end' }]);
    expect(streamed.filter((e) => e.t === 'status').map((e) => (e as { text: string }).text)).toEqual(['Start', 'LLM', 'End']);
    const outputsOnly = translate(workflowStream({ textChunks: false, outputs: { summary: 'From outputs.' } }), 'workflow');
    expect(text(outputsOnly, 'content')).toBe('From outputs.');
    const failed = translate(workflowNodeFailureStream({ error: 'division by zero' }), 'workflow');
    expect(failed.at(-1)).toEqual({ t: 'error', message: 'division by zero', code: 'workflow_failed' });
    expect(failed.filter((e) => e.t === 'end')).toEqual([]);
    // A chatflow's workflow_finished is not its end: message_end is.
    const chatflow = translate(chatflowStream({ conversationId: 'c-9' }), 'advanced-chat');
    expect(chatflow.filter((e) => e.t === 'end')).toHaveLength(1);
    expect(chatflow.at(-1)).toMatchObject({ t: 'end', conversationId: 'c-9' });
  });

  test('completion: message deltas and message_end, no conversation', () => {
    const events = translate(completionStream({ answer: 'Hola.' }), 'completion');
    expect(text(events, 'content')).toBe('Hola.');
    expect(events.at(-1)).toMatchObject({ t: 'end' });
  });

  test('chat: content deltas, one meta with the ids, an end with the conversation', () => {
    const events = translate(chatStream({ conversationId: 'c-1', messageId: 'm-1', answer: 'Hello there, how can I help?' }));
    expect(events[0]).toEqual({ t: 'meta', conversationId: 'c-1', messageId: 'm-1' });
    expect(events.filter((e) => e.t === 'meta')).toHaveLength(1);
    expect(text(events, 'content')).toBe('Hello there, how can I help?');
    expect(events.at(-1)).toEqual({ t: 'end', conversationId: 'c-1', messageId: 'm-1' });
  });

  test("the app's citations arrive as one sources event just before the end", () => {
    const events = chatStream({ conversationId: 'c-2', answer: 'Yes.' });
    const end = events.at(-1)!;
    end.metadata = { ...(end.metadata as object), retriever_resources: [{ document_id: 'd1', document_name: 'Guide.pdf', dataset_name: 'Docs', page: 4, content: 'The guide says yes.' }] };
    const out = translate(events);
    expect(out.slice(-2)).toEqual([
      { t: 'sources', items: [{ name: 'Guide.pdf', dataset: 'Docs', page: 4, excerpt: 'The guide says yes.' }] },
      { t: 'end', conversationId: 'c-2', messageId: expect.any(String) },
    ]);
    expect(translate(chatStream({ answer: 'No sources.' })).some((e) => e.t === 'sources')).toBe(false);
  });

  test("older builds' <details> Thinking wrapper becomes reasoning", () => {
    const events = translate(chatLegacyThinkingStream({ reasoning: 'Let me weigh this.', answer: 'Done.' }));
    expect(text(events, 'reasoning')).toContain('Let me weigh this.');
    expect(text(events, 'content')).toBe('Done.');
  });

  test('agent-chat: tool use updates in place, the image once, the answer as content', () => {
    const events = translate(agentChatStream({ imageUrl: 'https://files.example/cat.png' }));
    const tools = events.filter((e) => e.t === 'tool') as Array<{ id: string; tool: string; observation?: string }>;
    expect(new Set(tools.map((t) => t.id)).size).toBe(1);
    expect(tools.at(-1)!.tool).toBe('dalle3');
    expect(tools.at(-1)!.observation).toContain('image has been created');
    expect(events.filter((e) => e.t === 'file')).toEqual([{ t: 'file', url: 'https://files.example/cat.png', kind: 'image' }]);
    expect(text(events, 'content')).toBe("I've drawn a watercolor cat on a windowsill for you — check the image above.");
  });

  test('chatflow: node titles as progress, the answer as content', () => {
    const events = translate(chatflowStream({ answer: 'Dify is an LLM app platform.' }));
    expect(events.filter((e) => e.t === 'status').map((e) => (e as { text: string }).text)).toEqual(['Start', 'LLM', 'Answer']);
    expect(text(events, 'content')).toBe('Dify is an LLM app platform.');
    expect(events.filter((e) => e.t === 'end')).toHaveLength(1);
  });

  test('message_replace replaces the answer', () => {
    const events = translate(chatReplaceStream({ replacement: 'Sorry, I cannot help with that.' }));
    expect(events.filter((e) => e.t === 'replace')).toEqual([{ t: 'replace', text: 'Sorry, I cannot help with that.' }]);
  });

  test('a stream cut short ends as stopped', () => {
    const t = new PageTranslator();
    t.push(chatStream({ conversationId: 'c-2', answer: 'partial answer here' })[0]!);
    expect(t.finish(true).at(-1)).toMatchObject({ t: 'end', conversationId: 'c-2', stopped: true });
  });
});
