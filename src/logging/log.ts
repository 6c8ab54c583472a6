/**
 * The logging interface every part of a worker writes through. Workers never write
 * log output themselves: the worker's implementation batches records to the master
 * (worker/log-batcher.ts), which alone writes them (master/log-writer.ts).
 */
import type { Level } from './levels.js';

export interface Log {
  /** An error-log record; `rid` tags it with the request it belongs to. */
  write(level: Level, message: string, rid?: string): void;
  error(message: string, rid?: string): void;
  warn(message: string, rid?: string): void;
  info(message: string, rid?: string): void;
  debug(message: string, rid?: string): void;
  /** One access-log line, already formatted. */
  access(line: string): void;
}

/** Builds the level shorthands around one write function. */
export function makeLog(
  write: (level: Level, message: string, rid?: string) => void,
  access: (line: string) => void,
): Log {
  return {
    write,
    error: (m, rid) => write('error', m, rid),
    warn: (m, rid) => write('warn', m, rid),
    info: (m, rid) => write('info', m, rid),
    debug: (m, rid) => write('debug', m, rid),
    access,
  };
}
