// zod schemas for manifest.yaml, endpoint group YAML and endpoint YAML, as strict as the daemon's
// struct validation (plugin-protocol.md §5.2-5.5; daemon pkg/entities/plugin_entities). Where the
// daemon silently ignores something that can only be a mistake (an unknown key, a duplicate setting
// name, a `select` without options) we reject it too, with the rule spelt out.
import { z } from 'zod';
import { show } from './declaration-error.js';

export const PLUGIN_NAME_PATTERN = /^[a-z0-9_-]{1,128}$/;
export const AUTHOR_PATTERN = /^[a-z0-9_-]{1,64}$/;
export const VERSION_PATTERN = /^\d{1,4}(\.\d{1,4}){2}(-\w{1,16})?$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RFC3339_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export const PLUGIN_TAGS = [
  'search', 'image', 'videos', 'weather', 'finance', 'design', 'travel', 'social', 'news', 'medical',
  'productivity', 'education', 'business', 'entertainment', 'utilities', 'agent', 'rag', 'other', 'trigger',
] as const;
export const ARCHES = ['amd64', 'arm64'] as const;
export const SETTING_TYPES = ['secret-input', 'text-input', 'select', 'boolean', 'app-selector', 'model-selector', 'array[tools]'] as const;
export const APP_SELECTOR_SCOPES = ['all', 'chat', 'workflow', 'completion'] as const;
export const MODEL_SELECTOR_SCOPES = ['llm', 'text-embedding', 'rerank', 'tts', 'speech2text', 'moderation', 'vision', 'document', 'tool-call'] as const;
export const ENDPOINT_METHODS = ['HEAD', 'GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'] as const;
export const STORAGE_MIN = 1024;
export const STORAGE_MAX = 1_073_741_824;
/** The daemon refuses endpoint settings with more than 64 values (ValidateProviderConfigs). */
export const MAX_SETTINGS = 64;
/** Options of a `select`: fewer than 128, each value fewer than 128 characters. */
export const MAX_OPTIONS = 127;
export const MAX_OPTION_VALUE = 127;

// ---------- building blocks ----------

function text(min: number, max: number) {
  return z
    .string()
    .min(min, { error: min === 1 ? 'must not be empty' : `needs at least ${min} characters` })
    .max(max, { error: (iss) => `is ${String((iss.input as string).length)} characters long; at most ${max} allowed` });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T, what: string) {
  return z.enum(values, { error: (iss) => `${show(iss.input)} is not a valid ${what} (${values.join(', ')})` });
}

const bool = z.boolean({ error: (iss) => (iss.input === undefined ? 'is required (true or false)' : `must be true or false, not ${show(iss.input)}`) });

/** An I18nObject: en_US required, 1..1023 characters; the other three languages the daemon knows are optional. */
export const i18nSchema = z.strictObject({
  en_US: text(1, 1023),
  zh_Hans: text(0, 1023).optional(),
  ja_JP: text(0, 1023).optional(),
  pt_BR: text(0, 1023).optional(),
});
export type I18n = z.infer<typeof i18nSchema>;

// ---------- manifest.yaml ----------

const versionSchema = z
  .string({ error: (iss) => (iss.input === undefined ? 'is required (like 0.1.0)' : `must be a quoted version string like "0.1.0", not ${show(iss.input)}`) })
  .regex(VERSION_PATTERN, { error: (iss) => `${show(iss.input)} is not a version like 1.2.3 or 1.2.3-beta (${VERSION_PATTERN.source})` });

function isRealTimestamp(value: string): boolean {
  const m = RFC3339_PATTERN.exec(value);
  if (!m) return false;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  if (y === 1 && mo === 1 && d === 1 && h === 0 && mi === 0 && s === 0) return false; // Go's zero time
  return mo! >= 1 && mo! <= 12 && d! >= 1 && d! <= 31 && h! <= 23 && mi! <= 59 && s! <= 60 && !Number.isNaN(Date.parse(value));
}

const createdAtSchema = z
  .string({ error: (iss) => (iss.input === undefined ? 'is required (RFC 3339, like 2026-01-01T00:00:00Z)' : `must be an RFC 3339 timestamp like 2026-01-01T00:00:00Z, not ${show(iss.input)}`) })
  .refine(isRealTimestamp, { error: (iss) => `${show(iss.input)} is not an RFC 3339 timestamp like 2026-01-01T00:00:00Z (and not the zero time)` });

const storagePermissionSchema = z.strictObject({
  enabled: bool,
  size: z
    .number({ error: (iss) => (iss.input === undefined ? `is required (bytes, ${STORAGE_MIN}..${STORAGE_MAX})` : `must be a number of bytes, not ${show(iss.input)}`) })
    .int({ error: 'must be a whole number of bytes' })
    .min(STORAGE_MIN, { error: (iss) => `${show(iss.input)} is below the daemon's minimum of ${STORAGE_MIN} bytes` })
    .max(STORAGE_MAX, { error: (iss) => `${show(iss.input)} is above the daemon's maximum of ${STORAGE_MAX} bytes (1 GiB)` }),
});

