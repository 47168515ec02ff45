/** How a process logs: JSON lines for machines, pino-pretty for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogSettings {
  readonly format: LogFormat;
  readonly level: LogLevel;
}

/**
 * A log setting that cannot be used. Its message names the variable, the value and the values
 * allowed (this lib depends on nothing of ours, so not a CleaveError; apps report it as a
 * configuration error).
 */
export class LogSettingsError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(message);
    this.name = 'LogSettingsError';
    this.setting = setting;
  }
}

/**
 * CLEAVE_LOG_FORMAT (`json` | `pretty`; unset: pretty on a terminal, JSON otherwise, so a process
 * under systemd, Kubernetes or a test harness always writes JSON) and CLEAVE_LOG_LEVEL (default info).
 */
export function readLogSettings(env: Record<string, string | undefined>, isTerminal: boolean): LogSettings {
  const format = env['CLEAVE_LOG_FORMAT'] || (isTerminal ? 'pretty' : 'json');
  if (format !== 'json' && format !== 'pretty') {
    throw new LogSettingsError('CLEAVE_LOG_FORMAT', `CLEAVE_LOG_FORMAT must be json or pretty, got "${format}"; unset it to get pretty on a terminal and JSON otherwise`);
  }
  const level = env['CLEAVE_LOG_LEVEL'] || 'info';
  const known = LOG_LEVELS.find((l) => l === level);
  if (known === undefined) throw new LogSettingsError('CLEAVE_LOG_LEVEL', `CLEAVE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  return { format, level: known };
}
