/**
 * The llm group: any model configured in Dify (model-selector settings) as an OpenAI API —
 * chat completions with native tools, the Responses API, legacy completions, embeddings, speech and
 * transcriptions, and the models list.
 * Routes are bound in endpoints/llm/*.yaml by handler name.
 */
import type { GroupModule } from '../types.js';
import { speech, transcriptions } from './audio.js';
import { chatCompletions } from './chat.js';
import { createCompletion } from './completions.js';
import { embeddings } from './embeddings.js';
import { preflight, wrap } from './http.js';
import { listModels, retrieveModel } from './models.js';
import { createResponse } from './responses.js';

export const group: GroupModule = {
  name: 'llm',
  handlers: {
    chatCompletions: wrap(chatCompletions),
    completions: wrap(createCompletion),
    embeddings: wrap(embeddings),
    speech: wrap(speech),
    transcriptions: wrap(transcriptions),
    responses: wrap(createResponse),
    listModels: wrap(listModels),
    retrieveModel: wrap(retrieveModel),
    preflight,
  },
};
