import cliProgress from 'cli-progress';
import type { VerifyProgress } from '@cleave/verify';
import { fmtDuration, fmtInt } from '../output.js';

/** Progress of one verification unit, as `cleave verify` shows it. */
interface UnitState {
  pass: number;
  /** rowsChecked when the current pass began (progress reports totals over passes). */
  passBase: number;
  passStartedAt: number;
  lastLineAt: number;
  bar: cliProgress.SingleBar | undefined;
}

const LINE_EVERY_MS = 2_000;

/**
 * Live progress of `cleave verify`: per unit (table or shard range) and pass, percent of the
 * estimated rows checked, rows/s, ETA, rows differing and repaired. On a terminal it draws
 * progress bars (cli-progress); otherwise it prints a line per unit every two seconds and at the
 * end of each pass (logs, CI).
 */
export class VerifyProgressView {
  readonly #estimates: ReadonlyMap<string, number>;
  readonly #out: NodeJS.WritableStream & { isTTY?: boolean };
  readonly #now: () => number;
  readonly #units = new Map<string, UnitState>();
  readonly #bars: cliProgress.MultiBar | undefined;
  /** When the last report came (units and passes run one after another: the next starts then). */
  #lastEventAt: number;

  constructor(estimates: ReadonlyMap<string, number>, out: NodeJS.WritableStream & { isTTY?: boolean }, now: () => number = () => performance.now()) {
    this.#estimates = estimates;
    this.#out = out;
    this.#now = now;
    this.#lastEventAt = now();
    this.#bars =
      out.isTTY === true
        ? new cliProgress.MultiBar(
            {
              format: ' {unit} pass {pass} |{bar}| {percentage}% {rows} rows {rate} rows/s ETA {remaining}  {differing} differing, {repaired} repaired',
              hideCursor: true,
              clearOnComplete: false,
              stream: out as NodeJS.WriteStream,
            },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
  }

  update(progress: VerifyProgress & { readonly unit: string }): void {
    const now = this.#now();
    let state = this.#units.get(progress.unit);
    if (state === undefined || state.pass !== progress.pass) {
      // A new pass counts from where the previous one ended (set below at its last chunk).
      state = { pass: progress.pass, passBase: state?.passBase ?? 0, passStartedAt: this.#lastEventAt, lastLineAt: Number.NEGATIVE_INFINITY, bar: state?.bar };
      this.#units.set(progress.unit, state);
    }
    const estimate = this.#estimates.get(progress.unit) ?? 0;
    const passRows = Math.max(0, progress.rowsChecked - state.passBase);
    const elapsedMs = Math.max(1, now - state.passStartedAt);
    const rate = (passRows * 1000) / elapsedMs;
    const done = progress.lastKey === null;
    const percent = done ? 100 : estimate > 0 ? Math.min(99.9, (100 * passRows) / estimate) : 0;
    const eta = done ? 'done' : rate > 0 && estimate > passRows ? fmtDuration(((estimate - passRows) / rate) * 1000) : '-';
    const payload = {
      unit: progress.unit.padEnd(20),
      pass: progress.pass,
      rows: estimate > 0 ? `${fmtInt(passRows)}/${fmtInt(estimate)}` : fmtInt(passRows),
      rate: fmtInt(Math.round(rate)),
      remaining: eta,
      differing: fmtInt(progress.rowsDiffering),
      repaired: fmtInt(progress.rowsRepaired),
    };
    if (this.#bars !== undefined) {
      state.bar ??= this.#bars.create(100, 0, payload);
      state.bar.update(Math.floor(percent), payload);
    } else if (done || now - state.lastLineAt >= LINE_EVERY_MS) {
      state.lastLineAt = now;
      this.#out.write(
        `${progress.unit} pass ${progress.pass}: ${percent.toFixed(1)}% ${payload.rows} rows, ${payload.rate} rows/s, ETA ${eta}, ${payload.differing} differing, ${payload.repaired} repaired\n`,
      );
    }
    if (done) state.passBase = progress.rowsChecked; // the next pass counts from here
    this.#lastEventAt = now;
  }

  stop(): void {
    this.#bars?.stop();
  }
}
