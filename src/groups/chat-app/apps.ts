/**
 * Which Dify app a request runs and under which model id (openai-compat.md §5.1).
 * Plugin: one app from the app-selector setting, listed under `model_id` or the app's name; a
 * request names it by either or by the app id, any other model is 404. Standalone: `ctx.apps()` lists several apps; the `model` field picks one by name.
 * App info and parameters are cached so `/models` answers even while Dify is slow or down.
 */
import type { AppHandle, AppInfo, AppParameters } from '../../backend/types.js';
import type { EndpointContext } from '../../host/context.js';
import { modelNotFound } from '../../openai/errors.js';
import type { ChatAppSettings } from './settings.js';

export interface ResolvedApp {
  handle: AppHandle;
  info: AppInfo;
  modelId: string;
}

const INFO_TTL_MS = 5 * 60_000;
interface Cached<T> {
  value: T;
  at: number;
}
const infoCache = new Map<string, Cached<AppInfo>>();
const paramsCache = new Map<string, Cached<AppParameters>>();
const handleKeys = new WeakMap<AppHandle, string>();

function cacheKey(ctx: EndpointContext, handle: AppHandle, fallback: string): string {
  return handleKeys.get(handle) ?? `${ctx.endpointId}|${fallback}`;
}

async function cached<T>(cache: Map<string, Cached<T>>, key: string, load: () => Promise<T>): Promise<T> {
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < INFO_TTL_MS) return hit.value;
  try {
    const value = await load();
    cache.set(key, { value, at: Date.now() });
    if (cache.size > 5000) cache.delete(cache.keys().next().value as string);
    return value;
  } catch (err) {
    if (hit) return hit.value; // stale beats nothing
    throw err;
  }
}

export function appInfo(ctx: EndpointContext, handle: AppHandle, key: string): Promise<AppInfo> {
  return cached(infoCache, cacheKey(ctx, handle, key), () => handle.info());
}

export function appParameters(ctx: EndpointContext, handle: AppHandle, key: string): Promise<AppParameters> {
  return cached(paramsCache, cacheKey(ctx, handle, key), () => handle.parameters());
}

/** App names that look like OpenAI model families make clients switch behaviour (openai-compat.md §5.1). */
const OPENAI_LOOKING = /^(gpt-|o\d(\b|-|$)|chatgpt-|text-embedding|dall-e|whisper|tts-)|codex/i;

export function publicModelId(appName: string): string {
  const name = appName.trim() || 'dify-app';
  return OPENAI_LOOKING.test(name) ? `dify-${name}` : name;
}

function selectorKey(selector: unknown): string {
  try {
    return 'app:' + JSON.stringify(selector ?? null);
  } catch {
    return 'app:?';
  }
}

/** Every app this endpoint exposes with its model id. */
export async function listApps(ctx: EndpointContext, settings: ChatAppSettings): Promise<ResolvedApp[]> {
  const many = ctx.apps();
  if (many.length > 0) {
    const out: ResolvedApp[] = [];
    await Promise.all(
      many.map(async (handle, i) => {
        const info = await appInfo(ctx, handle, `apps[${i}]`).catch(() => undefined);
        if (info) out[i] = { handle, info, modelId: many.length === 1 && settings.model_id ? settings.model_id : publicModelId(info.name) };
      }),
    );
    return out.filter(Boolean);
  }
  const handle = ctx.app(settings.app);
  const key = selectorKey(settings.app);
  try {
    const info = await appInfo(ctx, handle, key);
    return [{ handle, info, modelId: settings.model_id || publicModelId(info.name) }];
  } catch (err) {
    if (settings.model_id) {
      return [{ handle, info: { id: key, name: settings.model_id, mode: 'chat' }, modelId: settings.model_id }];
    }
    throw err;
  }
}

/** The app for a request's `model`; throws 404 model_not_found where models are names of apps. */
export async function resolveApp(ctx: EndpointContext, settings: ChatAppSettings, model: string): Promise<ResolvedApp & { key: string }> {
  const many = ctx.apps();
  if (many.length > 0) {
    const apps = await listApps(ctx, settings);
    const idx = apps.findIndex((a) => a.modelId === model);
    const found = apps[idx];
    if (!found) throw modelNotFound(model);
    return { ...found, key: `apps:${found.info.id || idx}` };
  }
  const handle = ctx.app(settings.app);
  const key = selectorKey(settings.app);
  const info = await appInfo(ctx, handle, key);
  // Plugin mode: one app per endpoint, reached by the names that mean it (openai-compat.md §9 #10):
  // the `model_id` setting, the id /v1/models lists by default (from the app's name), the app id.
  // Anything else is 404 model_not_found, as OpenAI answers, so a typo or a stale model picked in
  // a client is noticed instead of silently running this app.
  const advertised = settings.model_id || publicModelId(info.name);
  const accepted = new Set([advertised, publicModelId(info.name), info.id, appIdOf(settings.app)].filter((id) => id !== ''));
  if (!accepted.has(model)) throw modelNotFound(model);
  return { handle, info, modelId: model, key };
}

/** `{app_id}` of an app-selector value (object or bare id). */
function appIdOf(selector: unknown): string {
  if (typeof selector === 'string') return selector;
  const id = selector && typeof selector === 'object' ? (selector as Record<string, unknown>).app_id : undefined;
  return typeof id === 'string' ? id : '';
}
