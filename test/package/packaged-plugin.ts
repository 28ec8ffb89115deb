// Helpers for the packaged-plugin tests: package the repo, unpack a .difypkg like the daemon does,
// and PATHs with and without a Node >= 22.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readZip } from '@dify/plugin-sdk-shim';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** `npm run package` into a fresh folder (building the bundle first if `npm test` has not). Returns the .difypkg paths by group. */
export function packageRepo(): { outDir: string; packages: Record<string, string>; log: string } {
  if (!existsSync(join(repoRoot, 'dist/plugin.mjs'))) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'pipe' });
  const outDir = mkdtempSync(join(tmpdir(), 'dify-bridge-pkg-'));
  const log = execFileSync(process.execPath, ['scripts/package.mjs', '--out', outDir], { cwd: repoRoot, encoding: 'utf8' });
  const packages: Record<string, string> = {};
  for (const line of log.trim().split('\n')) {
    const match = /^(\S+\.difypkg)\s+group (\S+),/.exec(line);
    if (match) packages[match[2]!] = resolve(repoRoot, match[1]!);
  }
  return { outDir, packages, log };
}

/** Extracts a package the way the daemon does: every entry a regular file, mode 0644. */
export async function unpack(pkg: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'dify-bridge-plugin-'));
  const zip = await readZip(readFileSync(pkg));
  for (const entry of zip.entries) {
    if (entry.isDirectory) throw new Error(`directory entry ${entry.path}`);
    const target = join(dir, entry.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, entry.data, { mode: 0o644 });
  }
  return dir;
}

/** A bin folder whose only `node` is the Node this test runs on (>= 22). */
export function pathWithNode(): string {
  const bin = mkdtempSync(join(tmpdir(), 'node-bin-'));
  symlinkSync(process.execPath, join(bin, 'node'));
  return bin;
}

/** A bin folder with no node at all. */
export function pathWithoutNode(): string {
  return mkdtempSync(join(tmpdir(), 'empty-bin-'));
}

/** A bin folder whose `node` claims to be Node 18. */
export function pathWithOldNode(): string {
  const bin = mkdtempSync(join(tmpdir(), 'old-node-bin-'));
  writeFileSync(join(bin, 'node'), '#!/bin/sh\necho v18.20.0\n');
  chmodSync(join(bin, 'node'), 0o755);
  return bin;
}

/** The real python3 executable (not a version-manager shim that needs its own PATH). */
export function python(): string {
  return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
}
