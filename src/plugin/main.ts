// Entry of dist/plugin.mjs, the process the daemon talks to (main.py execs Node on it).
// Loads the plugin folder's declaration, binds the group's endpoints to its handlers and starts the
// shim's runtime (stdio, or TCP remote debugging with INSTALL_METHOD=remote). stdout belongs to the
// protocol: logs go to stderr. A bad declaration stops start-up with one line naming file, field and rule.
import { flushCompileCache } from 'node:module';
import { pino } from 'pino';
import { DeclarationError, endpointDeclarationJson, loadPluginDeclaration, startPluginRuntime } from '@dify/plugin-sdk-shim';
import { groups } from '../groups/registry.js';
import type { GroupModule } from '../groups/types.js';
import { buildGroupRoutes } from '../host/routes.js';
import { endpointContextMiddleware } from './context.js';
import { notFoundHandler } from './not-found.js';
import { GROUP_HINT, pluginDirectory, requestedGroup } from './options.js';

function fail(message: string): never {
  process.stderr.write(`dify-bridge: ${message}\n`);
  process.exit(1);
}

function main(): void {
  const log = pino({ name: 'dify-bridge', level: process.env.LOG_LEVEL ?? 'info' }, pino.destination({ dest: 2, sync: true }));
  const pluginDir = pluginDirectory();
  let started;
  try {
    const group = requestedGroup();
    const declaration = loadPluginDeclaration(pluginDir, { ...(group ? { group } : {}), groupHint: GROUP_HINT, singleGroupWins: true });
    const module = (groups as Record<string, GroupModule | undefined>)[declaration.group.name];
    if (!module) fail(`${declaration.group.file}: this build has no group ${JSON.stringify(declaration.group.name)} (groups: ${Object.keys(groups).join(', ')})`);
    const routes = buildGroupRoutes(declaration.group, module, { before: [endpointContextMiddleware(log)] });
    started = { declaration, routes };
  } catch (error) {
    if (error instanceof DeclarationError) fail(error.message);
    throw error;
  }
  const { declaration, routes } = started;
  const runtime = startPluginRuntime({
    manifest: declaration.manifest,
    group: endpointDeclarationJson(declaration.group),
    assetsDir: declaration.assets.dir,
    routes: routes.map(({ rule, method, handler }) => ({ rule, method, handler })),
    // `/v1//chat/completions` is `/v1/chat/completions`; unknown routes answer the OpenAI envelope
    mergeSlashes: true,
    notFound: notFoundHandler(routes, { mergeSlashes: true }),
  });
  // With NODE_COMPILE_CACHE (set by main.py) write the code cache now: the daemon may SIGKILL us later.
  setTimeout(() => flushCompileCache(), 2000).unref();
  log.info({ group: declaration.group.name, plugin: declaration.manifestData.name, transport: runtime.transport, routes: routes.length }, 'dify-bridge plugin started');
}

main();
