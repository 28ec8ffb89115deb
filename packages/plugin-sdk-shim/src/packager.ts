// Builds .difypkg files: one per endpoint group, each a complete plugin the daemon can install.
// Zip layout as the daemon's own packager writes it (plugin-protocol.md §5.1): regular files only,
// sorted `/`-separated paths, deflate, manifest.yaml at the root, at most 50 MiB unpacked.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadManifest, listGroups, loadPluginDeclaration } from './declaration.js';
import { loadDifyIgnore } from './difyignore.js';
import { manifestYaml } from './manifest.js';
import { writeZip, type ZipInput } from './packager-zip.js';
import { signEntries, verificationEntry, type AuthorizedCategory } from './sign.js';

/** The daemon's default MAX_PLUGIN_PACKAGE_SIZE, also the CLI's default --max-size. */
export const MAX_PACKAGE_SIZE = 52_428_800;

export class PackageError extends Error {
  override name = 'PackageError';
}

export interface PackageGroupOptions {
  pluginDir: string;
  group: string;
  /** Where the .difypkg goes (default `<pluginDir>/dist`). */
  outDir?: string;
  /** PEM of the author's RSA private key; when given the package is signed. */
  signingKey?: string;
  category?: AuthorizedCategory;
  /** Unpacked size limit in bytes (default 50 MiB). */
  maxSize?: number;
  /** Signature time in unix seconds (default now). */
  time?: number;
  /** The runtime bundle, relative to the plugin folder. */
  bundle?: string;
}

export interface PackageResult {
  group: string;
  name: string;
  version: string;
  file: string;
  /** Entry paths in zip order. */
  entries: string[];
  unpackedSize: number;
  signed: boolean;
}

function readRequired(pluginDir: string, path: string, why: string): Buffer {
  try {
    return readFileSync(join(pluginDir, ...path.split('/')));
  } catch {
    throw new PackageError(`${path} is missing: ${why}`);
  }
}

function byPath(a: ZipInput, b: ZipInput): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${n} bytes`;
}

/** The entries of one group's package, sorted, without signature. */
export function collectGroupEntries(options: PackageGroupOptions): { entries: ZipInput[]; name: string; version: string } {
  const { pluginDir, group } = options;
  const bundle = options.bundle ?? 'dist/plugin.mjs';
  const declaration = loadPluginDeclaration(pluginDir, { group });
  const ignored = loadDifyIgnore(pluginDir);

  const required: Array<[string, string]> = [
    ['main.py', 'the bridge the daemon runs (python -m main)'],
    ['requirements.txt', 'the daemon refuses a Python plugin without one'],
    [bundle, 'run `npm run build` first'],
    [declaration.group.file, 'the endpoint group file'],
    ...declaration.group.endpoints.map((e): [string, string] => [e.file, 'an endpoint file of the group']),
  ];
  const entries = new Map<string, ZipInput>();
  for (const [path, why] of required) {
    if (ignored(path)) throw new PackageError(`.difyignore ignores ${path}, which the package needs (${why})`);
    entries.set(path, { path, data: readRequired(pluginDir, path, why) });
  }
  const optional = ['README.md', ...declaration.assets.files.map((f) => `_assets/${f}`)];
  for (const path of optional) {
    if (ignored(path) || entries.has(path)) continue;
    try {
      entries.set(path, { path, data: readFileSync(join(pluginDir, ...path.split('/'))) });
    } catch {
      // README.md is optional
    }
  }
  for (const key of ['icon', 'icon_dark'] as const) {
    const icon = declaration.manifestData[key];
    if (icon !== undefined && !entries.has(`_assets/${icon}`)) throw new PackageError(`.difyignore ignores _assets/${icon}, the plugin's ${key}`);
  }
  entries.set('manifest.yaml', { path: 'manifest.yaml', data: Buffer.from(manifestYaml(declaration.manifestData)) });

  const sorted = [...entries.values()].sort(byPath);
  const maxSize = options.maxSize ?? MAX_PACKAGE_SIZE;
  const total = sorted.reduce((sum, e) => sum + e.data.byteLength, 0);
  if (total > maxSize) {
    const largest = [...sorted].sort((a, b) => b.data.byteLength - a.data.byteLength).slice(0, 5);
    throw new PackageError(
      `the ${group} package would unpack to ${formatBytes(total)}, over the daemon's limit of ${formatBytes(maxSize)}; largest files: ${largest.map((e) => `${e.path} (${formatBytes(e.data.byteLength)})`).join(', ')}`,
    );
  }
  return { entries: sorted, name: declaration.manifestData.name, version: declaration.manifestData.version };
}

/** Writes `<outDir>/<plugin name>-<version>.difypkg` for one group. */
export async function packageGroup(options: PackageGroupOptions): Promise<PackageResult> {
  const { entries, name, version } = collectGroupEntries(options);
  let comment = '';
  if (options.signingKey) {
    entries.push(verificationEntry(options.category ?? 'community'));
    comment = signEntries(entries, options.signingKey, options.time);
  }
  const zip = await writeZip(entries, { comment });
  const outDir = options.outDir ?? join(options.pluginDir, 'dist');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${name}-${version}.difypkg`);
  writeFileSync(file, zip);
  return {
    group: options.group,
    name,
    version,
    file,
    entries: entries.map((e) => e.path),
    unpackedSize: entries.reduce((sum, e) => sum + e.data.byteLength, 0),
    signed: Boolean(options.signingKey),
  };
}

/** Packages every group manifest.yaml lists (or the ones named), refusing two packages with one plugin name. */
export async function packageAllGroups(options: Omit<PackageGroupOptions, 'group'> & { groups?: string[] }): Promise<PackageResult[]> {
  const all = Object.keys(listGroups(loadManifest(options.pluginDir)));
  const wanted = options.groups && options.groups.length > 0 ? options.groups : all;
  for (const group of wanted) if (!all.includes(group)) throw new PackageError(`manifest.yaml lists no group ${JSON.stringify(group)} (groups: ${all.join(', ')})`);
  const names = new Map<string, string>();
  for (const group of wanted) {
    const { name } = loadPluginDeclaration(options.pluginDir, { group }).manifestData;
    const other = names.get(name);
    if (other !== undefined) throw new PackageError(`the groups ${other} and ${group} would both be packaged as the plugin ${JSON.stringify(name)}: give one a plugin.name in its settings file`);
    names.set(name, group);
  }
  const results: PackageResult[] = [];
  for (const group of wanted) results.push(await packageGroup({ ...options, group }));
  return results;
}
