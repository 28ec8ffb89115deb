/** What the page needs to draw itself: inlined into the HTML and also served at api/config. */
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers';
import type { Request } from 'express';
import type { EndpointContext } from '../../host/context.js';
import { listApps, parametersOrNothing, type ResolvedApp } from './apps.js';
import { imageSupport } from './images.js';
import { pageFormFields } from './inputs.js';
import type { PageConfig, Skin } from './protocol.js';
import { isSkin, type WebappSettings } from './settings.js';

export type { PageConfig } from './protocol.js';

const PARAMETERS_TIMEOUT_MS = 4000;

export function pageLanguage(req: Request, setting: WebappSettings['language']): 'zh' | 'en' {
  const q = req.query.lang;
  if (q === 'zh' || q === 'en') return q;
  if (setting === 'zh' || setting === 'en') return setting;
  const accept = String(req.headers['accept-language'] ?? '');
  const first = accept.split(',')[0]?.trim().toLowerCase() ?? '';
  return first.startsWith('zh') ? 'zh' : 'en';
}

export function pageSkin(req: Request, settings: WebappSettings): Skin {
  // ?skin= previews another skin without changing the endpoint (harmless: it only picks a stylesheet).
  return isSkin(req.query.skin) ? req.query.skin : settings.skin;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((r) => (delay(r, ms) as unknown as { unref(): void }).unref())]);
}

export async function buildConfig(req: Request, ctx: EndpointContext, settings: WebappSettings, wantedApp?: string): Promise<PageConfig> {
  const base: PageConfig = {
    botName: settings.botName ?? 'Assistant',
    skin: pageSkin(req, settings),
    lang: pageLanguage(req, settings.language),
    suggestions: settings.suggestedQuestions ?? [],
    storageKey: createHash('sha256').update(`webapp-skin|${ctx.endpointId}`).digest('hex').slice(0, 16),
    ...(settings.welcomeMessage ? { welcome: settings.welcomeMessage } : {}),
  };
  let apps: ResolvedApp[];
  try {
    apps = await listApps(ctx, settings);
  } catch (err) {
    ctx.log.warn({ err: (err as Error).message }, 'webapp-skin: could not read the app');
    return { ...base, problem: 'unreachable' };
  }
  const app = (wantedApp && apps.find((a) => a.info.id === wantedApp)) || apps[0];
  if (!app) return { ...base, problem: 'no-app' };
  const config: PageConfig = {
    ...base,
    botName: settings.botName ?? app.info.name ?? base.botName,
    appId: app.info.id,
    ...(apps.length > 1 ? { apps: apps.map((a) => ({ id: a.info.id, name: a.info.name })) } : {}),
  };
  const params = await withTimeout(parametersOrNothing(ctx, app), PARAMETERS_TIMEOUT_MS);
  if (params) {
    if (!settings.welcomeMessage && params.openingStatement) config.welcome = params.openingStatement;
    if (!settings.suggestedQuestions && params.suggestedQuestions.length) config.suggestions = params.suggestedQuestions.slice(0, 8);
    const fields = pageFormFields(app, params);
    if (fields.length > 0) config.inputs = fields;
    const images = imageSupport(app.handle, params);
    if (images) config.images = { max: images.max };
    if (params.followUps && app.handle.suggestedQuestions) config.followUps = true;
    if (params.speech && app.handle.speak) config.speech = true;
    if (params.dictation && app.handle.transcribe) config.dictation = true;
  }
  // Plugin hosts have no app voice or app speech to text, but can use the models chosen in the settings.
  if (!app.handle.speak && settings.ttsModel && ctx.models?.speak) config.speech = true;
  if (!app.handle.transcribe && settings.sttModel && ctx.models?.transcribe) config.dictation = true;
  if (app.handle.rateMessage) config.feedback = true;
  return config;
}
