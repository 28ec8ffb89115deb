/**
 * Standalone configuration: OpenDify-compatible environment variables (plus dify2openai's and
 * OpenDify Lite's names where they differ), or a YAML file (`--config file.yaml`) declaring several
 * endpoints. Invalid configuration is a ConfigError whose message names the setting; no
 * configuration at all is a ConfigError carrying the usage text.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export type GroupName = 'chat-app' | 'webapp-skin' | 'webhook' | 'llm';
export type MemoryMode = 'auto' | 'history' | 'last';

export interface AppConfig {
  /** Reference used by endpoints (`apps:` key in YAML; `app1`, `app2`... in env mode). */
  ref: string;
  /** Dify Service API base, e.g. https://api.dify.ai/v1 */
  base: string;
  key: string;
  /** Model id override (default: the app's name from GET /info). */
  model?: string;
}

export interface EndpointConfig {
  /** Part of every memory scope; unique. */
  name: string;
  group: GroupName;
  /** Mount path: '' for the root, else '/something' (no trailing slash). */
  prefix: string;
  /** App refs this endpoint exposes (chat-app: all of them as models; others: the first). */
  apps: string[];
  settings: Record<string, unknown>;
}

export interface StandaloneConfig {
  host: string;
  port: number;
  /** Upstream timeout (ms): connect and headers, idle stream, whole blocking call. */
  timeoutMs: number;
  apps: AppConfig[];
  endpoints: EndpointConfig[];
  /** Where the SQLite file lives when REDIS_URL is not set. */
  sqliteFile: string;
  redisUrl?: string;
  /** '*' or an explicit origin list. */
  corsOrigins: '*' | string[];
  /** Requests per minute per client key (0 = off). */
  rateLimitRpm: number;
  logLevel: string;
  /** Request bodies above this get 413. */
  bodyLimitBytes: number;
  /** How long SIGTERM waits for open streams. */
  shutdownGraceMs: number;
  /** Warnings to log at start (open access, ignored legacy settings...). */
  warnings: string[];
  /** Where the configuration came from, for the start-up log line. */
  source: 'env' | string;
}

export class ConfigError extends Error {
  constructor(
    message: string,
    /** True when nothing was configured at all (print usage). */
    readonly usage = false,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const USAGE = `dify-bridge standalone: an OpenAI-compatible API and a chat page for your Dify apps.

Set at least (environment or a .env file in the working directory):
  DIFY_API_BASE      Dify Service API base URL, e.g. https://api.dify.ai/v1
  DIFY_API_KEYS      comma-separated Dify app API keys (app-...); each app becomes a model named after the app

Optional:
  VALID_API_KEYS     comma-separated keys clients must send (empty: open access)
  SERVER_HOST        listen address (default 127.0.0.1; 0.0.0.0 in containers)
  SERVER_PORT        listen port (default 5000)
  TIMEOUT            upstream timeout in seconds (default 300)
  CONVERSATION_MEMORY_MODE  auto (default) | history | last  (OpenDify's 1 = history, 2 = auto)
  REDIS_URL          share conversation memory between instances (default: SQLite under ./data)
  DATA_DIR           where the SQLite file lives (default ./data)
  CORS_ORIGINS       comma-separated allowed origins (default *)
  RATE_LIMIT_RPM     requests per minute per client key (default off)
  LOG_LEVEL          pino level (default info)
  REASONING_OUTPUT, TOOL_EMULATION, SYSTEM_PROMPT, SYSTEM_PROMPT_VARIABLE, WORKFLOW_PROGRESS, CITATIONS,
  STRIP_PLATFORM_METADATA   the OpenAI API's settings (see .env.example)
  PAGE_SKIN, PAGE_LANGUAGE, PAGE_BOT_NAME, PAGE_WELCOME, PAGE_PASSWORD   the chat page's

Or declare several endpoints in a YAML file:  npm start -- --config dify-bridge.yaml
`;

const DEFAULT_PORT = 5000;
const DEFAULT_TIMEOUT_S = 300;
const TEN_MIB = 10 * 1024 * 1024;

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function parsePort(value: string | number | undefined, setting: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${setting} must be a port number (0-65535), got "${value}"`);
  return n;
}

function parseSeconds(value: string | number | undefined, setting: string, fallback: number): number {
  if (value === undefined || value === '') return fallback * 1000;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${setting} must be a positive number of seconds, got "${value}"`);
  return Math.round(n * 1000);
}

function parseNonNegativeInt(value: string | number | undefined, setting: string): number {
  if (value === undefined || value === '') return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${setting} must be a whole number >= 0, got "${value}"`);
  return n;
}

function parseBase(value: string, setting: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${setting} must be an http(s) URL such as https://api.dify.ai/v1, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${setting} must be an http(s) URL, got "${value}"`);
  let base = value.trim().replace(/\/+$/, '');
  // Users paste the console URL or forget /v1; the Service API lives under /v1.
  if (!/\/v1$/.test(new URL(base).pathname)) base = `${base}/v1`;
  return base;
}

