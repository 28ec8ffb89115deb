// Bundles a fixture plugin entry with esbuild (like scripts/build.mjs bundles the real plugin) so it
// runs as plain `node <bundle>.mjs` under the simulator.
import { build } from 'esbuild';
import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const outDir = join(root, 'node_modules/.cache/shim-fixtures');
const built = new Map<string, Promise<string>>();

export function buildFixture(entry = 'test-plugin.ts'): Promise<string> {
  let pending = built.get(entry);
  if (!pending) {
    pending = (async () => {
      mkdirSync(outDir, { recursive: true });
      // build to a private name, then rename over the shared one (atomic; concurrent workers agree)
      const outfile = join(outDir, `${entry.replace(/\.ts$/, '')}.mjs`);
      const tmpfile = `${outfile}.${process.pid}.tmp.mjs`;
      await build({
        entryPoints: [join(root, 'test/runtime/fixtures', entry)],
        outfile: tmpfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        minify: true,
        logLevel: 'warning',
        banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
        // the fixture finds its assets next to its source
        define: { 'import.meta.url': JSON.stringify('file://' + join(root, 'test/runtime/fixtures', entry)) },
      });
      renameSync(tmpfile, outfile);
      return outfile;
    })();
    built.set(entry, pending);
  }
  return pending;
}
