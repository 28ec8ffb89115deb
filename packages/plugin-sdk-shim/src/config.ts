// Runtime settings from the environment, with the Python SDK's names and defaults.
import { DAEMON_MAX_LINE_BYTES, DEFAULT_MAX_LINE_BYTES, MIN_MAX_LINE_BYTES } from './protocol.js';

export interface RuntimeConfig {
  installMethod: 'local' | 'remote' | 'serverless';
  heartbeatIntervalMs: number;
  reverseTimeoutMs: number;
  remote: { host: string; port: number; key: string } | null;
  reconnectDelayMs: number;
  reconnectAttempts: number;
  shutdownGraceMs: number;
  /** PLUGIN_RUNTIME_MAX_LINE_BYTES: the longest stdout line written (default 5 MiB minus 64 KiB) */
  maxLineBytes: number;
}

function seconds(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) && n > 0 ? n * 1000 : fallback * 1000;
}

export function readConfig(env: NodeJS.ProcessEnv): RuntimeConfig {
  const method = (env['INSTALL_METHOD'] ?? 'local').toLowerCase();
  const installMethod = method === 'remote' ? 'remote' : method === 'serverless' ? 'serverless' : 'local';
  let remote: RuntimeConfig['remote'] = null;
  if (installMethod === 'remote') {
    let host = env['REMOTE_INSTALL_HOST'] || 'localhost';
    let port = Number(env['REMOTE_INSTALL_PORT'] || 5003);
    const url = env['REMOTE_INSTALL_URL'];
    if (url) {
      const stripped = url.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
      const colon = stripped.lastIndexOf(':');
      if (colon > 0) {
        host = stripped.slice(0, colon).replace(/^\[|\]$/g, '');
        port = Number(stripped.slice(colon + 1));
      } else host = stripped;
    }
    remote = { host, port, key: env['REMOTE_INSTALL_KEY'] ?? '' };
  }
  const delay = Number(env['REMOTE_INSTALL_RECONNECT_DELAY_MS']);
  const grace = Number(env['SHUTDOWN_GRACE_MS']);
  const maxLine = Number(env['PLUGIN_RUNTIME_MAX_LINE_BYTES']);
  return {
    installMethod,
    heartbeatIntervalMs: seconds(env['HEARTBEAT_INTERVAL'], 10),
    reverseTimeoutMs: seconds(env['MAX_REQUEST_TIMEOUT'], 250),
    remote,
    reconnectDelayMs: Number.isFinite(delay) && delay >= 0 && env['REMOTE_INSTALL_RECONNECT_DELAY_MS'] ? delay : 5000,
    reconnectAttempts: 3,
    shutdownGraceMs: Number.isFinite(grace) && grace >= 0 && env['SHUTDOWN_GRACE_MS'] ? grace : 2000,
    maxLineBytes:
      env['PLUGIN_RUNTIME_MAX_LINE_BYTES'] && Number.isInteger(maxLine) && maxLine >= MIN_MAX_LINE_BYTES ? Math.min(maxLine, DAEMON_MAX_LINE_BYTES) : DEFAULT_MAX_LINE_BYTES,
  };
}
