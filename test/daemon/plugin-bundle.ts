import { resolve } from 'node:path';
import { startDaemon, type ReverseHandlers, type SimulatedDaemon } from './simulator.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** The plugin runtime bundle built by test/global-setup.ts (scripts/build.mjs) before the suite runs. */
export const PLUGIN_BUNDLE = resolve(ROOT, 'dist/plugin.mjs');

/** The real plugin bundle serving one group from the repo root under the daemon simulator, heartbeat seen. */
export async function startGroupPlugin(group: string, reverse: ReverseHandlers, env: Record<string, string> = {}): Promise<SimulatedDaemon> {
  const daemon = await startDaemon({
    command: process.execPath,
    args: [PLUGIN_BUNDLE],
    cwd: ROOT,
    env: { DIFY_BRIDGE_GROUP: group, LOG_LEVEL: 'warn', ...env },
    reverse,
  });
  await daemon.waitForHeartbeat();
  return daemon;
}
