// npm run package [-- --group <g>]... [--sign <private-key.pem>] [--category community] [--out <dir>]
// npm run package -- --generate-key <path/key.pem>     (writes key.pem and key.public.pem, PKCS#1 RSA-4096)
//
// Writes one dist/<plugin-name>-<version>.difypkg per endpoint group listed in manifest.yaml.
// The packager lives in packages/plugin-sdk-shim (TypeScript); it is bundled on the fly with esbuild.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    group: { type: 'string', multiple: true },
    sign: { type: 'string' },
    category: { type: 'string', default: 'community' },
    out: { type: 'string' },
    'generate-key': { type: 'string' },
    dir: { type: 'string' },
  },
});

const cacheDir = join(root, 'node_modules', '.cache', 'dify-bridge');
mkdirSync(cacheDir, { recursive: true });
const packagerFile = join(cacheDir, 'package-api.mjs');
await build({
  entryPoints: [join(root, 'packages/plugin-sdk-shim/src/package-api.ts')],
  outfile: packagerFile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  packages: 'external',
  logLevel: 'warning',
});
const api = await import(pathToFileURL(packagerFile).href);

if (values['generate-key']) {
  const privatePath = resolve(values['generate-key']);
  const publicPath = privatePath.replace(/(\.private)?\.pem$/i, '') + '.public.pem';
  const { privateKeyPem, publicKeyPem } = api.generateSigningKeyPair();
  mkdirSync(dirname(privatePath), { recursive: true });
  writeFileSync(privatePath, privateKeyPem, { mode: 0o600 });
  chmodSync(privatePath, 0o600);
  writeFileSync(publicPath, publicKeyPem);
  console.log(`private key: ${privatePath}  (keep it secret; sign with: npm run package -- --sign ${relative(process.cwd(), privatePath)})`);
  console.log(`public key:  ${publicPath}  (give it to the daemon: THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS)`);
  process.exit(0);
}

const pluginDir = resolve(values.dir ?? root);
const signingKey = values.sign ? readFileSync(resolve(values.sign), 'utf8') : undefined;
try {
  const results = await api.packageAllGroups({
    pluginDir,
    outDir: resolve(values.out ?? join(pluginDir, 'dist')),
    ...(values.group ? { groups: values.group } : {}),
    ...(signingKey ? { signingKey, category: values.category } : {}),
  });
  for (const r of results) {
    const size = readFileSync(r.file).byteLength;
    console.log(
      `${relative(process.cwd(), r.file)}  group ${r.group}, ${r.entries.length} files, ${(r.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${(size / 1024).toFixed(0)} KiB packed${r.signed ? ', signed' : ', unsigned'}`,
    );
  }
} catch (error) {
  if (error instanceof api.DeclarationError || error instanceof api.PackageError) {
    console.error(`package: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
