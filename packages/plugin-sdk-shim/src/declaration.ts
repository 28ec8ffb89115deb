// Loads and validates a plugin folder's declaration: manifest.yaml, the endpoint group to serve and
// its endpoint YAML files. Synchronous on purpose: it runs once at start-up, before the first heartbeat,
// and reads a handful of small files. Any problem throws ONE DeclarationError naming file, field and rule.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { DeclarationError, declarationErrorFromZod, show } from './declaration-error.js';
import {
  endpointFileSchema,
  endpointGroupSchema,
  manifestSchema,
  type EndpointGroupFile,
  type GroupPlugin,
  type Manifest,
  type ProviderConfig,
} from './declaration-schema.js';
import { buildGroupManifest, groupNameOf, manifestJson } from './manifest.js';

export type EndpointMethod = 'HEAD' | 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS';

export interface EndpointDeclaration {
  /** werkzeug rule, as declared. */
  path: string;
  method: EndpointMethod;
  hidden: boolean;
  /** `extra.node.handler`: the name of the group's handler this route binds. */
  handler: string;
  /** The endpoint YAML file, relative to the plugin folder (for error messages). */
  file: string;
}

export interface GroupDeclaration {
  /** `chat-app` for `settings/chat-app.yaml`. */
  name: string;
  /** The group file, relative to the plugin folder. */
  file: string;
  settings: ProviderConfig[];
  endpoints: EndpointDeclaration[];
  /** The group file's `plugin:` overrides, if any. */
  plugin?: GroupPlugin;
}

export interface PluginDeclaration {
  pluginDir: string;
  /** The manifest of the served group, as the JSON the daemon wants in `manifest_declaration`. */
  manifest: Record<string, unknown>;
  /** The same, typed. */
  manifestData: Manifest;
  group: GroupDeclaration;
  /** Every group listed by manifest.yaml (name -> file). */
  groups: Record<string, string>;
  assets: { dir: string; files: string[] };
}

export interface LoadDeclarationOptions {
  /** Which group to serve when manifest.yaml lists several (the name of its file, e.g. `chat-app`). */
  group?: string;
  /** Appended to the "pick a group" error, e.g. how the host lets the user choose. */
  groupHint?: string;
  /**
   * Serve the only group of a single-group manifest (a packaged plugin) even if `group` names another:
   * a group choice meant for a development folder must not break an installed package.
   */
  singleGroupWins?: boolean;
}

// ---------- helpers ----------

function readYaml(pluginDir: string, file: string, from: { file: string; field: string }): unknown {
  const full = join(pluginDir, ...file.split('/'));
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch {
    throw new DeclarationError(from.file, from.field, `${show(file)} does not exist in the plugin folder`);
  }
  try {
    return parse(text, { prettyErrors: false });
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const offset = error.pos[0];
      const before = text.slice(0, offset).split('\n');
      const where = ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
      throw new DeclarationError(file, '', `is not valid YAML${where}: ${error.message.split('\n')[0]}`);
    }
    throw error;
  }
}

function validate<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  if (value === null || value === undefined) throw new DeclarationError(file, '', 'is empty (expected a mapping)');
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) throw declarationErrorFromZod(file, result.error);
  return result.data;
}

/** A path inside the plugin folder as the daemon reads it from the zip: relative, `/`-separated, no `..`. */
function checkRelativePath(path: string, from: { file: string; field: string }): string {
  const normal = posix.normalize(path);
  if (path.includes('\\') || path.startsWith('/') || normal.startsWith('..') || normal !== path.replace(/^\.\//, '')) {
    throw new DeclarationError(from.file, from.field, `${show(path)} must be a relative path inside the plugin folder, with / separators`);
  }
  return normal;
}

/** Regular files under `dir`, relative, `/`-separated, sorted. */
export function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(join(dir, entry.name), rel));
    else if (entry.isFile() || (entry.isSymbolicLink() && statSync(join(dir, entry.name)).isFile())) out.push(rel);
  }
  return out.sort();
}

// ---------- public API ----------

/** Reads and validates manifest.yaml alone (the shared manifest). */
export function loadManifest(pluginDir: string): Manifest {
  const raw = readYaml(pluginDir, 'manifest.yaml', { file: 'manifest.yaml', field: '' });
  return validate(manifestSchema, raw, 'manifest.yaml');
}

