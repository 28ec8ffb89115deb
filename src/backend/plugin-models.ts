// Placeholder: the llm engineer replaces this file with the real plugin-host models client.
import type { ModelsClient } from './types.js';

export function createPluginModelsClient(_session: unknown): ModelsClient {
  throw new Error('plugin models client not implemented yet');
}