/** OpenDify's CONVERSATION_MEMORY_MODE (1 = history_message, 2 = zero-width ids) and our names. */
export function parseMemoryMode(value: string | undefined, setting = 'CONVERSATION_MEMORY_MODE'): MemoryMode {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '') return 'auto';
  if (['auto', '2', 'zero_width', 'zero-width', 'conversation', 'conversation_id'].includes(v)) return 'auto';
  if (['history', '1', 'history_message', 'none', 'all_messages'].includes(v)) return 'history';
  if (['last', 'last_user_message', '0'].includes(v)) return 'last';
  throw new ConfigError(`${setting} must be auto, history or last (OpenDify's 1 and 2 also work), got "${value}"`);
}

function parseCors(value: string | undefined): '*' | string[] {
  const origins = list(value);
  if (origins.length === 0 || origins.includes('*')) return '*';
  for (const origin of origins) {
    try {
      const u = new URL(origin);
      if (u.origin !== origin.replace(/\/$/, '')) throw new Error('not an origin');
    } catch {
      throw new ConfigError(`CORS_ORIGINS entries must be origins such as https://chat.example.com, got "${origin}"`);
    }
  }
  return origins.map((o) => o.replace(/\/$/, ''));
}

function parseRedisUrl(value: string | undefined, setting: string): string | undefined {
  if (!value) return undefined;
  try {
    const u = new URL(value);
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error('scheme');
  } catch {
    // Never echo the value: it may contain a password.
    throw new ConfigError(`${setting} must be a redis:// or rediss:// URL`);
  }
  return value;
}

const GROUPS = ['chat-app', 'webapp-skin', 'webhook', 'llm'] as const;

type SettingKind = 'bool' | 'text' | readonly string[];

/** Endpoint settings that env configuration may set too (the YAML config sets any, per endpoint). */
const CHAT_APP_ENV: ReadonlyArray<[env: string, setting: string, kind: SettingKind]> = [
  ['REASONING_OUTPUT', 'reasoning_output', ['reasoning_content', 'think_tags', 'hidden']],
  ['TOOL_EMULATION', 'tool_emulation', 'bool'],
  ['SYSTEM_PROMPT', 'system_prompt', ['prefix', 'input', 'ignore']],
  ['SYSTEM_PROMPT_VARIABLE', 'system_prompt_variable', 'text'],
  ['WORKFLOW_PROGRESS', 'workflow_progress', 'bool'],
  ['CITATIONS', 'citations', 'bool'],
  ['STRIP_PLATFORM_METADATA', 'strip_platform_metadata', 'bool'],
];
const PAGE_ENV: ReadonlyArray<[env: string, setting: string, kind: SettingKind]> = [
  ['PAGE_SKIN', 'skin', ['minimal', 'cute', 'korean', 'classic']],
  ['PAGE_LANGUAGE', 'language', ['auto', 'en', 'zh']],
  ['PAGE_BOT_NAME', 'bot_name', 'text'],
  ['PAGE_WELCOME', 'welcome_message', 'text'],
  ['PAGE_PASSWORD', 'password', 'text'],
];

