/** The chat-app group's settings (settings/chat-app.yaml), validated leniently with defaults. */
import { z } from 'zod';

const bool = (dflt: boolean) =>
  z
    .union([z.boolean(), z.string(), z.number()])
    .nullish()
    .transform((v) => (v === null || v === undefined || v === '' ? dflt : v === true || v === 'true' || v === 1 || v === '1'));

export const chatAppSettingsSchema = z.looseObject({
  /** Plugin: one secret. Standalone: a list of accepted client keys; empty list = open. */
  api_key: z.union([z.string(), z.array(z.string())]).nullish(),
  app: z.unknown().optional(),
  model_id: z.string().nullish().transform((v) => (v ? v.trim() : '')),
  memory_mode: z.enum(['auto', 'history', 'last']).nullish().catch('auto').transform((v) => v ?? 'auto'),
  system_prompt: z.enum(['prefix', 'input', 'ignore']).nullish().catch('prefix').transform((v) => v ?? 'prefix'),
  system_prompt_variable: z.string().nullish().transform((v) => (v ? v.trim() : '')),
  tool_emulation: bool(true),
  reasoning_output: z
    .enum(['reasoning_content', 'think_tags', 'hidden'])
    .nullish()
    .catch('reasoning_content')
    .transform((v) => v ?? 'reasoning_content'),
  strip_platform_metadata: bool(false),
  /** Chatflows and workflows: node titles as reasoning before the answer starts. */
  workflow_progress: bool(false),
  /** The app's citations (retriever resources) as a Sources list after the answer. */
  citations: bool(true),
  /** Image URLs the host downloads for the app (plugin mode) may point at private networks. */
  allow_private_image_urls: bool(false),
  /**
   * Test/tuning knobs (not in the YAML): keepalive interval, and how long a response may stay
   * uncommitted before the first answer token (default: the keepalive interval).
   */
  keepalive_ms: z.coerce.number().positive().nullish(),
  first_event_wait_ms: z.coerce.number().nonnegative().nullish(),
  /** Base for relative Dify file URLs in message_file events. */
  files_base_url: z.string().nullish(),
});

export type ChatAppSettings = z.infer<typeof chatAppSettingsSchema>;

/** zod leaves absent optional keys out (no transform runs): give every field its value explicitly. */
function withDefaults(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const k of ['model_id', 'memory_mode', 'system_prompt', 'system_prompt_variable', 'tool_emulation', 'reasoning_output', 'strip_platform_metadata', 'allow_private_image_urls', 'workflow_progress', 'citations']) {
    if (!(k in out)) out[k] = null;
  }
  return out;
}

const parsedCache = new WeakMap<object, ChatAppSettings>();

/** Parsed settings, cached per settings object (hosts keep one object per endpoint). */
export function parseSettings(raw: Record<string, unknown>): ChatAppSettings {
  if (raw && typeof raw === 'object') {
    const hit = parsedCache.get(raw);
    if (hit) return hit;
    const parsed = parseUncached(raw);
    parsedCache.set(raw, parsed);
    return parsed;
  }
  return parseUncached({});
}

function parseUncached(raw: Record<string, unknown>): ChatAppSettings {
  const parsed = chatAppSettingsSchema.safeParse(withDefaults(raw ?? {}));
  if (parsed.success) return parsed.data;
  // Never fail a request over a malformed optional setting: fall back to defaults for everything but the key/app.
  return chatAppSettingsSchema.parse(withDefaults({ api_key: (raw as { api_key?: unknown })?.api_key ?? null, app: (raw as { app?: unknown })?.app }));
}
