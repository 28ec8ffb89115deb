// Remote debugging over TCP: registration, serving, heartbeats, reconnect with re-registration.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { buildFixture } from './build-fixture.js';
import { startRemoteDebugServer, type RemoteDebugServer } from '../daemon/simulator.js';

const KEY = '4f1c6a0e-2b7d-4a55-9a3e-8c7f0d2b1e90';
const assets = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/assets');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: RemoteDebugServer | null = null;
let child: ChildProcess | null = null;

afterEach(async () => {
  child?.kill('SIGKILL');
  child = null;
  await server?.close();
  server = null;
});

async function launch(srv: RemoteDebugServer, key = KEY) {
  const proc = spawn(process.execPath, [await buildFixture()], {
    env: {
      ...process.env,
      INSTALL_METHOD: 'remote',
      REMOTE_INSTALL_URL: srv.address,
      REMOTE_INSTALL_KEY: key,
      REMOTE_INSTALL_RECONNECT_DELAY_MS: '100',
      HEARTBEAT_INTERVAL: '0.2',
      TEST_ASSETS_DIR: assets,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c) => (stdout += c));
  proc.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, exited, output: () => ({ stdout, stderr }) };
}

describe('remote debugging transport', () => {
  test('registers handshake -> manifest -> endpoint declaration -> assets -> end, then serves and heartbeats', async () => {
    server = await startRemoteDebugServer({ key: KEY });
    const plugin = await launch(server);
    const reg = await server.connected;
    expect(reg.sequence[0]).toBe('handshake');
    expect(reg.sequence[1]).toBe('manifest_declaration');
    expect(reg.sequence[2]).toBe('endpoint_declaration');
    expect(reg.sequence.at(-1)).toBe('end');
    expect(new Set(reg.sequence.slice(3, -1))).toEqual(new Set(['asset_chunk']));
    expect(reg.manifest['name']).toBe('test_plugin');
    expect(reg.endpoint['endpoints']).toContainEqual({ path: '/items/<int:id>', method: 'GET', hidden: false });
    expect(reg.assets.get('icon.svg')).toEqual(readFileSync(join(assets, 'icon.svg')));
    expect(reg.assets.get('blob.bin')).toEqual(readFileSync(join(assets, 'blob.bin')));

    const res = await server.invoke({ method: 'GET', path: '/items/7' });
    expect(JSON.parse(res.body.toString())).toMatchObject({ values: { id: 7 } });
    await sleep(500);
    expect(server.heartbeats).toBeGreaterThanOrEqual(2);
    expect(server.protocolViolations).toEqual([]);
    expect(server.failures).toEqual([]);
    expect(plugin.output().stdout).toBe('');
  });

  test('a dropped connection is re-established with the whole registration', async () => {
    server = await startRemoteDebugServer({ key: KEY });
    await launch(server);
    await server.connected;
    const again = server.nextRegistration();
    server.dropConnection();
    const reg = await again;
    expect(reg.sequence[0]).toBe('handshake');
    expect(reg.sequence.at(-1)).toBe('end');
    expect(server.registrations).toHaveLength(2);
    const res = await server.invoke({ method: 'GET', path: '/ping' });
    expect(res.status).toBe(200);
  });

  test('a refused registration (plain-text line) is logged to stderr; after 3 attempts the plugin exits non-zero', async () => {
    server = await startRemoteDebugServer({ key: KEY });
    const plugin = await launch(server, 'wrong-key');
    const code = await Promise.race([plugin.exited, sleep(8000).then(() => 'timeout' as const)]);
    expect(code).not.toBe('timeout');
    expect(code).not.toBe(0);
    expect(server.failures.length).toBe(3);
    expect(server.failures[0]).toBe('handshake failed, invalid key');
    expect(plugin.output().stderr).toContain('handshake failed, invalid key');
    expect(server.registrations).toHaveLength(0);
  });
});