/** The settings those variables give; a value that is not one of the choices stops start-up naming it. */
function envSettings(env: NodeJS.ProcessEnv, names: ReadonlyArray<[string, string, SettingKind]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, setting, kind] of names) {
    const raw = env[name]?.trim();
    if (!raw) continue;
    if (kind === 'text') out[setting] = raw;
    else if (kind === 'bool') {
      const v = raw.toLowerCase();
      if (!['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(v)) throw new ConfigError(`${name} must be true or false, got "${raw}"`);
      out[setting] = ['true', '1', 'yes', 'on'].includes(v);
    } else {
      if (!kind.includes(raw)) throw new ConfigError(`${name} must be one of ${kind.join(', ')}, got "${raw}"`);
      out[setting] = raw;
    }
  }
  return out;
}

/** Anything that looks configured: used to decide between "print usage" and "say what is wrong". */
function anythingConfigured(env: NodeJS.ProcessEnv): boolean {
  return ['DIFY_API_BASE', 'DIFY_API_URL', 'DIFY_API_KEYS', 'DIFY_API_KEY', 'DIFY_MODEL_MAP'].some((k) => (env[k] ?? '').trim() !== '');
}

function common(env: NodeJS.ProcessEnv, warnings: string[]) {
  const host = env.SERVER_HOST?.trim() || env.HOST?.trim() || '127.0.0.1';
  const port = parsePort(env.SERVER_PORT ?? env.PORT, env.SERVER_PORT !== undefined ? 'SERVER_PORT' : 'PORT', DEFAULT_PORT);
  const timeoutMs = parseSeconds(env.TIMEOUT, 'TIMEOUT', DEFAULT_TIMEOUT_S);
  const redisUrl = parseRedisUrl(env.REDIS_URL?.trim(), 'REDIS_URL');
  const dataDir = env.DATA_DIR?.trim() || './data';
  const sqliteFile = resolve(env.SQLITE_FILE?.trim() || `${dataDir}/dify-bridge.sqlite`);
  const corsOrigins = parseCors(env.CORS_ORIGINS);
  const rateLimitRpm = parseNonNegativeInt(env.RATE_LIMIT_RPM, 'RATE_LIMIT_RPM');
  const logLevel = (env.LOG_LEVEL?.trim() || 'info').toLowerCase();
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "${env.LOG_LEVEL}"`);
  }
  const shutdownGraceMs = parseSeconds(env.SHUTDOWN_GRACE, 'SHUTDOWN_GRACE', 30);
  for (const legacy of ['BOT_TYPE', 'INPUT_VARIABLE', 'OUTPUT_VARIABLE']) {
    if (env[legacy]) warnings.push(`${legacy} is not needed: each app's type comes from Dify (GET /info); ignoring it`);
  }
  const result = { host, port, timeoutMs, sqliteFile, corsOrigins, rateLimitRpm, logLevel, bodyLimitBytes: TEN_MIB, shutdownGraceMs };
  return redisUrl ? { ...result, redisUrl } : result;
}

/** Environment mode: one chat-app endpoint over every app, plus the chat page at /. */
export function configFromEnv(env: NodeJS.ProcessEnv): StandaloneConfig {
  if (!anythingConfigured(env)) throw new ConfigError(USAGE, true);
  const warnings: string[] = [];
  const baseRaw = env.DIFY_API_BASE?.trim() || env.DIFY_API_URL?.trim();
  if (!baseRaw) throw new ConfigError('DIFY_API_BASE is not set: set it to your Dify Service API base URL, e.g. https://api.dify.ai/v1');
  const base = parseBase(baseRaw, env.DIFY_API_BASE?.trim() ? 'DIFY_API_BASE' : 'DIFY_API_URL');

  const apps: AppConfig[] = [];
  const addKey = (key: string, setting: string, model?: string) => {
    if (!/^\S+$/.test(key)) throw new ConfigError(`${setting} contains an app key with spaces in it`);
    if (key.startsWith('dataset-')) throw new ConfigError(`${setting} contains a knowledge (dataset-) key; use app keys (app-...) from each app's "API Access" page`);
    if (apps.some((a) => a.key === key)) {
      warnings.push(`${setting} lists the same app key twice; using it once`);
      return;
    }
    const app: AppConfig = { ref: `app${apps.length + 1}`, base, key };
    if (model) app.model = model;
    apps.push(app);
  };
  for (const key of list(env.DIFY_API_KEYS)) addKey(key, 'DIFY_API_KEYS');
  // OpenDify Lite: DIFY_API_KEY + DIFY_MODEL_NAME, or DIFY_MODEL_MAP=name:key,name:key
  if (env.DIFY_API_KEY?.trim()) addKey(env.DIFY_API_KEY.trim(), 'DIFY_API_KEY', env.DIFY_MODEL_NAME?.trim() || env.MODELS_NAME?.trim() || undefined);
  for (const pair of list(env.DIFY_MODEL_MAP)) {
    const idx = pair.indexOf(':');
    if (idx <= 0 || idx === pair.length - 1) throw new ConfigError('DIFY_MODEL_MAP entries must be model-name:app-key pairs separated by commas');
    addKey(pair.slice(idx + 1).trim(), 'DIFY_MODEL_MAP', pair.slice(0, idx).trim());
  }
  if (apps.length === 0) throw new ConfigError('DIFY_API_KEYS is empty: list at least one Dify app API key (app-...), comma-separated');

  const clientKeys = list(env.VALID_API_KEYS);
  if (clientKeys.length === 0) warnings.push('VALID_API_KEYS is empty: anyone who can reach this server can use your Dify apps');
  const memoryMode = parseMemoryMode(env.CONVERSATION_MEMORY_MODE ?? env.CONVERSATION_MODE, env.CONVERSATION_MEMORY_MODE !== undefined ? 'CONVERSATION_MEMORY_MODE' : 'CONVERSATION_MODE');
  const refs = apps.map((a) => a.ref);
  const endpoints: EndpointConfig[] = [
    { name: 'openai', group: 'chat-app', prefix: '', apps: refs, settings: { ...envSettings(env, CHAT_APP_ENV), api_key: clientKeys, memory_mode: memoryMode } },
    { name: 'chat', group: 'webapp-skin', prefix: '', apps: refs, settings: envSettings(env, PAGE_ENV) },
  ];
  return { ...common(env, warnings), apps, endpoints, warnings, source: 'env' };
}

