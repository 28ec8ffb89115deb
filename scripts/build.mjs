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
// The standalone server runs next to its node_modules: npm dependencies stay external, but the
// workspace package is TypeScript source that Node cannot load from there, so it is bundled in.
const WORKSPACE_PACKAGES = ['@dify/plugin-sdk-shim'];
const externalNpmPackages = {
  name: 'external-npm-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || /^[A-Za-z]:[\\/]/.test(args.path)) return undefined;
      if (WORKSPACE_PACKAGES.some((name) => args.path === name || args.path.startsWith(`${name}/`))) return undefined;
      return { path: args.path, external: true };
    });
  },
};
jobs.push(build({ ...common, entryPoints: ['src/standalone/main.ts'], outfile: 'dist/standalone.mjs', plugins: [externalNpmPackages] }));
await Promise.all(jobs);
