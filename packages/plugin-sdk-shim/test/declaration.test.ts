import { describe, expect, it } from 'vitest';
import { DeclarationError, endpointDeclarationJson, loadPluginDeclaration } from '../src/package-api.js';
import { baseGroup, baseManifest, pluginFiles, sayEndpoint, writePlugin, type Files } from './declaration-fixture.js';

function errorOf(files: Files, group?: string): string {
  const dir = writePlugin(files);
  try {
    loadPluginDeclaration(dir, group ? { group } : {});
  } catch (error) {
    expect(error).toBeInstanceOf(DeclarationError);
    return (error as Error).message;
  }
  throw new Error('expected the declaration to be rejected');
}

const manifestWith = (overrides: Record<string, unknown>) => pluginFiles({ 'manifest.yaml': baseManifest(overrides) });
const groupWith = (overrides: Record<string, unknown>) => pluginFiles({ 'settings/echo.yaml': baseGroup(overrides) });
const setting = (s: Record<string, unknown>) => groupWith({ settings: [{ name: 'a', type: 'text-input', label: { en_US: 'A' } }, { label: { en_US: 'S' }, ...s }] });
const endpointWith = (overrides: Record<string, unknown>) => pluginFiles({ 'endpoints/echo/say.yaml': { ...sayEndpoint, ...overrides } });

describe('loadPluginDeclaration: a valid folder', () => {
  it('returns the manifest JSON, the group with handler names and the assets', () => {
    const dir = writePlugin(pluginFiles({ '_assets/skins/a.css': 'body{}' }));
    const declaration = loadPluginDeclaration(dir);
    expect(declaration.manifest).toMatchObject({
      name: 'echo_bridge',
      author: 'acme',
      version: '0.1.0',
      created_at: '2026-01-01T00:00:00Z',
      plugins: { endpoints: ['settings/echo.yaml'] },
      meta: { runner: { language: 'python', entrypoint: 'main' }, minimum_dify_version: null },
      tags: [],
    });
    expect(declaration.group).toMatchObject({
      name: 'echo',
      file: 'settings/echo.yaml',
      settings: [{ name: 'api_key', type: 'secret-input', required: true }],
      endpoints: [{ path: '/v1/say/<name>', method: 'POST', hidden: false, handler: 'say', file: 'endpoints/echo/say.yaml' }],
    });
    expect(declaration.assets.files).toEqual(['icon.svg', 'skins/a.css']);
    expect(endpointDeclarationJson(declaration.group)).toEqual({
      settings: declaration.group.settings,
      endpoints: [{ path: '/v1/say/<name>', method: 'POST', hidden: false }],
    });
  });

  it('accepts every setting type, both selector scopes (also &-joined) and a select with a default among its options', () => {
    const dir = writePlugin(
      groupWith({
        settings: [
          { name: 'k', type: 'secret-input', label: { en_US: 'K' } },
          { name: 't', type: 'text-input', label: { en_US: 'T' }, placeholder: { en_US: 'p' }, help: { en_US: 'h', zh_Hans: '帮助' } },
          { name: 's', type: 'select', default: 'x', options: [{ value: 'x', label: { en_US: 'X' } }], label: { en_US: 'S' } },
          { name: 'b', type: 'boolean', default: true, label: { en_US: 'B' } },
          { name: 'app', type: 'app-selector', scope: 'chat&workflow', label: { en_US: 'App' } },
          { name: 'm', type: 'model-selector', scope: 'llm & vision', label: { en_US: 'M' } },
        ],
      }),
    );
    expect(loadPluginDeclaration(dir).group.settings.map((s) => s.name)).toEqual(['k', 't', 's', 'b', 'app', 'm']);
  });
});