// ---------------------------------------------------------------------------------------------
// YAML

const prefixSchema = z
  .string()
  .regex(/^\/[A-Za-z0-9._~\-/]*$/, 'must start with / and use only URL path characters')
  .transform((p) => p.replace(/\/+$/, ''));

const yamlSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().min(1).optional(),
      port: z.union([z.number(), z.string()]).optional(),
      timeout: z.union([z.number(), z.string()]).optional(),
      cors_origins: z.union([z.string(), z.array(z.string())]).optional(),
      rate_limit_rpm: z.union([z.number(), z.string()]).optional(),
      log_level: z.string().optional(),
      shutdown_grace: z.union([z.number(), z.string()]).optional(),
    })
    .optional(),
  dify: z.strictObject({ base: z.string().min(1) }).optional(),
  store: z
    .strictObject({
      redis_url: z.string().optional(),
      sqlite_file: z.string().optional(),
    })
    .optional(),
  apps: z.record(
    z.string().regex(/^[A-Za-z0-9_.-]+$/, 'app names use letters, digits, _ . -'),
    z.strictObject({ key: z.string().min(1, 'is empty'), base: z.string().optional(), model: z.string().optional() }),
  ),
  endpoints: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'endpoint names use letters, digits, _ . -'),
        group: z.enum(GROUPS),
        prefix: prefixSchema.optional(),
        app: z.string().optional(),
        apps: z.array(z.string()).optional(),
        settings: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1, 'declare at least one endpoint'),
});

/** `${NAME}` in YAML strings is replaced from the environment, so keys need not live in the file. */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: string): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined) throw new ConfigError(`${path} refers to \${${name}}, which is not set in the environment`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, path ? `${path}.${k}` : k)]));
  }
  return value;
}

function zodPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

