import { isCleaveError } from '@cleave/core';
import type { ControlStore } from '@cleave/control';
import type { Cutover, RecoveryResult } from '@cleave/cutover';
import type { Logger } from '@cleave/logging';

/** The log lines the service writes (a pino logger: the coordinator's is from @cleave/logging). */
export type CoordinatorLog = Pick<Logger, 'info' | 'warn'>;

/**
 * The coordinator service: every `pollMs` it looks for changes whose coordinator died (a journal
 * `begin` without `done`/`aborted`) and, holding that migration's lease, finishes them (flipped)
 * or aborts them (not flipped). Changes themselves are started by `cleave cutover` (which takes
 * the same lease); `stop()` lets the current recovery finish.
 */
export class CoordinatorService {
  readonly #store: ControlStore;
  readonly #cutover: Cutover;
  readonly #pollMs: number;
  readonly #log: CoordinatorLog;
  readonly #onRecovered: (migrationName: string, result: RecoveryResult) => void;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(config: { store: ControlStore; cutover: Cutover; pollMs: number; log: CoordinatorLog; onRecovered?: (migrationName: string, result: RecoveryResult) => void }) {
    this.#store = config.store;
    this.#cutover = config.cutover;
    this.#pollMs = config.pollMs;
    this.#log = config.log;
    this.#onRecovered = config.onRecovered ?? (() => undefined);
  }

  start(): void {
    const tick = () => {
      if (this.#stopped) return;
      this.#running = this.sweep().then(() => undefined).finally(() => {
        this.#running = undefined;
        if (!this.#stopped) this.#timer = setTimeout(tick, this.#pollMs);
      });
    };
    tick();
  }

  /** One pass over every migration; returns what it recovered. */
  async sweep(): Promise<RecoveryResult[]> {
    const done: RecoveryResult[] = [];
    try {
      for (const m of await this.#store.listMigrations()) {
        if (this.#stopped) break;
        if ((await this.#cutover.interrupted(m.id)) === null) continue;
        try {
          const r = await this.#cutover.recover(m.id);
          if (r !== null) {
            done.push(r);
            this.#onRecovered(m.name, r);
            this.#log.info({ migration: m.name, ...r }, 'recovered an interrupted change');
          }
        } catch (error) {
          if (isCleaveError(error, 'CONFLICT')) continue; // another coordinator has it
          this.#log.warn({ migration: m.name, err: (error as Error).message }, 'recovery failed');
        }
      }
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'sweep failed');
    }
    return done;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
