// Builds the webapp-skin chat page (web/) into _assets/webapp/: one JS bundle (marked, DOMPurify and
// highlight.js inside, nothing from a CDN) and one stylesheet per skin. The built files are committed,
// so the plugin package carries them. Run: node scripts/build-webapp.mjs [--out <dir>]
// (--out builds elsewhere, e.g. for the test that checks the committed files are current).
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outFlag = process.argv.indexOf('--out');
const out = outFlag > 0 && process.argv[outFlag + 1] ? process.argv[outFlag + 1] : join(root, '_assets/webapp');
const skins = ['minimal', 'cute', 'korean', 'classic'];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const common = { bundle: true, minify: true, legalComments: 'eof', logLevel: 'warning', absWorkingDir: root };
await Promise.all([
  build({ ...common, entryPoints: ['web/app.ts'], outfile: join(out, 'app.js'), format: 'esm', target: ['chrome100', 'safari15', 'firefox100'], platform: 'browser' }),
  ...skins.filter((skin) => existsSync(join(root, `web/styles/skin-${skin}.css`))).map((skin) =>
    build({ ...common, entryPoints: [`web/styles/skin-${skin}.css`], outfile: join(out, `skin-${skin}.css`), target: ['chrome100', 'safari15', 'firefox100'] }),
  ),
]);
copyFileSync(join(root, 'web/favicon.svg'), join(out, 'favicon.svg'));
console.log(`webapp: built ${readdirSync(out).length} files into ${out}`);
