/**
 * A throwaway plugin for one experiment: can a reverse invocation keep running after the HTTP
 * answer is complete? Two ways to answer 202 before running an app:
 *   POST /probe/deferred-end  202 with Content-Length written, `end` held back until the run ends
 *   POST /probe/after-end     202 answered normally (the session ends), then the run
 * The outcome of each run is reported as a `log` event ("probe run finished/failed ...").
 *   GET /probe/ping           answers at once (a barrier for the test)
 */
import type { RequestHandler } from 'express';
import { startPluginRuntime, type DifyRequestContext } from '../../../packages/plugin-sdk-shim/src/runtime-api.js';

const accepted = JSON.stringify({ status: 'accepted' });

async function runApp(context: DifyRequestContext, label: string): Promise<void> {
  try {
    let events = 0;
    for await (const _event of context.session.invokeApp({ app_id: 'app-1', inputs: {}, response_mode: 'streaming' })) events++;
    runtime.log('INFO', `probe run finished (${label}) after ${events} events`);
  } catch (error) {
    runtime.log('ERROR', `probe run failed (${label}): ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
}

const deferredEnd: RequestHandler = async (_req, res) => {
  res.writeHead(202, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(accepted)) });
  res.write(accepted);
  await runApp(res.locals['dify'] as DifyRequestContext, 'deferred-end');
  res.end();
};

const afterEnd: RequestHandler = async (_req, res) => {
  const context = res.locals['dify'] as DifyRequestContext;
  res.status(202).json({ status: 'accepted' });
  await new Promise((resolve) => res.once('finish', resolve));
  await runApp(context, 'after-end');
};

const runtime = startPluginRuntime({
  manifest: {},
  group: { settings: [], endpoints: [] },
  routes: [
    { rule: '/probe/deferred-end', method: 'POST', handler: deferredEnd },
    { rule: '/probe/after-end', method: 'POST', handler: afterEnd },
    // A round trip: once it is answered, everything the plugin did before has reached the daemon.
    { rule: '/probe/ping', method: 'GET', handler: (_req, res) => void res.type('text/plain').send('pong') },
  ],
});
