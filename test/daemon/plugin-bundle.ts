import { resolve } from 'node:path';

/** The plugin runtime bundle built by test/global-setup.ts (scripts/build.mjs) before the suite runs. */
export const PLUGIN_BUNDLE = resolve(import.meta.dirname, '../../dist/plugin.mjs');
