import { describe, expect, it } from 'vitest';
import { stripChatPlatformMetadata } from '../../src/dify/input-filter.js';

/** Builds the prefix the way OpenClaw's gateway does: header, fenced pretty JSON, blocks joined by a blank line. */
function block(header: string, payload: unknown): string {
  return [header, '```json', JSON.stringify(payload, null, 2), '```'].join('\n');
}

const CONVERSATION = block('Conversation info (untrusted metadata):', {
  message_id: 'dbce89ac-9ea2-428b-9f16-c7a02c15d871',
  sender_id: 'openclaw-control-ui',
  sender: 'openclaw-control-ui',
});
const DISCORD_CONVERSATION = block('Conversation info (untrusted metadata):', {
  message_id: '1489888121708609717',
  sender_id: '486281459892486154',
  sender: 'Don',
  timestamp: 'Sat 2026-04-04 01:23 MDT',
});
const SENDER = block('Sender (untrusted metadata):', {
  label: 'Don (486281459892486154)',
  id: '486281459892486154',
  name: 'Don',
  username: 'don',
  tag: 'don',
});
const REPLIED = block('Replied message (untrusted, for context):', {
  sender_label: 'Bot',
  body: 'Edge TTS installed.\n\n```bash\nedge-tts --help\n```',
});

describe('stripChatPlatformMetadata', () => {
  it('strips a conversation-info block and the webchat timestamp envelope', () => {
    const input = `${CONVERSATION}\n\n[Mon 2026-02-23 23:41 GMT+8] 你终于回来了，帮我确认一下 telegram 能用吗`;
    expect(stripChatPlatformMetadata(input)).toBe('你终于回来了，帮我确认一下 telegram 能用吗');
  });

  it('strips conversation info plus sender blocks (Discord/Telegram shape)', () => {
    const input = `${DISCORD_CONVERSATION}\n\n${SENDER}\n\nWe need to do a deep dive into the budget app.\n\nStart with the layout.`;
    expect(stripChatPlatformMetadata(input)).toBe(
      'We need to do a deep dive into the budget app.\n\nStart with the layout.',
    );
  });

  it('strips a sender block on its own', () => {
    expect(stripChatPlatformMetadata(`${SENDER}\n\nhello`)).toBe('hello');
  });

  it('strips the unfenced one-line JSON form of older builds', () => {
    const input =
      'Conversation info (untrusted metadata):\n{"message_id":"abc","sender":"openclaw-control-ui"}\n\n[Wed 2026-02-18 18:04 GMT+1] hello';
    expect(stripChatPlatformMetadata(input)).toBe('hello');
  });

  it('strips any "(untrusted metadata)" label, e.g. forwarded message context', () => {
    const input = `${block('Forwarded message context (untrusted metadata):', { from: 'Alice', type: 'user' })}\n\nwhat do you think?`;
    expect(stripChatPlatformMetadata(input)).toBe('what do you think?');
  });

  it('keeps "(untrusted, for context)" blocks, which carry the replied-to text', () => {
    const input = `${DISCORD_CONVERSATION}\n\n${SENDER}\n\n${REPLIED}\n\nCan you document this?`;
    expect(stripChatPlatformMetadata(input)).toBe(`${REPLIED}\n\nCan you document this?`);
  });

  it('strips timestamp envelopes in their other shapes', () => {
    expect(stripChatPlatformMetadata('[Mon 2026-03-02 14:05 GMT+8] hi')).toBe('hi');
    expect(stripChatPlatformMetadata('[Wed 2026-03-11 23:51 PDT] hi')).toBe('hi');
    expect(stripChatPlatformMetadata('[iMessage +1555 Mon 2026-02-23 16:05:10] hi')).toBe('hi');
    expect(stripChatPlatformMetadata('[Telegram Alice id:42 +5m 2026-03-02 14:05 GMT+05:30] hi')).toBe('hi');
    expect(stripChatPlatformMetadata('[WhatsApp +4915 2026-01-05T12:00Z] hi')).toBe('hi');
    expect(stripChatPlatformMetadata('[Fri 2026-04-17 12:14 UTC]\nmultiline\nmessage')).toBe('multiline\nmessage');
  });

  it('strips blocks repeated mid-text for queued messages', () => {
    const input = `[Queued messages while agent was busy]\n\n---\nQueued #1 (from Nico)\n${DISCORD_CONVERSATION}\n\n${SENDER}\n\n[Fri 2026-04-17 12:14 UTC] ok, go ahead`;
    expect(stripChatPlatformMetadata(input)).toBe(
      '[Queued messages while agent was busy]\n\n---\nQueued #1 (from Nico)\nok, go ahead',
    );
  });

  it('handles CRLF line endings', () => {
    const input = `${CONVERSATION}\n\n[Mon 2026-02-23 23:41 GMT+8] hi there`.replace(/\n/g, '\r\n');
    expect(stripChatPlatformMetadata(input)).toBe('hi there');
  });

  it('returns ordinary text unchanged', () => {
    const samples = [
      '',
      'Hello, how are you?',
      '[link](https://example.com) is at the start',
      '[2] second item of a list',
      '[draft] please review: meeting on 2026-03-02 14:05 GMT+8 works',
      'Sender: Alice\nPlease summarise the thread.',
      'Here is JSON:\n```json\n{"a": 1}\n```',
      '   indented text',
      '\n\nleading blank lines',
    ];
    for (const s of samples) expect(stripChatPlatformMetadata(s)).toBe(s);
  });

  it('leaves a timestamp-looking bracket alone when it is not at the start', () => {
    const s = 'I wrote [Mon 2026-03-02 14:05 GMT+8] in my notes';
    expect(stripChatPlatformMetadata(s)).toBe(s);
    const t = 'first line\n[Mon 2026-03-02 14:05 GMT+8] second line';
    expect(stripChatPlatformMetadata(t)).toBe(t);
  });

  it('leaves a metadata header without a well-formed body alone', () => {
    const samples = [
      'Sender (untrusted metadata):\nAlice said hi',
      'Sender (untrusted metadata):',
      'Sender (untrusted metadata):\n```json\n{"never": "closed"',
      'Conversation info (untrusted metadata):\n{"unbalanced": [1, 2}',
      'We saw "Sender (untrusted metadata):" in the logs.',
    ];
    for (const s of samples) expect(stripChatPlatformMetadata(s)).toBe(s);
  });

  it('returns an empty string when there is only metadata', () => {
    expect(stripChatPlatformMetadata(`${CONVERSATION}\n\n${SENDER}\n`)).toBe('');
  });

  it('copes with braces and fences inside JSON strings', () => {
    const input =
      'Sender (untrusted metadata):\n{"name": "a } tricky ] name \\" with ``` fence"}\n\nreal question';
    expect(stripChatPlatformMetadata(input)).toBe('real question');
  });

  it('is linear on a large message', () => {
    const body = 'lorem ipsum dolor sit amet '.repeat(40_000);
    const input = `${CONVERSATION}\n\n${SENDER}\n\n[Mon 2026-02-23 23:41 GMT+8] ${body}`;
    expect(stripChatPlatformMetadata(input)).toBe(body);
    const noisy = '[' + '2026-01-01 '.repeat(100_000);
    expect(stripChatPlatformMetadata(noisy)).toBe(noisy);
  });
});
