/**
 * The page's built static files (_assets/webapp, written by scripts/build-webapp.mjs). Loaded once into
 * memory: they are small, and the plugin should not touch the disk per request. Each gets a content
 * hash; the page links `assets/<file>?v=<hash>` so browsers may cache them for a year.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  contentType: string;
  hash: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeOf(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Candidate roots: the working directory (plugin: the package folder) and the folders above this module or bundle. */
function findAssetDir(): string | undefined {
  const fromEnv = process.env.DIFY_BRIDGE_WEBAPP_ASSETS;
  const candidates = fromEnv ? [resolve(fromEnv)] : [];
  candidates.push(resolve(process.cwd(), '_assets/webapp'));
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    candidates.push(join(dir, '_assets/webapp'));
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return candidates.find((c) => existsSync(join(c, 'app.js')));
}

function walk(root: string, dir: string, out: Map<string, Asset>): void {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(root, full, out);
    else {
      const body = readFileSync(full);
      const key = relative(root, full).split(sep).join('/');
      out.set(key, { body, contentType: contentTypeOf(key), hash: createHash('sha256').update(body).digest('hex').slice(0, 12) });
    }
  }
}

let cache: Map<string, Asset> | undefined;

export function loadAssets(): Map<string, Asset> {
  if (cache) return cache;
  const dir = findAssetDir();
  const assets = new Map<string, Asset>();
  if (dir) walk(dir, dir, assets);
  cache = assets;
  return assets;
}

/** `assets/<file>?v=<hash>`, relative to the page. */
export function assetUrl(file: string): string {
  const asset = loadAssets().get(file);
  return `assets/${file}${asset ? `?v=${asset.hash}` : ''}`;
}
