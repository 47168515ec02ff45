export { createLogger } from './create-logger.js';
export type { CreateLoggerOptions } from './create-logger.js';
export { LOG_LEVELS, LogSettingsError, readLogSettings } from './log-settings.js';
export type { LogFormat, LogLevel, LogSettings } from './log-settings.js';
export type { Logger } from 'pino';
