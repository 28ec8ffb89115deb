import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, configFromYaml, loadConfig, parseMemoryMode } from '../../src/standalone/config.js';
import { tempDir } from './helpers.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('environment configuration (OpenDify names)', () => {
  it('reads an OpenDify .env as is', () => {
    const config = configFromEnv({
      DIFY_API_BASE: 'https://api.dify.ai/v1',
      DIFY_API_KEYS: 'app-aaa, app-bbb',
      VALID_API_KEYS: 'sk-1,sk-2',
      SERVER_HOST: '0.0.0.0',
      SERVER_PORT: '5000',
      TIMEOUT: '30',
      CONVERSATION_MEMORY_MODE: '1',
    });
    expect(config).toMatchObject({ host: '0.0.0.0', port: 5000, timeoutMs: 30_000 });
    expect(config.apps.map((a) => a.key)).toEqual(['app-aaa', 'app-bbb']);
    expect(config.apps[0]!.base).toBe('https://api.dify.ai/v1');
    const openai = config.endpoints.find((e) => e.group === 'chat-app')!;
    expect(openai.settings).toMatchObject({ api_key: ['sk-1', 'sk-2'], memory_mode: 'history' });
    expect(openai.apps).toHaveLength(2);
    expect(config.endpoints.find((e) => e.group === 'webapp-skin')).toMatchObject({ prefix: '' });
    expect(config.warnings).toEqual([]);
  });

  it('maps memory modes: OpenDify 1/2, Lite auto/none, ours', () => {
    expect(parseMemoryMode('2')).toBe('auto');
    expect(parseMemoryMode('1')).toBe('history');
    expect(parseMemoryMode('none')).toBe('history');
    expect(parseMemoryMode('last')).toBe('last');
    expect(parseMemoryMode(undefined)).toBe('auto');
    expect(configError(() => parseMemoryMode('7')).message).toContain('CONVERSATION_MEMORY_MODE');
  });

  it('accepts dify2openai and OpenDify Lite names', () => {
    const config = configFromEnv({ DIFY_API_URL: 'http://dify.local', DIFY_MODEL_MAP: 'helper:app-x,writer:app-y', BOT_TYPE: 'Chat' });
    expect(config.apps.map((a) => [a.model, a.key, a.base])).toEqual([
      ['helper', 'app-x', 'http://dify.local/v1'],
      ['writer', 'app-y', 'http://dify.local/v1'],
    ]);
    expect(config.warnings.join('\n')).toMatch(/BOT_TYPE/);
    expect(config.warnings.join('\n')).toMatch(/VALID_API_KEYS is empty/);
  });

  it('names the setting that is wrong', () => {
    expect(configError(() => configFromEnv({ DIFY_API_BASE: 'ftp://x', DIFY_API_KEYS: 'app-a' })).message).toMatch(/^DIFY_API_BASE/);
    expect(configError(() => configFromEnv({ DIFY_API_KEYS: 'app-a' })).message).toMatch(/^DIFY_API_BASE is not set/);
    expect(configError(() => configFromEnv({ DIFY_API_BASE: 'http://d/v1', DIFY_API_KEYS: ' , ' })).message).toMatch(/^DIFY_API_KEYS/);
    expect(configError(() => configFromEnv({ DIFY_API_BASE: 'http://d/v1', DIFY_API_KEYS: 'app-a', SERVER_PORT: 'eighty' })).message).toMatch(/^SERVER_PORT/);
    expect(configError(() => configFromEnv({ DIFY_API_BASE: 'http://d/v1', DIFY_API_KEYS: 'app-a', TIMEOUT: '-1' })).message).toMatch(/^TIMEOUT/);
    expect(configError(() => configFromEnv({ DIFY_API_BASE: 'http://d/v1', DIFY_API_KEYS: 'app-a', RATE_LIMIT_RPM: 'lots' })).message).toMatch(/^RATE_LIMIT_RPM/);
    expect(configError(() => configFromEnv({ DIFY_API_BASE: 'http://d/v1', DIFY_API_KEYS: 'app-a', CORS_ORIGINS: 'not a url' })).message).toMatch(/^CORS_ORIGINS/);
    const redis = configError(() => configFromEnv({ DIFY_API_BASE: 'http://d/v1', DIFY_API_KEYS: 'app-a', REDIS_URL: 'http://:hunter2@x' }));
    expect(redis.message).toMatch(/^REDIS_URL/);
    expect(redis.message).not.toContain('hunter2');
    expect(configError(() => configFromEnv({ DIFY_API_BASE: 'http://d/v1', DIFY_API_KEYS: 'dataset-abc' })).message).toMatch(/knowledge/);
  });

  it("sets the OpenAI endpoint's and the chat page's own settings from env too, naming a wrong value", () => {
    const base = { DIFY_API_BASE: 'http://d/v1', DIFY_API_KEYS: 'app-a' };
    const config = configFromEnv({ ...base, REASONING_OUTPUT: 'think_tags', CITATIONS: 'off', WORKFLOW_PROGRESS: 'true', SYSTEM_PROMPT: 'input', SYSTEM_PROMPT_VARIABLE: 'persona', PAGE_SKIN: 'cute', PAGE_PASSWORD: 'open sesame' });
    expect(config.endpoints.find((e) => e.group === 'chat-app')!.settings).toMatchObject({ reasoning_output: 'think_tags', citations: false, workflow_progress: true, system_prompt: 'input', system_prompt_variable: 'persona' });
    expect(config.endpoints.find((e) => e.group === 'webapp-skin')!.settings).toEqual({ skin: 'cute', password: 'open sesame' });
    expect(configError(() => configFromEnv({ ...base, REASONING_OUTPUT: 'loud' })).message).toMatch(/^REASONING_OUTPUT must be one of reasoning_content, think_tags, hidden/);
    expect(configError(() => configFromEnv({ ...base, CITATIONS: 'maybe' })).message).toMatch(/^CITATIONS must be true or false/);
    expect(configError(() => configFromEnv({ ...base, PAGE_SKIN: 'neon' })).message).toMatch(/^PAGE_SKIN/);
  });

  it('with nothing configured, asks for usage', () => {
    const error = configError(() => configFromEnv({ PATH: '/usr/bin' }));
    expect(error.usage).toBe(true);
    expect(error.message).toContain('DIFY_API_BASE');
    expect(error.message).toContain('DIFY_API_KEYS');
  });
});

