// Local runtime: NDJSON over the process's stdin/stdout (plugin-protocol.md §1a).
import type { Readable, Writable } from 'node:stream';
import { readLines, StreamLineSink } from '../ndjson.js';
import { HEARTBEAT_LINE, logLine, type LogLevel } from '../protocol.js';
import { claimStdout, redirectConsole } from '../log.js';
import { RuntimeCore, SessionClosedError, type RuntimeCoreOptions } from '../runtime.js';

export interface StdioTransportOptions extends Omit<RuntimeCoreOptions, 'log'> {
  stdin: Readable;
  stdout: Writable;
  heartbeatIntervalMs: number;
  shutdownGraceMs: number;
  /** exit the process once closed (true for the real process stdio) */
  exitOnClose: boolean;
}

export interface TransportHandle {
  log(level: LogLevel, message: string): void;
  close(): Promise<void>;
  readonly closed: Promise<void>;
}

export function startStdioTransport(options: StdioTransportOptions): TransportHandle {
  const { stdin, stdout } = options;
  const usesProcessStdout = stdout === process.stdout;
  const claimed = usesProcessStdout ? claimStdout() : null;
  const sink = new StreamLineSink(stdout, claimed?.write ?? ((line) => stdout.write(line)));
  // the daemon's readiness signal: first thing out, before anything slow
  sink.write(HEARTBEAT_LINE);
  const heartbeat = setInterval(() => sink.write(HEARTBEAT_LINE), options.heartbeatIntervalMs);

  const log = (level: LogLevel, message: string): void => {
    if (!sink.closed) sink.write(logLine(level, message));
    else process.stderr.write(`[${level}] ${message}\n`);
  };
  const restoreConsole = usesProcessStdout ? redirectConsole(log) : () => {};
  const core = new RuntimeCore(sink, { ...options, log });
  readLines(stdin, (line) => core.handleLine(line));

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | null = null;
  const close = (why: string, notify: boolean): Promise<void> => {
    if (closing) return closing;
    closing = (async () => {
      clearInterval(heartbeat);
      if (!notify) core.failReverseCalls(new SessionClosedError(`daemon connection closed (${why})`));
      await core.shutdown(options.shutdownGraceMs, new SessionClosedError(`plugin runtime closed (${why})`), notify);
      // aborted handlers get their 'close' events (and may log) before the console is restored
      await new Promise((resolve) => setImmediate(resolve));
      restoreConsole();
      claimed?.release();
      stdin.removeAllListeners('data');
      stdin.pause();
      resolveClosed();
      if (options.exitOnClose) {
        // let pending stdout writes drain before leaving
        if (stdout.writableLength > 0 && !sink.closed) await new Promise((r) => stdout.once('drain', r));
        process.exit(0);
      }
    })();
    return closing;
  };

  stdin.on('end', () => void close('stdin EOF', false));
  stdin.on('error', () => void close('stdin error', false));
  const onSigterm = (): void => void close('SIGTERM', true);
  if (options.exitOnClose) {
    process.once('SIGTERM', onSigterm);
    process.once('SIGINT', onSigterm);
  }

  return { log, close: () => close('closed by the plugin', true), closed };
}
