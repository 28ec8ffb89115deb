/**
 * Dify app events (chat, agent, chatflow, completion, workflow), parsed leniently.
 * Placeholder type until the chat-app group defines the full lenient zod schemas here.
 */
export interface DifyEvent {
  event: string;
  [field: string]: unknown;
}