describe('loadPluginDeclaration: manifest.yaml rules', () => {
  it('plugin name', () => {
    expect(errorOf(manifestWith({ name: 'Echo Bridge' }))).toBe(
      'manifest.yaml: name: "Echo Bridge" is not a valid plugin name (lower-case letters, digits, _ and -, 1..128: ^[a-z0-9_-]{1,128}$)',
    );
  });
  it('author', () => {
    expect(errorOf(manifestWith({ author: 'ACME' }))).toBe(
      'manifest.yaml: author: "ACME" is not a valid author (lower-case letters, digits, _ and -, 1..64: ^[a-z0-9_-]{1,64}$)',
    );
    expect(errorOf(manifestWith({ author: '4f1c6a0e-2b7d-4a55-9a3e-8c7f0d2b1e90' }))).toBe('manifest.yaml: author: must not be a UUID (the daemon refuses such authors)');
  });
  it('version and meta.version', () => {
    expect(errorOf(manifestWith({ version: '1.0' }))).toBe(
      'manifest.yaml: version: "1.0" is not a version like 1.2.3 or 1.2.3-beta (^\\d{1,4}(\\.\\d{1,4}){2}(-\\w{1,16})?$)',
    );
    expect(errorOf(manifestWith({ version: 1 }))).toBe('manifest.yaml: version: must be a quoted version string like "0.1.0", not 1');
    expect(errorOf(manifestWith({ meta: { ...(baseManifest().meta as object), version: '0.0.1-' } }))).toContain('manifest.yaml: meta.version: "0.0.1-" is not a version');
  });
  it('labels and descriptions: en_US 1..1023 characters, known languages only', () => {
    expect(errorOf(manifestWith({ label: { en_US: '' } }))).toBe('manifest.yaml: label.en_US: must not be empty');
    expect(errorOf(manifestWith({ description: { en_US: 'x'.repeat(1024) } }))).toBe('manifest.yaml: description.en_US: is 1024 characters long; at most 1023 allowed');
    expect(errorOf(manifestWith({ label: { zh_Hans: '回声' } }))).toBe('manifest.yaml: label.en_US: is required (a string)');
    expect(errorOf(manifestWith({ label: { en_US: 'x', fr_FR: 'y' } }))).toBe('manifest.yaml: label.fr_FR: is not a known key here (misspelt?)');
  });
  it('icon must be a file in _assets', () => {
    expect(errorOf(manifestWith({ icon: 'logo.png' }))).toBe('manifest.yaml: icon: "logo.png" is not a file in _assets/');
  });
  it('created_at must be RFC 3339 and not the zero time', () => {
    expect(errorOf(manifestWith({ created_at: '2026-01-01' }))).toBe(
      'manifest.yaml: created_at: "2026-01-01" is not an RFC 3339 timestamp like 2026-01-01T00:00:00Z (and not the zero time)',
    );
    expect(errorOf(manifestWith({ created_at: '0001-01-01T00:00:00Z' }))).toContain('not the zero time');
  });
  it('resource.memory must be non-zero', () => {
    expect(errorOf(manifestWith({ resource: { memory: 0 } }))).toBe('manifest.yaml: resource.memory: must be non-zero (bytes)');
  });
  it('permission shapes and the storage size range', () => {
    const resource = (permission: unknown) => ({ resource: { memory: 1, permission } });
    expect(errorOf(manifestWith(resource({ endpoint: { enabled: true }, storage: { enabled: true, size: 512 } })))).toBe(
      "manifest.yaml: resource.permission.storage.size: 512 is below the daemon's minimum of 1024 bytes",
    );
    expect(errorOf(manifestWith(resource({ endpoint: { enabled: true }, storage: { enabled: true, size: 2147483648 } })))).toBe(
      "manifest.yaml: resource.permission.storage.size: 2147483648 is above the daemon's maximum of 1073741824 bytes (1 GiB)",
    );
    expect(errorOf(manifestWith(resource({ endpoint: { enabled: true }, storage: { enabled: false } })))).toBe(
      'manifest.yaml: resource.permission.storage.size: is required (bytes, 1024..1073741824)',
    );
    expect(errorOf(manifestWith(resource({ endpoint: { enabled: 'yes' } })))).toBe('manifest.yaml: resource.permission.endpoint.enabled: must be true or false, not "yes"');
    expect(errorOf(manifestWith(resource({ endpoint: { enabled: true }, models: { enabled: true } })))).toBe(
      'manifest.yaml: resource.permission.models: is not a known key here (misspelt?)',
    );
    expect(errorOf(manifestWith(resource({ app: { enabled: true } })))).toBe(
      'manifest.yaml: resource.permission.endpoint.enabled: must be true: without it Dify cannot create endpoints of this plugin',
    );
  });
  it('meta.runner.language must be python and meta.arch amd64/arm64', () => {
    const meta = baseManifest().meta as Record<string, unknown>;
    expect(errorOf(manifestWith({ meta: { ...meta, runner: { language: 'node', version: '24', entrypoint: 'main' } } }))).toBe(
      'manifest.yaml: meta.runner.language: "node" cannot run: the daemon only runs "python" (the bridge main.py starts Node)',
    );
    expect(errorOf(manifestWith({ meta: { ...meta, arch: ['amd64', 'x86'] } }))).toBe('manifest.yaml: meta.arch[1]: "x86" is not a valid arch (amd64, arm64)');
    expect(errorOf(manifestWith({ meta: { ...meta, runner: { language: 'python', version: '3.12' } } }))).toBe('manifest.yaml: meta.runner.entrypoint: is required (a string)');
  });
  it('tags come from the fixed set', () => {
    expect(errorOf(manifestWith({ tags: ['utilities', 'chat'] }))).toBe(
      'manifest.yaml: tags[1]: "chat" is not a valid tag (search, image, videos, weather, finance, design, travel, social, news, medical, productivity, education, business, entertainment, utilities, agent, rag, other, trigger)',
    );
  });
  it('only endpoint plugins', () => {
    expect(errorOf(manifestWith({ plugins: { endpoints: ['settings/echo.yaml'], tools: ['t.yaml'] } }))).toBe(
      'manifest.yaml: plugins.tools: tool providers are not supported by this runtime (endpoint plugins only)',
    );
  });
  it('a YAML syntax error names the line', () => {
    expect(errorOf(pluginFiles({ 'manifest.yaml': 'version: 0.1.0\nlabel: [unclosed\n' }))).toMatch(/^manifest\.yaml: is not valid YAML at line \d+, column \d+: /);
  });
});

