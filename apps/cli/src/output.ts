import { formatBytes, formatDuration } from '@cleave/core';

/** Prints a result as JSON (for scripts) or as text lines (for people). */
export function emit(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

/** See formatDuration in @cleave/core (the dashboard formats durations the same way). */
export const fmtDuration = formatDuration;

/** See formatBytes in @cleave/core (the dashboard formats sizes the same way). */
export const fmtBytes = formatBytes;

export const fmtTime = (d: Date) => d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
