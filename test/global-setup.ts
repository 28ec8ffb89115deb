// Builds the bundles once before any test file runs, so every suite exercises the same
// dist/plugin.mjs and dist/standalone.mjs that `npm run package` and `npm start` ship.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

export default function buildBundles(): void {
  const root = resolve(import.meta.dirname, '..');
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
}