const enabledOnly = z.strictObject({ enabled: bool });

export const permissionSchema = z.strictObject({
  tool: enabledOnly.optional(),
  model: z
    .strictObject({
      enabled: bool,
      llm: bool.optional(),
      text_embedding: bool.optional(),
      rerank: bool.optional(),
      tts: bool.optional(),
      speech2text: bool.optional(),
      moderation: bool.optional(),
    })
    .optional(),
  node: enabledOnly.optional(),
  endpoint: enabledOnly.optional(),
  app: enabledOnly.optional(),
  storage: storagePermissionSchema.optional(),
});
export type Permissions = z.infer<typeof permissionSchema>;

const yamlPathList = z.array(text(1, 128), { error: (iss) => (iss.input === undefined ? 'is required (a list of YAML file paths)' : `must be a list of YAML file paths, not ${show(iss.input)}`) });

const notSupported = (what: string) => z.never({ error: `${what} are not supported by this runtime (endpoint plugins only)` }).optional();

export const manifestSchema = z.strictObject({
  version: versionSchema,
  type: z.literal('plugin', { error: (iss) => `must be "plugin", not ${show(iss.input)}` }),
  author: z
    .string()
    .regex(AUTHOR_PATTERN, { error: (iss) => `${show(iss.input)} is not a valid author (lower-case letters, digits, _ and -, 1..64: ${AUTHOR_PATTERN.source})` })
    .refine((v) => !UUID_PATTERN.test(v), { error: 'must not be a UUID (the daemon refuses such authors)' }),
  name: z
    .string()
    .regex(PLUGIN_NAME_PATTERN, { error: (iss) => `${show(iss.input)} is not a valid plugin name (lower-case letters, digits, _ and -, 1..128: ${PLUGIN_NAME_PATTERN.source})` }),
  label: i18nSchema,
  description: i18nSchema,
  icon: text(1, 128),
  icon_dark: text(1, 128).optional(),
  created_at: createdAtSchema,
  resource: z.strictObject({
    memory: z
      .number({ error: (iss) => (iss.input === undefined ? 'is required (bytes, non-zero)' : `must be a number of bytes, not ${show(iss.input)}`) })
      .int({ error: 'must be a whole number of bytes' })
      .positive({ error: 'must be non-zero (bytes)' }),
    permission: permissionSchema.optional(),
  }),
  plugins: z.strictObject({
    endpoints: yamlPathList.min(1, { error: 'must list at least one endpoint group file' }),
    tools: notSupported('tool providers'),
    models: notSupported('model providers'),
    agent_strategies: notSupported('agent strategies'),
    datasources: notSupported('datasources'),
    triggers: notSupported('triggers'),
  }),
  meta: z.strictObject({
    version: versionSchema,
    arch: z
      .array(oneOf(ARCHES, 'arch'))
      .min(1, { error: 'must list at least one arch (amd64, arm64)' }),
    runner: z.strictObject({
      language: z.literal('python', {
        error: (iss) => `${show(iss.input)} cannot run: the daemon only runs "python" (the bridge main.py starts Node)`,
      }),
      version: text(1, 128),
      entrypoint: text(1, 256),
    }),
    minimum_dify_version: z.string().nullable().optional(),
  }),
  tags: z.array(oneOf(PLUGIN_TAGS, 'tag')).optional(),
  privacy: z.string().optional(),
  repo: z.url({ error: (iss) => `${show(iss.input)} is not a URL` }).optional(),
  verified: z.boolean().optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

// ---------- endpoint group (settings/<group>.yaml) ----------

const basicDefault = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: (iss) => `must be a string, number or boolean, not ${show(iss.input)}`,
});

const optionSchema = z.strictObject({
  value: z
    .string({ error: (iss) => (iss.input === undefined ? 'is required (a string)' : `must be a string (quote it), not ${show(iss.input)}`) })
    .min(1, { error: 'must not be empty' })
    .max(MAX_OPTION_VALUE, { error: (iss) => `is ${String((iss.input as string).length)} characters long; option values must be under 128` }),
  label: i18nSchema,
});

function checkScope(scope: string, allowed: readonly string[]): string | undefined {
  const parts = scope.split('&').map((p) => p.trim());
  return parts.find((p) => !allowed.includes(p));
}

