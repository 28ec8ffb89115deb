import { group as chatApp } from './chat-app/index.js';
import { group as llm } from './llm/index.js';
import { group as webappSkin } from './webapp-skin/index.js';
import { group as webhook } from './webhook/index.js';
import type { GroupModule } from './types.js';

export const groups: Record<GroupModule['name'], GroupModule> = {
  'chat-app': chatApp,
  llm,
  'webapp-skin': webappSkin,
  webhook,
};
