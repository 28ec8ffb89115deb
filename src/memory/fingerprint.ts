/**
 * Fingerprints of chat histories, for continuing Dify conversations (DESIGN.md "Conversation
 * continuity"). Two histories that a client would consider the same must hash the same:
 * whitespace at the ends, `developer` vs `system`, reasoning the client kept or dropped, tool-call
 * ids and JSON spacing in arguments do not matter; the words do.
 */
import { createHash } from 'node:crypto';

export interface HistoryTurn {
  role: 'system' | 'user' | 'assistant' | 'tool';
  text: string;
  toolCalls?: Array<{ name: string; arguments: string }>;
  /** Image URLs of the turn (part of what was asked). */
  images?: string[];
}

const THINK_BLOCK = /<think>[\s\S]*?<\/think>/g;
const DETAILS_BLOCK = /<details[^>]*>\s*<summary>\s*Thinking\.\.\.\s*<\/summary>[\s\S]*?<\/details>/g;

/** Assistant text as it will come back from a client: no reasoning blocks, trimmed. */
export function normalizeAssistantText(text: string): string {
  if (text.indexOf('<think>') === -1 && text.indexOf('<details') === -1) return text.trim();
  return text.replace(THINK_BLOCK, '').replace(DETAILS_BLOCK, '').trim();
}

function canonicalArgs(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args));
  } catch {
    return args.trim();
  }
}

function turnKey(t: HistoryTurn): string {
  const text = t.role === 'assistant' ? normalizeAssistantText(t.text) : t.text.trim();
  let key = t.role + '\u0000' + text;
  if (t.toolCalls && t.toolCalls.length > 0) {
    for (const c of t.toolCalls) key += '\u0001' + c.name + '\u0002' + canonicalArgs(c.arguments);
  }
  if (t.images && t.images.length > 0) key += '\u0003' + t.images.join('\u0003');
  return key;
}

/** sha256 over the scope and the normalised turns. */
export function fingerprint(scope: string, turns: readonly HistoryTurn[]): string {
  const h = createHash('sha256');
  h.update(scope);
  for (const t of turns) {
    h.update('\u001e');
    h.update(turnKey(t));
  }
  return h.digest('base64url');
}

/** Short stable hash for ids (scope hashes, key hashes). Never reversible to the input. */
export function shortHash(value: string, length = 24): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, length);
}
