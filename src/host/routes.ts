// Turns an endpoint group's declaration (endpoint YAML files) and its GroupModule (handlers by name)
// into host routes `{ rule, method, handler }`. Host-neutral: the plugin runtime and the standalone
// server both mount these. Every `/v1/...` rule also gets its alias without `/v1` (users paste base
// URLs both ways); a declared route always wins over an alias.
import type { RequestHandler } from 'express';
import type { EndpointDeclaration, GroupDeclaration } from '@dify/plugin-sdk-shim';
// By path, not through the package index: the standalone bundle includes the workspace package
// (scripts/build.mjs), and this file must not pull the daemon runtime into it.
import { DeclarationError } from '../../packages/plugin-sdk-shim/src/declaration-error.js';
import type { GroupModule } from '../groups/types.js';

export interface HostRoute {
  /** werkzeug rule */
  rule: string;
  method: string;
  handler: RequestHandler;
  /** the declaration the route comes from (an alias shares its declaration) */
  endpoint: EndpointDeclaration;
  alias: boolean;
}

/** `/v1/chat/completions` -> `/chat/completions`, `/v1` -> `/`; anything else -> null. */
export function withoutV1(rule: string): string | null {
  if (rule === '/v1' || rule === '/v1/') return '/';
  return rule.startsWith('/v1/') ? rule.slice(3) : null;
}

/** Runs `handlers` in order like express would, as one handler. */
export function chainHandlers(handlers: RequestHandler[]): RequestHandler {
  if (handlers.length === 1) return handlers[0]!;
  return (req, res, next) => {
    let index = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null) return next(err);
      const handler = handlers[index++];
      if (!handler) return next();
      try {
        const result: unknown = handler(req, res, step);
        if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).catch(step);
      } catch (error) {
        step(error);
      }
    };
    step();
  };
}

export interface BuildRoutesOptions {
  /** middleware run before every handler (e.g. the host's endpoint-context setup) */
  before?: RequestHandler[];
}

export function buildGroupRoutes(group: GroupDeclaration, module: GroupModule, options: BuildRoutesOptions = {}): HostRoute[] {
  const declared: HostRoute[] = [];
  const taken = new Set<string>();
  for (const endpoint of group.endpoints) {
    const handler = module.handlers[endpoint.handler];
    if (!handler) {
      const known = Object.keys(module.handlers);
      throw new DeclarationError(
        endpoint.file,
        'extra.node.handler',
        `${JSON.stringify(endpoint.handler)} is not a handler of the ${group.name} group (${known.length ? `handlers: ${known.join(', ')}` : 'it has no handlers yet'})`,
      );
    }
    const composed = chainHandlers([...(options.before ?? []), handler]);
    declared.push({ rule: endpoint.path, method: endpoint.method, handler: composed, endpoint, alias: false });
    taken.add(`${endpoint.method} ${endpoint.path}`);
  }
  const aliases: HostRoute[] = [];
  for (const route of declared) {
    const alias = withoutV1(route.rule);
    if (alias === null || taken.has(`${route.method} ${alias}`)) continue;
    taken.add(`${route.method} ${alias}`);
    aliases.push({ ...route, rule: alias, alias: true });
  }
  return [...declared, ...aliases];
}
