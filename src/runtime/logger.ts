import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * One root logger per process, JSON to stdout. Components take child loggers bound to
 * `{component, actorType, key, partition, offset}` as needed. Pure code never logs.
 */
export function createLogger(options: { level: string; name: string }): Logger {
  return pino({
    name: options.name,
    level: options.level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.err },
  });
}

/** A logger that drops everything, for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
