// `.difyignore` (gitignore syntax) decides which files stay out of a package, as with the daemon's CLI.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ignore from 'ignore';

export type IgnoreTest = (relativePath: string) => boolean;

/** Reads `<pluginDir>/.difyignore`; returns a test that says whether a `/`-separated path is ignored. */
export function loadDifyIgnore(pluginDir: string): IgnoreTest {
  const file = join(pluginDir, '.difyignore');
  const rules = ignore();
  if (existsSync(file)) rules.add(readFileSync(file, 'utf8'));
  return (relativePath) => rules.ignores(relativePath);
}
