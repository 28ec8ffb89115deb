/** The fixture builders themselves: shapes the rest of the suite relies on. */
import { describe, expect, it } from 'vitest';
import { agentChatStream, chatflowStream, chatLegacyStream, chatStream, completionStream, frame, legacyJson, workflowStream } from '../fakes/dify-apps.js';

describe('fake Dify app streams', () => {
  it('chat events start with event, conversation_id, message_id, created_at, task_id (F1 key order)', () => {
    const [first] = chatStream({ answer: 'a b c' });
    expect(Object.keys(first!).slice(0, 5)).toEqual(['event', 'conversation_id', 'message_id', 'created_at', 'task_id']);
  });
  it('legacy frames: spaced separators, ASCII escapes, same object when parsed', () => {
    const ev = chatLegacyStream()[0]!;
    const f = frame(ev, 'legacy');
    expect(f.startsWith('data: {"event": "message", "conversation_id": ')).toBe(true);
    expect(f).toContain('\\u4f60\\u597d');
    expect(JSON.parse(f.slice(6))).toEqual(ev);
    expect(legacyJson({ a: 'x }', b: [1, { c: '🙂' }] })).toBe('{"a": "x }", "b": [1, {"c": "\\ud83d\\ude42"}]}');
    expect(frame({ event: 'ping' })).toBe('event: ping\n\n');
  });
  it('chatflow terminal order is selectable; workflow and completion shapes', () => {
    const order = (o: 'message_end_first' | 'workflow_finished_first') => chatflowStream({ terminalOrder: o }).map((e) => e.event).slice(-2);
    expect(order('message_end_first')).toEqual(['message_end', 'workflow_finished']);
    expect(order('workflow_finished_first')).toEqual(['workflow_finished', 'message_end']);
    const wf = workflowStream({ answer: 'hello' });
    expect(wf[0]).toEqual({ event: 'ping' });
    expect(Object.keys(wf[1]!).slice(0, 3)).toEqual(['event', 'workflow_run_id', 'task_id']);
    expect(completionStream()[0]).not.toHaveProperty('conversation_id');
    expect(agentChatStream().map((e) => e.event)).toContain('message_file');
  });
});