export function configFromYaml(file: string, env: NodeJS.ProcessEnv): StandaloneConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--config ${file}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`--config ${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!raw || typeof raw !== 'object') throw new ConfigError(`--config ${file}: expected a mapping with apps: and endpoints:`);
  const parsed = yamlSchema.safeParse(interpolate(raw, env, ''));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`--config ${file}: ${zodPath(issue.path) || '(top level)'}: ${issue.message}`);
  }
  const doc = parsed.data;
  const warnings: string[] = [];
  const s = doc.server ?? {};
  const envLike: NodeJS.ProcessEnv = {
    SERVER_HOST: s.host ?? env.SERVER_HOST,
    SERVER_PORT: s.port !== undefined ? String(s.port) : env.SERVER_PORT,
    TIMEOUT: s.timeout !== undefined ? String(s.timeout) : env.TIMEOUT,
    CORS_ORIGINS: s.cors_origins !== undefined ? (Array.isArray(s.cors_origins) ? s.cors_origins.join(',') : s.cors_origins) : env.CORS_ORIGINS,
    RATE_LIMIT_RPM: s.rate_limit_rpm !== undefined ? String(s.rate_limit_rpm) : env.RATE_LIMIT_RPM,
    LOG_LEVEL: s.log_level ?? env.LOG_LEVEL,
    SHUTDOWN_GRACE: s.shutdown_grace !== undefined ? String(s.shutdown_grace) : env.SHUTDOWN_GRACE,
    REDIS_URL: doc.store?.redis_url ?? env.REDIS_URL,
    SQLITE_FILE: doc.store?.sqlite_file ?? env.SQLITE_FILE,
    DATA_DIR: env.DATA_DIR,
  };
  let base: string | undefined;
  if (doc.dify?.base) base = parseBase(doc.dify.base, `--config ${file}: dify.base`);
  else if (env.DIFY_API_BASE) base = parseBase(env.DIFY_API_BASE, 'DIFY_API_BASE');
  const apps: AppConfig[] = Object.entries(doc.apps).map(([ref, app]) => {
    const appBase = app.base ? parseBase(app.base, `--config ${file}: apps.${ref}.base`) : base;
    if (!appBase) throw new ConfigError(`--config ${file}: apps.${ref}.base is not set and there is no dify.base (or DIFY_API_BASE) to fall back on`);
    const out: AppConfig = { ref, base: appBase, key: app.key.trim() };
    if (app.model) out.model = app.model;
    return out;
  });
  const names = new Set<string>();
  const endpoints: EndpointConfig[] = doc.endpoints.map((e, i) => {
    const where = `--config ${file}: endpoints[${i}]`;
    if (names.has(e.name)) throw new ConfigError(`${where}.name: "${e.name}" is used twice`);
    names.add(e.name);
    const refs = e.apps ?? (e.app ? [e.app] : []);
    for (const ref of refs) {
      if (!doc.apps[ref]) throw new ConfigError(`${where}.${e.apps ? 'apps' : 'app'}: "${ref}" is not declared under apps:`);
    }
    if (refs.length === 0 && e.group !== 'llm') throw new ConfigError(`${where}.app: name the app this ${e.group} endpoint serves (one of: ${Object.keys(doc.apps).join(', ')})`);
    if (e.group === 'llm') throw new ConfigError(`${where}.group: the llm group needs Dify-configured models, which only the plugin host has; use chat-app in standalone`);
    const settings: Record<string, unknown> = { ...(e.settings ?? {}) };
    if (refs.length === 1 && settings.app === undefined) settings.app = refs[0];
    if (e.group === 'chat-app') {
      if (settings.api_key === undefined) {
        warnings.push(`${where} (${e.name}) has no settings.api_key: open access`);
        settings.api_key = [];
      } else if (typeof settings.api_key === 'string') {
        settings.api_key = list(settings.api_key);
      }
      if (settings.memory_mode !== undefined) settings.memory_mode = parseMemoryMode(String(settings.memory_mode), `${where}.settings.memory_mode`);
    }
    return { name: e.name, group: e.group, prefix: e.prefix ?? '', apps: refs, settings };
  });
  // Two endpoints at one prefix would shadow each other's routes unless they are different groups.
  const seen = new Map<string, string>();
  for (const e of endpoints) {
    const key = `${e.group}@${e.prefix}`;
    if (seen.has(key)) throw new ConfigError(`--config ${file}: endpoints "${seen.get(key)}" and "${e.name}" are both ${e.group} at prefix "${e.prefix || '/'}"`);
    seen.set(key, e.name);
  }
  return { ...common(envLike, warnings), apps, endpoints, warnings, source: file };
}

/** `--config file` or `--config=file` from argv. */
export function configFileArg(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') {
      const next = argv[i + 1];
      if (!next || next.startsWith('-')) throw new ConfigError('--config needs a file name: --config dify-bridge.yaml');
      return next;
    }
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  return undefined;
}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): StandaloneConfig {
  const file = configFileArg(argv) ?? env.DIFY_BRIDGE_CONFIG;
  return file ? configFromYaml(file, env) : configFromEnv(env);
}
