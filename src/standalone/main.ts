/**
 * `npm start`: the standalone server. Reads ./.env (values already in the environment win), then the
 * environment or `--config file.yaml`; prints what to set when nothing is configured.
 */
import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, USAGE, type StandaloneConfig } from './config.js';
import { createStandaloneServer } from './server.js';

function loadDotEnv(): void {
  const file = process.env.DOTENV_FILE ?? '.env';
  if (!existsSync(file)) return;
  try {
    process.loadEnvFile(file);
  } catch (error) {
    process.stderr.write(`dify-bridge: cannot read ${file}: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

/** node:sqlite is flagged experimental on some Node versions; that warning is noise for users. */
function quietSqliteWarning(): void {
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'ExperimentalWarning' && /SQLite/i.test(warning.message)) return;
    if (listeners.length > 0) for (const l of listeners) l(warning);
    else process.stderr.write(`${warning.name}: ${warning.message}\n`);
  });
}

async function main(): Promise<void> {
  quietSqliteWarning();
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  loadDotEnv();
  let config: StandaloneConfig;
  try {
    config = loadConfig(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(error.usage ? `dify-bridge: nothing is configured.\n\n${error.message}` : `dify-bridge: configuration error: ${error.message}\n`);
      process.exit(error.usage ? 2 : 1);
    }
    throw error;
  }

  let server;
  try {
    server = await createStandaloneServer({ config });
  } catch (error) {
    process.stderr.write(`dify-bridge: cannot start: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const { log } = server;
  for (const warning of config.warnings) log.warn(warning);
  for (const m of server.missing) log.warn(`route not served yet (handler missing): ${m}`);
  try {
    await server.listen();
  } catch (error) {
    process.stderr.write(`dify-bridge: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}\n`);
    process.exit(1);
  }
  log.info(
    { url: server.url, apps: config.apps.length, endpoints: config.endpoints.map((e) => `${e.name} (${e.group}) at ${e.prefix || '/'}`), store: config.redisUrl ? 'redis' : 'sqlite', config: config.source },
    `dify-bridge listening: OpenAI base URL ${server.url}/v1, chat page ${server.url}/`,
  );
  log.flush();
  // Say which models this serves (or which key Dify refuses) without holding up start-up.
  void Promise.all(
    [...server.apps].map(async ([ref, handle]) => {
      try {
        const info = await handle.info();
        log.info({ app: ref, model: info.name, mode: info.mode }, `app ${ref}: model "${info.name}" (${info.mode})`);
      } catch (error) {
        const e = error as { code?: string; status?: number; message?: string };
        log.warn({ app: ref, code: e.code, status: e.status }, `app ${ref}: Dify did not describe this app (${e.status ?? ''} ${e.code ?? ''}: ${e.message ?? ''}); check its key and DIFY_API_BASE`);
      }
    }),
  ).then(() => log.flush());

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.info({ openStreams: server.metrics.openStreamCount, graceMs: config.shutdownGraceMs }, `${signal}: finishing open requests`);
    server.close().then(
      () => {
        // close() flushed the log buffer; this last line is written synchronously by stderr.
        process.stderr.write('dify-bridge: stopped\n');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: { message: (error as Error).message } }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
