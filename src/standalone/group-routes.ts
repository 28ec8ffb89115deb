/**
 * A group's routes for the standalone host, from the same implementation the plugin uses: the shim's
 * declaration loader reads settings/<group>.yaml and its endpoint files, src/host/routes.ts binds them
 * to the GroupModule's handlers and adds the `/v1`-less aliases. Standalone serves exactly the
 * plugin's routes, under the endpoint's prefix (DESIGN.md).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// By path, not through the package index, like src/host/routes.ts: the daemon runtime stays out of
// the standalone bundle.
import { loadGroup, type GroupDeclaration } from '../../packages/plugin-sdk-shim/src/declaration.js';
import type { GroupModule } from '../groups/types.js';
import { buildGroupRoutes, type HostRoute } from '../host/routes.js';

/** The folder holding settings/ and endpoints/ (the repo root, or wherever the bundle was unpacked). */
export function findDeclarationRoot(start = dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'settings')) && existsSync(join(dir, 'endpoints'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const cwd = process.cwd();
  if (existsSync(join(cwd, 'settings'))) return cwd;
  throw new Error('cannot find the settings/ and endpoints/ folders next to the server');
}

export interface StandaloneGroup {
  routes: HostRoute[];
  /** Declared endpoints whose handler the group does not have (not mounted; reported at start). */
  missing: string[];
  /**
   * The group's declared settings with their defaults; unset ones are '' (what Dify's settings form
   * stores for an empty field). Standalone endpoint settings are laid over this.
   */
  settingDefaults: Record<string, unknown>;
}

/** Loads and validates a group's declaration and binds it to the module's handlers. */
export function loadStandaloneGroup(root: string, module: GroupModule): StandaloneGroup {
  const declaration = loadGroup(root, `settings/${module.name}.yaml`);
  const bound: GroupDeclaration = { ...declaration, endpoints: declaration.endpoints.filter((e) => module.handlers[e.handler]) };
  const missing = declaration.endpoints.filter((e) => !module.handlers[e.handler]).map((e) => `${e.file} (${e.handler})`);
  const settingDefaults: Record<string, unknown> = {};
  for (const setting of declaration.settings) settingDefaults[setting.name] = setting.default ?? '';
  return { routes: buildGroupRoutes(bound, module), missing, settingDefaults };
}
