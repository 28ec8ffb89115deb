/**
 * Dify app events (chat, agent-chat, chatflow, completion, workflow), parsed leniently.
 *
 * Dify adds events and fields between releases and two JSON styles are in the field (see
 * ../shared/reference/dify-service-api.md §0, §2.4). So: the discriminant and the few fields the
 * translator reads are checked; everything else is kept as-is and ignored.
 *
 * The hot events (`message`, `agent_message`, `text_chunk`) are checked by hand, not by zod: they
 * arrive once per token and a zod parse per token costs more than the rest of the relay.
 * The rarer events (message_end, error, workflow_finished...) go through the zod schemas below.
 */
import { z } from 'zod';

/** One Dify event: the `event` discriminant plus whatever fields that event carries. */
export interface DifyEvent {
  event: string;
  [field: string]: unknown;
}

/** Dify's usage object (message_end.metadata.usage, LLM node outputs.usage). Prices are strings. */
export const difyUsageSchema = z
  .looseObject({
    prompt_tokens: z.coerce.number().catch(0).default(0),
    completion_tokens: z.coerce.number().catch(0).default(0),
    total_tokens: z.coerce.number().optional().catch(undefined),
  });
export type DifyUsage = { prompt_tokens: number; completion_tokens: number; total_tokens?: number | undefined };

export const messageEndSchema = z.looseObject({
  event: z.literal('message_end'),
  conversation_id: z.string().nullish(),
  message_id: z.string().nullish(),
  id: z.string().nullish(),
  metadata: z
    .looseObject({ usage: difyUsageSchema.nullish().catch(undefined) })
    .nullish()
    .catch(undefined),
});

export const errorEventSchema = z.looseObject({
  event: z.literal('error'),
  code: z.string().nullish().catch(undefined),
  status: z.coerce.number().nullish().catch(undefined),
  message: z.string().nullish().catch(undefined),
});

export const workflowFinishedSchema = z.looseObject({
  event: z.literal('workflow_finished'),
  data: z
    .looseObject({
      status: z.string().nullish().catch(undefined),
      outputs: z.record(z.string(), z.unknown()).nullish().catch(undefined),
      error: z.string().nullish().catch(undefined),
      total_tokens: z.coerce.number().nullish().catch(undefined),
    })
    .catch({}),
});

export const nodeFinishedSchema = z.looseObject({
  event: z.literal('node_finished'),
  data: z
    .looseObject({
      node_type: z.string().nullish().catch(undefined),
      status: z.string().nullish().catch(undefined),
      outputs: z
        .looseObject({ usage: difyUsageSchema.nullish().catch(undefined) })
        .nullish()
        .catch(undefined),
    })
    .catch({}),
});

export const agentThoughtSchema = z.looseObject({
  event: z.literal('agent_thought'),
  id: z.string().nullish().catch(undefined),
  position: z.coerce.number().nullish().catch(undefined),
  thought: z.string().nullish().catch(undefined),
  observation: z.string().nullish().catch(undefined),
  tool: z.string().nullish().catch(undefined),
  tool_input: z.string().nullish().catch(undefined),
});

export const messageFileSchema = z.looseObject({
  event: z.literal('message_file'),
  id: z.string().nullish().catch(undefined),
  type: z.string().nullish().catch(undefined),
  belongs_to: z.string().nullish().catch(undefined),
  url: z.string().nullish().catch(undefined),
});

export const messageReplaceSchema = z.looseObject({
  event: z.literal('message_replace'),
  answer: z.string().catch(''),
});

export const reasoningChunkSchema = z.looseObject({
  event: z.literal('reasoning_chunk'),
  data: z.looseObject({ reasoning: z.string().nullish().catch(undefined) }).catch({}),
});

/**
 * Cheap structural check for an incoming object: a plain object with a string `event`.
 * Returns null for anything else (the caller turns that into an upstream error).
 */
export function asDifyEvent(value: unknown): DifyEvent | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const event = (value as { event?: unknown }).event;
  return typeof event === 'string' ? (value as DifyEvent) : null;
}

/** The text delta of a hot event (`message`, `agent_message`, `text_chunk`), or '' when absent/odd. */
export function textDelta(ev: DifyEvent): string {
  if (ev.event === 'text_chunk') {
    const data = ev.data as { text?: unknown } | null | undefined;
    const text = data?.text;
    return typeof text === 'string' ? text : '';
  }
  const answer = ev.answer;
  return typeof answer === 'string' ? answer : '';
}

/** `conversation_id` / `message_id` if the event carries them as strings. */
export function conversationIdOf(ev: DifyEvent): string | undefined {
  const id = ev.conversation_id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}
export function messageIdOf(ev: DifyEvent): string | undefined {
  const id = ev.message_id ?? ev.workflow_run_id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}
export function taskIdOf(ev: DifyEvent): string | undefined {
  const id = ev.task_id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

export function normalizeUsage(raw: unknown): DifyUsage | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const parsed = difyUsageSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const { prompt_tokens, completion_tokens, total_tokens } = parsed.data;
  return { prompt_tokens, completion_tokens, total_tokens };
}