describe('loadPluginDeclaration: settings/<group>.yaml rules', () => {
  it('setting types', () => {
    expect(errorOf(setting({ name: 'x', type: 'password' }))).toBe(
      'settings/echo.yaml: settings[1].type: "password" is not a valid setting type (secret-input, text-input, select, boolean, app-selector, model-selector, array[tools])',
    );
  });
  it('app-selector scopes', () => {
    expect(errorOf(setting({ name: 'x', type: 'app-selector', scope: 'chat&agent' }))).toBe(
      'settings/echo.yaml: settings[1].scope: "chat&agent" is not a valid app-selector scope (all, chat, workflow, completion; join several with &)',
    );
  });
  it('model-selector scopes', () => {
    expect(errorOf(setting({ name: 'x', type: 'model-selector', scope: 'foo' }))).toBe(
      'settings/echo.yaml: settings[1].scope: "foo" is not a valid model-selector scope (llm, text-embedding, rerank, tts, speech2text, moderation, vision, document, tool-call; join several with &)',
    );
  });
  it('no scope on other types', () => {
    expect(errorOf(setting({ name: 'x', type: 'text-input', scope: 'all' }))).toBe(
      'settings/echo.yaml: settings[1].scope: a text-input setting takes no scope (only app-selector and model-selector do)',
    );
  });
  it('select options: fewer than 128, values under 128 characters, default among them', () => {
    const options = (n: number) => Array.from({ length: n }, (_, i) => ({ value: `v${i}`, label: { en_US: `V${i}` } }));
    expect(errorOf(setting({ name: 'x', type: 'select', options: options(128) }))).toBe(
      'settings/echo.yaml: settings[1].options: has 128 options; the daemon allows fewer than 128',
    );
    expect(errorOf(setting({ name: 'x', type: 'select', options: [{ value: 'v'.repeat(128), label: { en_US: 'V' } }] }))).toBe(
      'settings/echo.yaml: settings[1].options[0].value: is 128 characters long; option values must be under 128',
    );
    expect(errorOf(setting({ name: 'x', type: 'select', options: [] }))).toBe('settings/echo.yaml: settings[1].options: a select setting needs at least one option');
    expect(errorOf(setting({ name: 'x', type: 'select', default: 'z', options: options(2) }))).toBe('settings/echo.yaml: settings[1].default: "z" is not one of the options (v0, v1)');
    expect(errorOf(setting({ name: 'x', type: 'select', options: [{ value: 1, label: { en_US: 'One' } }] }))).toBe(
      'settings/echo.yaml: settings[1].options[0].value: must be a string (quote it), not 1',
    );
  });
  it('at most 64 settings, unique names, basic defaults', () => {
    const many = Array.from({ length: 65 }, (_, i) => ({ name: `s${i}`, type: 'text-input', label: { en_US: 'S' } }));
    expect(errorOf(groupWith({ settings: many }))).toBe('settings/echo.yaml: settings: has 65 settings; the daemon refuses more than 64');
    expect(errorOf(setting({ name: 'a', type: 'boolean' }))).toBe('settings/echo.yaml: settings[1].name: "a" is already used by settings[0]');
    expect(errorOf(setting({ name: 'x', type: 'text-input', default: { a: 1 } }))).toBe('settings/echo.yaml: settings[1].default: must be a string, number or boolean, not a mapping');
  });
  it('endpoint files must exist and be relative', () => {
    expect(errorOf(groupWith({ endpoints: ['endpoints/echo/missing.yaml'] }))).toBe('settings/echo.yaml: endpoints[0]: "endpoints/echo/missing.yaml" does not exist in the plugin folder');
    expect(errorOf(groupWith({ endpoints: ['../outside.yaml'] }))).toBe('settings/echo.yaml: endpoints[0]: "../outside.yaml" must be a relative path inside the plugin folder, with / separators');
    expect(errorOf(groupWith({ endpoints: [{ path: '/x', method: 'GET' }] }))).toBe(
      'settings/echo.yaml: endpoints[0]: must be the path of an endpoint YAML file (inline endpoints are not used here), not a mapping',
    );
  });
  it('the plugin: mapping is checked like the manifest', () => {
    expect(errorOf(groupWith({ plugin: { name: 'Echo' } }))).toBe(
      'settings/echo.yaml: plugin.name: "Echo" is not a valid plugin name (lower-case letters, digits, _ and -, 1..128: ^[a-z0-9_-]{1,128}$)',
    );
    expect(errorOf(groupWith({ plugin: { name: 'echo_x', permissions: { app: { enabled: true } } } }))).toBe(
      'settings/echo.yaml: plugin.permissions.endpoint.enabled: must be true: without it Dify cannot create endpoints of this plugin',
    );
  });
});

