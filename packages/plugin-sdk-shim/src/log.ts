// Keeps stdout for protocol lines only: console.* becomes `log` events (or stderr), and stray
// process.stdout.write calls are diverted to stderr. The protocol writer keeps the original write.
import { format } from 'node:util';
import type { LogLevel } from './protocol.js';

export type LogSink = (level: LogLevel, message: string) => void;

const CONSOLE_LEVELS: Array<[keyof Console, LogLevel]> = [
  ['log', 'INFO'],
  ['info', 'INFO'],
  ['debug', 'DEBUG'],
  ['trace', 'DEBUG'],
  ['warn', 'WARNING'],
  ['error', 'ERROR'],
];

export function stderrLogSink(level: LogLevel, message: string): void {
  process.stderr.write(`[${level}] ${message}\n`);
}

/** Routes console output to `sink`; returns a function restoring the originals. */
export function redirectConsole(sink: LogSink): () => void {
  const saved = new Map<keyof Console, unknown>();
  for (const [method, level] of CONSOLE_LEVELS) {
    saved.set(method, console[method]);
    (console as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => sink(level, format(...args));
  }
  // console.dir/table etc. write through these too in Node, but cover the direct ones
  return () => {
    for (const [method, fn] of saved) (console as unknown as Record<string, unknown>)[method] = fn;
  };
}

/**
 * Diverts every later `process.stdout.write` to stderr and returns the original write, bound to
 * stdout, for the protocol writer alone.
 */
export function claimStdout(): { write: (chunk: string) => boolean; release: () => void } {
  const stdout = process.stdout;
  const original = stdout.write;
  const write = original.bind(stdout) as (chunk: string) => boolean;
  stdout.write = ((chunk: unknown, ...rest: unknown[]) =>
    (process.stderr.write as (...a: unknown[]) => boolean)(chunk, ...rest)) as typeof stdout.write;
  return {
    write,
    release: () => {
      stdout.write = original;
    },
  };
}
