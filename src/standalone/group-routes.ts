/**
 * A group's routes for the standalone host: settings/<group>.yaml lists endpoint files, each binding a
 * werkzeug rule + method to a handler name of the GroupModule. Standalone serves exactly the plugin's
 * routes, under the endpoint's prefix, and every `/v1/...` rule also without `/v1` (DESIGN.md).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestHandler } from 'express';
import { parse as parseYaml } from 'yaml';
import type { GroupModule } from '../groups/types.js';

export interface GroupRoute {
  rule: string;
  method: string;
  handler: RequestHandler;
  /** The handler's name (for metrics labels and logs). */
  handlerName: string;
}

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

interface EndpointYaml {
  path?: unknown;
  method?: unknown;
  extra?: { node?: { handler?: unknown } };
}

/** Routes of one group: its declared endpoints bound to its handlers, with /v1-less aliases. Missing handlers are reported, not mounted. */
export function groupRoutes(root: string, group: GroupModule): { routes: GroupRoute[]; missing: string[] } {
  const groupFile = join(root, 'settings', `${group.name}.yaml`);
  const declaration = parseYaml(readFileSync(groupFile, 'utf8')) as { endpoints?: unknown };
  const files = Array.isArray(declaration?.endpoints) ? declaration.endpoints.map(String) : [];
  const routes: GroupRoute[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const endpoint = parseYaml(readFileSync(join(root, file), 'utf8')) as EndpointYaml;
    const rule = String(endpoint.path ?? '');
    const method = String(endpoint.method ?? 'GET').toUpperCase();
    const name = String(endpoint.extra?.node?.handler ?? '');
    const handler = group.handlers[name];
    if (!rule.startsWith('/') || !handler) {
      missing.push(`${file} (${name || 'no handler'})`);
      continue;
    }
    const rules = [rule];
    if (rule === '/v1' || rule.startsWith('/v1/')) rules.push(rule.slice(3) || '/');
    for (const r of rules) {
      const key = `${method} ${r}`;
      if (seen.has(key)) continue;
      seen.add(key);
      routes.push({ rule: r, method, handler, handlerName: name });
    }
  }
  return { routes, missing };
}

/**
 * The group's declared settings with their defaults; unset ones are '' (what Dify's settings form
 * stores for an empty field). Standalone endpoint settings are laid over this.
 */
export function groupSettingDefaults(root: string, groupName: string): Record<string, unknown> {
  const declaration = parseYaml(readFileSync(join(root, 'settings', `${groupName}.yaml`), 'utf8')) as { settings?: unknown };
  const out: Record<string, unknown> = {};
  if (!Array.isArray(declaration?.settings)) return out;
  for (const setting of declaration.settings as Array<{ name?: unknown; default?: unknown }>) {
    if (typeof setting?.name === 'string') out[setting.name] = setting.default ?? '';
  }
  return out;
}
