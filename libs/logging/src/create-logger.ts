import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';
import { build as prettyStream } from 'pino-pretty';
import { readLogSettings, type LogSettings } from './log-settings.js';

export interface CreateLoggerOptions {
  /** The process, e.g. `cleave-worker`: the `name` field of every line. */
  readonly name: string;
  /** Format and level; by default read from the environment and whether stdout is a terminal. */
  readonly settings?: LogSettings;
  /** Where lines go (default stdout). Tests pass a stream they read. */
  readonly destination?: DestinationStream;
}

/**
 * The one logger factory of cleave's processes (worker, coordinator), so every line has the same
 * fields: `level` (pino's number), `time` (ISO 8601, UTC), `pid`, `hostname`, `name`, `msg`, and
 * the entry's own fields. Errors go under `err` (pino's serializer: type, message, stack).
 * In `pretty` format the same entries are rendered by pino-pretty, synchronously, so a line
 * written just before `process.exit` is not lost.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const settings = options.settings ?? readLogSettings(process.env, process.stdout.isTTY === true);
  const pinoOptions = {
    name: options.name,
    level: settings.level,
    timestamp: stdTimeFunctions.isoTime,
    // pino owns `level`: an entry's own `level` field would print a second `level` key (and a JSON
    // parser keeps the last one, losing the number).
    formatters: { log: ({ level: _level, ...entry }: Record<string, unknown>) => entry },
  };
  if (settings.format === 'pretty') {
    const destination = options.destination ?? process.stdout;
    const colorize = options.destination === undefined && process.stdout.isTTY === true;
    return pino(pinoOptions, prettyStream({ destination, sync: true, colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }));
  }
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}
