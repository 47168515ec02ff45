import { CommanderError } from 'commander';
import { isCleaveError } from '@cleave/core';
import { LogSettingsError } from '@cleave/logging';

/**
 * What the process does with an error thrown while it reads its settings, before it logs
 * anything: help was printed (exit 0); a usage error was printed by commander (exit 2); a
 * configuration error is one message for a person, naming the setting and the fix (exit 2).
 * `undefined`: not a settings problem (the caller logs it).
 */
export function settingsFailure(error: unknown): { exitCode: number; message?: string } | undefined {
  if (error instanceof CommanderError) return { exitCode: error.exitCode === 0 ? 0 : 2 };
  if (error instanceof LogSettingsError) return { exitCode: 2, message: error.message };
  if (isCleaveError(error, 'CONFIG_INVALID')) return { exitCode: 2, message: error.hint ? `${error.message}\n${error.hint}` : error.message };
  return undefined;
}
