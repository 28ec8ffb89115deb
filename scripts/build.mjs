// Bundles the plugin runtime (one self-contained file the Python bridge execs) and the standalone server.
import { build } from 'esbuild';

const standaloneOnly = process.argv.includes('--standalone');
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node22', sourcemap: 'linked', logLevel: 'warning' };
// ESM bundles that contain CommonJS dependencies need a require() of their own.
const banner = { js: "import { createRequire as __bridgeCreateRequire } from 'node:module'; const require = __bridgeCreateRequire(import.meta.url);" };

const jobs = [];
if (!standaloneOnly) {
  jobs.push(build({ ...common, banner, entryPoints: ['src/plugin/main.ts'], outfile: 'dist/plugin.mjs', minify: true }));
}
jobs.push(build({ ...common, entryPoints: ['src/standalone/main.ts'], outfile: 'dist/standalone.mjs', packages: 'external' }));
await Promise.all(jobs);
