/** Prints a result as JSON (for scripts) or as text lines (for people). */
export function emit(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export const fmtTime = (d: Date) => d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
