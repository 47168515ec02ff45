import type { MigrationPhase } from '@cleave/core';
import type { MigrationRecord } from '@cleave/control';
import type { CheckResult } from '@cleave/cutover';

/** Evaluates the named preconditions of one step, as `cleave cutover --dry-run` does (read-only). */
export type EvaluateStep = (migration: MigrationRecord, to: MigrationPhase) => Promise<CheckResult[]>;

/** The checks of a migration's next step and of its rollback, as last evaluated. */
export interface StepChecks {
  readonly next: readonly CheckResult[] | null;
  readonly rollback: readonly CheckResult[] | null;
  readonly checkedAt: Date;
}

interface Entry {
  key: string;
  value: StepChecks | null;
  running: Promise<StepChecks> | null;
}

/**
 * Keeps the preconditions of each migration's next step and rollback evaluated while pages ask:
 * a page gets the last result at once and a stale one (older than `maxAgeMs`) is evaluated again
 * in the background, since one check may take seconds (it watches router heartbeats). A phase or
 * epoch change makes the last result void: the page then waits for the new one.
 */
export class PreconditionWatch {
  readonly #evaluate: EvaluateStep;
  readonly #maxAgeMs: number;
  readonly #entries = new Map<string, Entry>();

  constructor(evaluate: EvaluateStep, maxAgeMs = 2000) {
    this.#evaluate = evaluate;
    this.#maxAgeMs = maxAgeMs;
  }

  async checks(migration: MigrationRecord, steps: { next: MigrationPhase | null; rollback: MigrationPhase | null }): Promise<StepChecks> {
    const key = `${migration.phase}:${migration.epoch}:${steps.next}:${steps.rollback}`;
    let entry = this.#entries.get(migration.id);
    if (entry === undefined || entry.key !== key) {
      entry = { key, value: null, running: null };
      this.#entries.set(migration.id, entry);
    }
    const current = entry;
    if (current.value !== null && Date.now() - current.value.checkedAt.getTime() < this.#maxAgeMs) return current.value;
    current.running ??= this.#run(migration, steps).then((value) => {
      current.value = value;
      current.running = null;
      return value;
    });
    return current.value ?? (await current.running);
  }

  async #run(migration: MigrationRecord, steps: { next: MigrationPhase | null; rollback: MigrationPhase | null }): Promise<StepChecks> {
    // Never rejects: a step whose checks could not run shows that as its one failing check.
    const evaluate = (to: MigrationPhase | null) =>
      to === null ? null : this.#evaluate(migration, to).catch((error: unknown): CheckResult[] => [{ name: 'evaluation', status: 'fail', detail: `the checks could not run: ${(error as Error).message}` }]);
    const [next, rollback] = await Promise.all([evaluate(steps.next), evaluate(steps.rollback)]);
    return { next, rollback, checkedAt: new Date() };
  }
}