describe('loadPluginDeclaration: endpoints/*.yaml rules', () => {
  it('allowed methods', () => {
    expect(errorOf(endpointWith({ method: 'PATCH' }))).toBe('endpoints/echo/say.yaml: method: "PATCH" is not a valid method (HEAD, GET, POST, PUT, DELETE, OPTIONS)');
  });
  it('werkzeug rule paths', () => {
    expect(errorOf(endpointWith({ path: 'say' }))).toBe('endpoints/echo/say.yaml: path: "say" must start with /');
    expect(errorOf(endpointWith({ path: '/say/{name}>' }))).toBe('endpoints/echo/say.yaml: path: "/say/{name}>" is not a werkzeug rule (variables look like <name> or <converter:name>)');
    expect(errorOf(endpointWith({ path: '/say/<slug:name>' }))).toBe(
      'endpoints/echo/say.yaml: path: "/say/<slug:name>" uses the unknown converter "slug" (default, string, path, int, float, any, uuid)',
    );
  });
  it('a handler binding is required', () => {
    expect(errorOf(endpointWith({ extra: { python: { source: 'x.py' } } }))).toBe('endpoints/echo/say.yaml: extra.node: is required (a mapping)');
    expect(errorOf(endpointWith({ extra: { node: { handler: 'say-it' } } }))).toBe('endpoints/echo/say.yaml: extra.node.handler: "say-it" is not a handler name (letters, digits, _ and $)');
  });
  it('the same method and path twice', () => {
    const files = pluginFiles({
      'settings/echo.yaml': baseGroup({ endpoints: ['endpoints/echo/say.yaml', 'endpoints/echo/again.yaml'] }),
      'endpoints/echo/again.yaml': { ...sayEndpoint, extra: { node: { handler: 'again' } } },
    });
    expect(errorOf(files)).toBe('endpoints/echo/again.yaml: path: POST "/v1/say/<name>" is already declared by endpoints/echo/say.yaml');
  });
});

describe('loadPluginDeclaration: choosing the group', () => {
  const twoGroups = () =>
    pluginFiles({
      'manifest.yaml': baseManifest({ plugins: { endpoints: ['settings/echo.yaml', 'settings/shout.yaml'] } }),
      'settings/shout.yaml': baseGroup({ plugin: { name: 'shouter', label: { en_US: 'Shout' }, permissions: { endpoint: { enabled: true } } } }),
    });

  it('several groups and no choice: one message that lists them', () => {
    expect(errorOf(twoGroups())).toBe(
      'manifest.yaml: plugins.endpoints: lists 2 endpoint groups (echo, shout) but the daemon serves one per plugin: choose one',
    );
    expect(errorOf(twoGroups(), 'whisper')).toBe('manifest.yaml: plugins.endpoints: has no group "whisper" (groups: echo, shout)');
  });

  it('builds a clean per-group manifest: the group\'s plugin overrides, or <name>_<group> by default', () => {
    const dir = writePlugin(twoGroups());
    const shout = loadPluginDeclaration(dir, { group: 'shout' });
    expect(shout.manifest).toMatchObject({ name: 'shouter', label: { en_US: 'Shout' }, plugins: { endpoints: ['settings/shout.yaml'] } });
    expect((shout.manifest.resource as { permission: unknown }).permission).toEqual({ endpoint: { enabled: true } });
    const echo = loadPluginDeclaration(dir, { group: 'echo' });
    expect(echo.manifest).toMatchObject({ name: 'echo_bridge_echo', label: { en_US: 'Echo bridge (echo)' }, plugins: { endpoints: ['settings/echo.yaml'] } });
    expect(echo.manifest).not.toHaveProperty('plugin');
  });
});
