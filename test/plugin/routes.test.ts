import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { DeclarationError, loadPluginDeclaration, type GroupDeclaration } from '@dify/plugin-sdk-shim';
import { groups } from '../../src/groups/registry.js';
import { repoRoot } from '../package/packaged-plugin.js';
import type { GroupModule } from '../../src/groups/types.js';
import { buildGroupRoutes, withoutV1 } from '../../src/host/routes.js';

const endpoint = (path: string, method: GroupDeclaration['endpoints'][number]['method'], handler: string) => ({ path, method, hidden: false, handler, file: `endpoints/t/${handler}.yaml` });

function group(endpoints: GroupDeclaration['endpoints']): GroupDeclaration {
  return { name: 'webhook', file: 'settings/webhook.yaml', settings: [], endpoints };
}

const say = (text: string): RequestHandler => (_req, res) => void res.type('text/plain').send(`${text}:${String(res.locals.seen ?? '')}`);
const module = (handlers: Record<string, RequestHandler>): GroupModule => ({ name: 'webhook', handlers });

/** Mounts routes on express the way werkzeug rules without variables map to express paths. */
function mount(routes: ReturnType<typeof buildGroupRoutes>) {
  const app = express();
  for (const r of routes) app[r.method.toLowerCase() as 'get' | 'post'](r.rule, r.handler);
  return app;
}

describe('buildGroupRoutes', () => {
  it('adds the /v1-less alias of every /v1 rule, after the declared routes', () => {
    const routes = buildGroupRoutes(
      group([endpoint('/v1/chat/completions', 'POST', 'chat'), endpoint('/v1/models/<path:id>', 'GET', 'model'), endpoint('/webhook', 'POST', 'hook')]),
      module({ chat: say('chat'), model: say('model'), hook: say('hook') }),
    );
    expect(routes.map((r) => [r.method, r.rule, r.alias])).toEqual([
      ['POST', '/v1/chat/completions', false],
      ['GET', '/v1/models/<path:id>', false],
      ['POST', '/webhook', false],
      ['POST', '/chat/completions', true],
      ['GET', '/models/<path:id>', true],
    ]);
    expect(withoutV1('/v1')).toBe('/');
    expect(withoutV1('/v10/x')).toBeNull();
  });

  it('a declared route wins over an alias with the same rule', async () => {
    const routes = buildGroupRoutes(group([endpoint('/v1/models', 'GET', 'v1'), endpoint('/models', 'GET', 'bare')]), module({ v1: say('v1'), bare: say('bare') }));
    expect(routes.filter((r) => r.rule === '/models').map((r) => r.endpoint.handler)).toEqual(['bare']);
    const app = mount(routes);
    expect((await request(app).get('/models')).text).toBe('bare:');
    expect((await request(app).get('/v1/models')).text).toBe('v1:');
  });

  it('runs the host middleware first, and forwards its errors', async () => {
    const before: RequestHandler = (req, res, next) => {
      if (req.query.fail) return next(new Error('context failed'));
      res.locals.seen = 'ctx';
      next();
    };
    const app = mount(buildGroupRoutes(group([endpoint('/v1/x', 'GET', 'x')]), module({ x: say('x') }), { before: [before] }));
    expect((await request(app).get('/x')).text).toBe('x:ctx');
    expect((await request(app).get('/v1/x?fail=1')).status).toBe(500);
  });

  it('an unknown handler name is a start-up error naming the endpoint file', () => {
    expect(() => buildGroupRoutes(group([endpoint('/webhook', 'POST', 'deliverr')]), module({ deliver: say('d') }))).toThrow(
      new DeclarationError('endpoints/t/deliverr.yaml', 'extra.node.handler', '"deliverr" is not a handler of the webhook group (handlers: deliver)'),
    );
  });
});

describe('the repo\'s own declaration', () => {
  it('every group in manifest.yaml loads, and every endpoint binds a handler of its GroupModule', () => {
    for (const [name, module] of Object.entries(groups)) {
      const declaration = loadPluginDeclaration(repoRoot, { group: name });
      const routes = buildGroupRoutes(declaration.group, module);
      expect(routes.length).toBeGreaterThanOrEqual(declaration.group.endpoints.length);
    }
  });
});
