import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import xterm from '@xterm/headless';
import type { CliMigrationStatus } from './status-command.js';
import { renderWatchFrame, type WatchOutcome } from './watch-frame.js';
import { terminalView } from './watch-view.js';

const ROWS = 30;

/** A terminal-like stream: what is written goes to a headless xterm.js of `columns` x ROWS. */
function fakeTerminal(columns: number) {
  // convertEol: "\n" also returns the carriage, as a pty's onlcr does.
  const term = new xterm.Terminal({ cols: columns, rows: ROWS, scrollback: 1000, allowProposedApi: true, convertEol: true });
  let pending = Promise.resolve();
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      pending = pending.then(() => new Promise<void>((resolve) => term.write(chunk.toString('utf8'), resolve)));
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(out, { isTTY: true, columns, rows: ROWS });
  const screen = async () => {
    await pending;
    const buffer = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i += 1) lines.push(buffer.getLine(i)!.translateToString(true).trimEnd());
    while (lines.at(-1) === '') lines.pop();
    return lines;
  };
  return { out, screen, dispose: () => term.dispose() };
}

function status(step: { percent: number; workers: number; verification: 'none' | 'running' | 'clean' }): CliMigrationStatus {
  const unit = (table: string, percent: number) => ({
    table,
    target: 'mail',
    state: percent >= 100 ? 'copied' : percent > 0 ? 'copying' : 'pending',
    rowsEstimate: 10_000,
    rowsCopied: percent * 100,
    rowsPerSecond: percent > 0 ? 1_000 : 0,
    percent,
    segments: 2,
    segmentsDone: percent >= 100 ? 2 : 0,
    copyMs: 0,
    startedAt: null,
    copyStartedAt: null,
    finishedAt: null,
    error: null,
  });
  const tables = [unit('sessions', step.percent), unit('user_settings', Math.min(100, step.percent * 2))];
  const run = { id: 7, startedAt: new Date(), finishedAt: step.verification === 'clean' ? new Date() : null, passes: 1, chunks: 4, rowsChecked: 20_000, rowsDiffering: 0, rowsRepaired: 0, clean: step.verification === 'clean' ? true : null, details: null };
  return {
    migration: { name: 'split-mail', id: 'm1', phase: 'dual_write' },
    backfill: { tables, rowsCopied: tables.reduce((n, t) => n + t.rowsCopied, 0), complete: tables.every((t) => t.state === 'copied') },
    throttling: [],
    verification: step.verification === 'none' ? [] : [run],
    events: [],
    capture: [],
    routers: [],
    queues: { backfill: { waiting: step.percent < 100 ? 2 : 0 }, verify: {} },
    workersAlive: step.workers,
  } as unknown as CliMigrationStatus;
}

describe('status --watch on a terminal: frames redrawn in place', () => {
  it.each([80, 200])('at %i columns, a stalled, copying, verifying, done sequence leaves exactly the last frame on screen', async (columns) => {
    const terminal = fakeTerminal(columns);
    const view = terminalView(terminal.out, 300);
    const steps: Array<[Parameters<typeof status>[0], WatchOutcome]> = [
      [{ percent: 0, workers: 0, verification: 'none' }, null], // with the NO WORKER ALIVE warning
      [{ percent: 10, workers: 1, verification: 'none' }, null], // the warning gone
      [{ percent: 60, workers: 1, verification: 'none' }, null],
      [{ percent: 100, workers: 1, verification: 'running' }, null],
      [{ percent: 100, workers: 1, verification: 'clean' }, 'done'], // a one-line outcome replaces the watching line
    ];
    for (const [step, outcome] of steps) view.show(status(step), outcome);
    view.close();
    const last = status(steps.at(-1)![0]);
    const expected = renderWatchFrame(last, { columns, intervalMs: 300, outcome: 'done' }).map((l) => l.trimEnd());
    while (expected.at(-1) === '') expected.pop();
    expect(await terminal.screen()).toEqual(expected);
    expect(expected.at(-1)).toBe('DONE: every table copied; verification run 7 clean');
    terminal.dispose();
  });
});