export const providerConfigSchema = z
  .strictObject({
    name: text(1, 1023),
    type: oneOf(SETTING_TYPES, 'setting type'),
    scope: z.string().optional(),
    required: bool.optional(),
    default: basicDefault.optional(),
    options: z
      .array(optionSchema)
      .max(MAX_OPTIONS, { error: (iss) => `has ${String((iss.input as unknown[]).length)} options; the daemon allows fewer than 128` })
      .optional(),
    multiple: bool.optional(),
    label: i18nSchema,
    help: i18nSchema.optional(),
    url: z.string().optional(),
    placeholder: i18nSchema.optional(),
  })
  .superRefine((config, ctx) => {
    if (config.scope !== undefined) {
      if (config.type === 'app-selector') {
        const bad = checkScope(config.scope, APP_SELECTOR_SCOPES);
        if (bad !== undefined) ctx.addIssue({ code: 'custom', path: ['scope'], message: `${show(config.scope)} is not a valid app-selector scope (${APP_SELECTOR_SCOPES.join(', ')}; join several with &)` });
      } else if (config.type === 'model-selector') {
        const bad = checkScope(config.scope, MODEL_SELECTOR_SCOPES);
        if (bad !== undefined) ctx.addIssue({ code: 'custom', path: ['scope'], message: `${show(config.scope)} is not a valid model-selector scope (${MODEL_SELECTOR_SCOPES.join(', ')}; join several with &)` });
      } else {
        ctx.addIssue({ code: 'custom', path: ['scope'], message: `a ${config.type} setting takes no scope (only app-selector and model-selector do)` });
      }
    }
    if (config.type === 'select') {
      if (!config.options || config.options.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['options'], message: 'a select setting needs at least one option' });
      } else if (config.default !== undefined && config.default !== null && !config.options.some((o) => o.value === config.default)) {
        ctx.addIssue({ code: 'custom', path: ['default'], message: `${show(config.default)} is not one of the options (${config.options.map((o) => o.value).join(', ')})` });
      }
    } else if (config.options !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['options'], message: `a ${config.type} setting takes no options (only select does)` });
    }
  });
export type ProviderConfig = z.infer<typeof providerConfigSchema>;

/** Per-group overrides of the shared manifest (our own key; the daemon's YAML decoder ignores it). */
export const groupPluginSchema = z.strictObject({
  name: manifestSchema.shape.name,
  label: i18nSchema.optional(),
  description: i18nSchema.optional(),
  /** Replaces `resource.permission` of the shared manifest for this group's package. */
  permissions: permissionSchema.optional(),
  tags: manifestSchema.shape.tags,
});
export type GroupPlugin = z.infer<typeof groupPluginSchema>;

export const endpointGroupSchema = z
  .strictObject({
    plugin: groupPluginSchema.optional(),
    settings: z
      .array(providerConfigSchema)
      .max(MAX_SETTINGS, { error: (iss) => `has ${String((iss.input as unknown[]).length)} settings; the daemon refuses more than ${MAX_SETTINGS}` })
      .nullish(),
    endpoints: z
      .array(
        z.string({ error: (iss) => `must be the path of an endpoint YAML file (inline endpoints are not used here), not ${show(iss.input)}` }).min(1, { error: 'must not be empty' }),
        { error: (iss) => (iss.input === undefined ? 'is required (a list of endpoint YAML files)' : `must be a list of endpoint YAML files, not ${show(iss.input)}`) },
      ),
  })
  .superRefine((group, ctx) => {
    const seen = new Map<string, number>();
    (group.settings ?? []).forEach((config, index) => {
      const first = seen.get(config.name);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['settings', index, 'name'], message: `${show(config.name)} is already used by settings[${first}]` });
      else seen.set(config.name, index);
    });
  });
export type EndpointGroupFile = z.infer<typeof endpointGroupSchema>;

// ---------- endpoint YAML ----------

const RULE_PART = /<(?:([A-Za-z_][A-Za-z0-9_]*)(\([^)]*\))?:)?([A-Za-z_][A-Za-z0-9_]*)>/g;
const CONVERTERS = ['default', 'string', 'path', 'int', 'float', 'any', 'uuid'];

/** Why `path` is not a werkzeug rule this runtime can route, or undefined if it is. */
export function ruleProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return `${show(path)} must start with /`;
  const names = new Set<string>();
  for (const match of path.matchAll(RULE_PART)) {
    const converter = match[1];
    const name = match[3]!;
    if (converter !== undefined && !CONVERTERS.includes(converter)) return `${show(path)} uses the unknown converter ${show(converter)} (${CONVERTERS.join(', ')})`;
    if (names.has(name)) return `${show(path)} uses the variable ${show(name)} twice`;
    names.add(name);
  }
  const rest = path.replace(RULE_PART, '');
  if (rest.includes('<') || rest.includes('>')) return `${show(path)} is not a werkzeug rule (variables look like <name> or <converter:name>)`;
  return undefined;
}

export const endpointFileSchema = z.strictObject({
  path: z
    .string({ error: (iss) => (iss.input === undefined ? 'is required (a werkzeug rule like /v1/chat/completions)' : `must be a string, not ${show(iss.input)}`) })
    .superRefine((path, ctx) => {
      const problem = ruleProblem(path);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  method: oneOf(ENDPOINT_METHODS, 'method'),
  hidden: bool.optional(),
  extra: z.looseObject({
    node: z.strictObject({
      handler: z
        .string({ error: (iss) => (iss.input === undefined ? 'is required (the name of a handler of this group)' : `must be a handler name, not ${show(iss.input)}`) })
        .regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/, { error: (iss) => `${show(iss.input)} is not a handler name (letters, digits, _ and $)` }),
    }),
  }),
});
export type EndpointFile = z.infer<typeof endpointFileSchema>;
