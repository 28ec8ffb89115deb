import type { GroupModule } from '../types.js';

// Placeholder until the group lands.
export const group: GroupModule = { name: 'llm', handlers: {} };
