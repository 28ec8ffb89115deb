// Builds throw-away plugin folders for declaration and packager tests.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';

export const ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>';

export function baseManifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0.1.0',
    type: 'plugin',
    author: 'acme',
    name: 'echo_bridge',
    label: { en_US: 'Echo bridge' },
    description: { en_US: 'Echoes' },
    icon: 'icon.svg',
    created_at: '2026-01-01T00:00:00Z',
    resource: {
      memory: 268435456,
      permission: { endpoint: { enabled: true }, app: { enabled: true }, storage: { enabled: true, size: 1048576 } },
    },
    plugins: { endpoints: ['settings/echo.yaml'] },
    meta: { version: '0.0.1', arch: ['amd64', 'arm64'], runner: { language: 'python', version: '3.12', entrypoint: 'main' } },
    ...overrides,
  };
}

export function baseGroup(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    settings: [{ name: 'api_key', type: 'secret-input', required: true, label: { en_US: 'API key' } }],
    endpoints: ['endpoints/echo/say.yaml'],
    ...overrides,
  };
}

export const sayEndpoint = { path: '/v1/say/<name>', method: 'POST', extra: { node: { handler: 'say' } } };

/** Files by relative path; objects are written as YAML, strings as they are. */
export type Files = Record<string, unknown>;

export function pluginFiles(extra: Files = {}): Files {
  return {
    'manifest.yaml': baseManifest(),
    'settings/echo.yaml': baseGroup(),
    'endpoints/echo/say.yaml': sayEndpoint,
    '_assets/icon.svg': ICON,
    ...extra,
  };
}

export function writePlugin(files: Files): string {
  const dir = mkdtempSync(join(tmpdir(), 'dify-plugin-'));
  for (const [path, content] of Object.entries(files)) {
    if (content === undefined) continue;
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, typeof content === 'string' || content instanceof Uint8Array ? content : stringify(content));
  }
  return dir;
}