/** The groups manifest.yaml lists, by name. */
export function listGroups(manifest: Manifest): Record<string, string> {
  const groups: Record<string, string> = {};
  manifest.plugins.endpoints.forEach((file, index) => {
    const path = checkRelativePath(file, { file: 'manifest.yaml', field: `plugins.endpoints[${index}]` });
    const name = groupNameOf(path);
    if (groups[name] !== undefined) throw new DeclarationError('manifest.yaml', `plugins.endpoints[${index}]`, `lists the group ${show(name)} twice`);
    groups[name] = path;
  });
  return groups;
}

/** Loads one endpoint group file and its endpoint files. */
export function loadGroup(pluginDir: string, groupFile: string): GroupDeclaration {
  const raw = readYaml(pluginDir, groupFile, { file: 'manifest.yaml', field: 'plugins.endpoints' });
  const parsed: EndpointGroupFile = validate(endpointGroupSchema, raw, groupFile);
  const endpoints: EndpointDeclaration[] = [];
  const routes = new Map<string, string>();
  parsed.endpoints.forEach((endpointPath, index) => {
    const from = { file: groupFile, field: `endpoints[${index}]` };
    const file = checkRelativePath(endpointPath, from);
    const endpoint = validate(endpointFileSchema, readYaml(pluginDir, file, from), file);
    const key = `${endpoint.method} ${endpoint.path}`;
    const other = routes.get(key);
    if (other !== undefined) throw new DeclarationError(file, 'path', `${endpoint.method} ${show(endpoint.path)} is already declared by ${other}`);
    routes.set(key, file);
    endpoints.push({ path: endpoint.path, method: endpoint.method, hidden: endpoint.hidden ?? false, handler: endpoint.extra.node.handler, file });
  });
  const group: GroupDeclaration = { name: groupNameOf(groupFile), file: groupFile, settings: parsed.settings ?? [], endpoints };
  if (parsed.plugin) group.plugin = parsed.plugin;
  return group;
}

/** Picks the group to serve: the only one listed, or the one asked for. */
export function chooseGroup(groups: Record<string, string>, wanted: string | undefined, hint = ''): string {
  const names = Object.keys(groups);
  if (wanted) {
    if (groups[wanted] === undefined) {
      throw new DeclarationError('manifest.yaml', 'plugins.endpoints', `has no group ${show(wanted)} (groups: ${names.join(', ')})`);
    }
    return wanted;
  }
  if (names.length === 1) return names[0]!;
  throw new DeclarationError('manifest.yaml', 'plugins.endpoints', `lists ${names.length} endpoint groups (${names.join(', ')}) but the daemon serves one per plugin: choose one${hint ? ` ${hint}` : ''}`);
}

/**
 * Loads the plugin folder: validates manifest.yaml, picks the group, validates the group file and its
 * endpoint files, builds the group's own manifest (validated again as the daemon would) and checks the
 * icons exist in `_assets/`.
 */
export function loadPluginDeclaration(pluginDir: string, options: LoadDeclarationOptions = {}): PluginDeclaration {
  const shared = loadManifest(pluginDir);
  const groups = listGroups(shared);
  const several = Object.keys(groups).length > 1;
  const name = chooseGroup(groups, several || !options.singleGroupWins ? options.group : undefined, options.groupHint);
  const groupFile = groups[name]!;
  const group = loadGroup(pluginDir, groupFile);

  const merged = buildGroupManifest(shared, groupFile, group.plugin);
  const manifestData = validate(manifestSchema, merged, group.plugin ? groupFile : 'manifest.yaml');
  if (manifestData.resource.permission?.endpoint?.enabled !== true) {
    const [file, field] = group.plugin?.permissions ? [groupFile, 'plugin.permissions.endpoint.enabled'] : ['manifest.yaml', 'resource.permission.endpoint.enabled'];
    throw new DeclarationError(file, field, 'must be true: without it Dify cannot create endpoints of this plugin');
  }

  const assetsDir = join(pluginDir, '_assets');
  const files = listFiles(assetsDir);
  for (const key of ['icon', 'icon_dark'] as const) {
    const icon = manifestData[key];
    if (icon !== undefined && !files.includes(icon)) throw new DeclarationError('manifest.yaml', key, `${show(icon)} is not a file in _assets/`);
  }

  return { pluginDir, manifest: manifestJson(manifestData), manifestData, group, groups, assets: { dir: assetsDir, files } };
}

/** The group as the JSON the daemon wants as element [0] of `endpoint_declaration` (no extra keys). */
export function endpointDeclarationJson(group: GroupDeclaration): { settings: ProviderConfig[]; endpoints: Array<{ path: string; method: EndpointMethod; hidden: boolean }> } {
  return {
    settings: group.settings,
    endpoints: group.endpoints.map(({ path, method, hidden }) => ({ path, method, hidden })),
  };
}