describe('YAML configuration', () => {
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('declares several endpoints: an OpenAI API, a chat page per app, a webhook', () => {
    const file = write(
      'ok.yaml',
      `server: { port: 8080, rate_limit_rpm: 60 }
dify: { base: https://dify.example.com }
apps:
  support: { key: "\${SUPPORT_KEY}" }
  digest: { key: app-digest, base: https://other.example.com/v1, model: digest-bot }
endpoints:
  - { name: openai, group: chat-app, apps: [support, digest], settings: { api_key: "sk-a,sk-b", memory_mode: "2" } }
  - { name: support-page, group: webapp-skin, prefix: /chat/support, app: support, settings: { skin: cute } }
  - { name: github, group: webhook, prefix: /hooks/github, app: digest, settings: { verification: hmac } }
`,
    );
    const config = configFromYaml(file, { SUPPORT_KEY: 'app-support' });
    expect(config.port).toBe(8080);
    expect(config.rateLimitRpm).toBe(60);
    expect(config.apps).toEqual([
      { ref: 'support', base: 'https://dify.example.com/v1', key: 'app-support' },
      { ref: 'digest', base: 'https://other.example.com/v1', key: 'app-digest', model: 'digest-bot' },
    ]);
    expect(config.endpoints.map((e) => [e.name, e.group, e.prefix])).toEqual([
      ['openai', 'chat-app', ''],
      ['support-page', 'webapp-skin', '/chat/support'],
      ['github', 'webhook', '/hooks/github'],
    ]);
    expect(config.endpoints[0]!.settings).toMatchObject({ api_key: ['sk-a', 'sk-b'], memory_mode: 'auto' });
    expect(config.endpoints[1]!.settings).toMatchObject({ app: 'support', skin: 'cute' });
    expect(loadConfig(['--config', file], { SUPPORT_KEY: 'k' }).source).toBe(file);
  });

  it('accepts the shipped example file', () => {
    const config = configFromYaml(join(import.meta.dirname, '../../src/standalone/dify-bridge.example.yaml'), { SUPPORT_APP_KEY: 'app-s', DIGEST_APP_KEY: 'app-d', CLIENT_KEYS: 'sk-1,sk-2', WEBHOOK_SECRET: 'w' });
    expect(config.endpoints.map((e) => `${e.group}@${e.prefix}`)).toEqual(['chat-app@', 'webapp-skin@/chat/support', 'webhook@/hooks/digest']);
    expect(config.endpoints[0]!.settings.api_key).toEqual(['sk-1', 'sk-2']);
  });

  it('stops with a message naming the setting', () => {
    const cases: Array<[string, RegExp]> = [
      ['apps: {}\nendpoints: []\n', /endpoints: declare at least one endpoint/],
      ['apps: { a: { key: app-a } }\nendpoints: [{ name: x, group: chat-app, app: a }]\n', /apps\.a\.base is not set/],
      ['dify: { base: http://d }\napps: { a: { key: app-a } }\nendpoints: [{ name: x, group: nope, app: a }]\n', /endpoints\[0\]\.group/],
      ['dify: { base: http://d }\napps: { a: { key: app-a } }\nendpoints: [{ name: x, group: webhook, app: b }]\n', /endpoints\[0\]\.app: "b" is not declared/],
      ['dify: { base: http://d }\napps: { a: { key: app-a } }\nendpoints: [{ name: x, group: webapp-skin, app: a, prefix: nope }]\n', /endpoints\[0\]\.prefix/],
      ['dify: { base: http://d }\napps: { a: { key: "${MISSING_VAR}" } }\nendpoints: [{ name: x, group: webapp-skin, app: a }]\n', /apps\.a\.key refers to \$\{MISSING_VAR\}/],
      ['dify: { base: http://d }\napps: { a: { key: app-a } }\nendpoints: [{ name: x, group: chat-app, app: a, colour: red }]\n', /endpoints\[0\]/],
      ['dify: { base: http://d }\napps: { a: { key: app-a } }\nendpoints: [{ name: x, group: chat-app, app: a }, { name: x, group: webhook, app: a }]\n', /"x" is used twice/],
      ['{ not yaml', /not valid YAML/],
    ];
    cases.forEach(([text, pattern], i) => {
      const file = write(`bad-${i}.yaml`, text);
      expect(configError(() => configFromYaml(file, {})).message).toMatch(pattern);
    });
    expect(configError(() => configFromYaml(join(dir, 'missing.yaml'), {})).message).toMatch(/cannot read the file/);
    expect(configError(() => loadConfig(['--config'], {})).message).toMatch(/--config needs a file/);
  });
});
