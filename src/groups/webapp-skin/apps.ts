/**
 * Which app a page request talks to, and what the page shows about it. Plugin: the app-selector
 * setting. Standalone: the setting when given, else the host's apps (the page offers a picker).
 * Any mode: chat apps keep a conversation, text generators and workflows answer each message alone.
 * info() and parameters() are cached for a minute: they cost a round trip to Dify per page view.
 */
import type { AppHandle, AppInfo, AppParameters } from '../../backend/types.js';
import type { EndpointContext } from '../../host/context.js';
import type { WebappSettings } from './settings.js';

const TTL_MS = 60_000;
const cache = new Map<string, { at: number; value: Promise<unknown> }>();

function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.value as Promise<T>;
  const value = load();
  cache.set(key, { at: Date.now(), value });
  // A failure is not cached: the next request tries again.
  value.catch(() => cache.delete(key));
  if (cache.size > 500) cache.delete(cache.keys().next().value!);
  return value;
}

export interface ResolvedApp {
  handle: AppHandle;
  info: AppInfo;
}

/** Host-listed handles are long-lived objects: cache their info on the object itself. */
const infoByHandle = new WeakMap<AppHandle, { at: number; value: Promise<AppInfo> }>();

function infoOf(ctx: EndpointContext, handle: AppHandle, key?: string): Promise<AppInfo> {
  if (key !== undefined) return cached(`info|${ctx.endpointId}|${key}`, () => handle.info());
  const hit = infoByHandle.get(handle);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
  const value = handle.info();
  infoByHandle.set(handle, { at: Date.now(), value });
  value.catch(() => infoByHandle.delete(handle));
  return value;
}

/** The apps this page may talk to, in the host's order. */
export async function listApps(ctx: EndpointContext, settings: WebappSettings): Promise<ResolvedApp[]> {
  if (settings.app !== undefined) {
    const handle = ctx.app(settings.app);
    return [{ handle, info: await infoOf(ctx, handle, JSON.stringify(settings.app)) }];
  }
  const handles = ctx.apps();
  return Promise.all(handles.map(async (handle) => ({ handle, info: await infoOf(ctx, handle) })));
}

export async function resolveApp(ctx: EndpointContext, settings: WebappSettings, wanted?: string): Promise<ResolvedApp> {
  const apps = await listApps(ctx, settings);
  const app = (wanted && apps.find((a) => a.info.id === wanted)) || apps[0];
  if (!app) throw new NoAppError();
  return app;
}

export function parametersOf(ctx: EndpointContext, app: ResolvedApp): Promise<AppParameters> {
  return cached(`params|${ctx.endpointId}|${app.info.id}`, () => app.handle.parameters());
}

/** The app's parameters, or undefined when Dify cannot give them (the page then runs without them). */
export function parametersOrNothing(ctx: EndpointContext, app: ResolvedApp): Promise<AppParameters | undefined> {
  return parametersOf(ctx, app).catch(() => undefined);
}

export class NoAppError extends Error {
  constructor() {
    super('No chat app is configured for this page.');
  }
}
