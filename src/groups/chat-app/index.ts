/**
 * The chat-app group: any Dify app as an OpenAI model. Handlers by name, bound to routes by
 * endpoints/chat-app/*.yaml (each served with and without the /v1 prefix by the host).
 */
import type { GroupModule } from '../types.js';
import { chatCompletions } from './chat-completions.js';
import { completions } from './completions.js';
import { preflight } from './http.js';
import { listModels, retrieveModel } from './models.js';
import { responses } from './responses.js';

export const group: GroupModule = {
  name: 'chat-app',
  handlers: {
    chatCompletions,
    completions,
    responses,
    listModels,
    retrieveModel,
    preflight,
  },
};
