// Where the plugin folder is and which endpoint group to serve.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GROUP_HINT = '(DIFY_BRIDGE_GROUP=<group> or --group <group>)';

/** The folder holding manifest.yaml: the working directory (the daemon runs us there), else the bundle's parent folder. */
export function pluginDirectory(cwd = process.cwd(), bundleUrl = import.meta.url): string {
  if (existsSync(join(cwd, 'manifest.yaml'))) return cwd;
  return dirname(dirname(fileURLToPath(bundleUrl)));
}

/** `--group <g>` / `--group=<g>` on the command line, else DIFY_BRIDGE_GROUP. */
export function requestedGroup(argv = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--group') return argv[i + 1];
    if (arg.startsWith('--group=')) return arg.slice('--group='.length);
  }
  return env.DIFY_BRIDGE_GROUP || undefined;
}
