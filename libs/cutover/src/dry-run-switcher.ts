import type { MigrationPhase } from '@cleave/core';
import type { AckWaitResult, MigrationRecord } from '@cleave/control';
import type { CutoverSettings } from './cutover-settings.js';
import type { CheckResult } from './precondition.js';
import { FINALIZE_WARNING, describeRouting } from './phase-change.js';
import { PRECONDITIONS } from './precondition-registry.js';
import type { ArchiveRename, ChangeContext, FenceHandle, Switcher } from './switcher.js';
import { COUNTERS_CHECK } from './auto-increment-alignment.js';

/**
 * The twin of {@link LiveSwitcher} that changes nothing: each step appends the line saying what
 * it would do. Lines are deterministic (no clock, no random ids) and lists inside them sorted,
 * so tests snapshot them.
 */
export class DryRunSwitcher implements Switcher {
  readonly dryRun = true;
  readonly #settings: CutoverSettings;
  readonly #lines: string[] = [];
  #step = 0;

  constructor(settings: CutoverSettings) {
    this.#settings = settings;
  }

  /** Everything it would do, in order. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  #do(text: string): void {
    this.#step += 1;
    this.#lines.push(`step ${String(this.#step).padStart(2, '0')}  ${text}`);
  }

  reportChecks(ctx: Omit<ChangeContext, 'changeId'>, checks: readonly CheckResult[]): void {
    const { migration: m, change } = ctx;
    this.#lines.push(
      `dry run: migration ${m.name} (id ${m.id}) ${change.from} -> ${change.to} (${change.direction}${change.fenced ? ', fenced switch' : ''}${change.irreversible ? ', IRREVERSIBLE' : ''})`,
      `routing now:   ${describeRouting(change.routingBefore)}  (epoch ${m.epoch})`,
      `routing after: ${describeRouting(change.routingAfter)}  (epoch ${m.epoch + 1})`,
    );
    if (change.irreversible) this.#lines.push(`WARNING: ${FINALIZE_WARNING}`, 'approval: the live change requires --approve');
    if (checks.length === 0) this.#lines.push('check (none)');
    for (const c of [...checks].sort((a, b) => a.name.localeCompare(b.name))) {
      this.#lines.push(`check ${c.name}: ${c.status} — ${c.detail}  [requires: ${PRECONDITIONS.get(c.name)?.description ?? '?'}]`);
    }
  }

  async refuse(_ctx: Omit<ChangeContext, 'changeId'>, why: string): Promise<void> {
    this.#lines.push(`would be REFUSED: ${why} (recorded as a refused event)`);
  }

  async begin(ctx: ChangeContext): Promise<void> {
    this.#do(`take the coordinator lease of migration ${ctx.migration.id}; finish or abort any interrupted change first`);
    this.#do(`journal the change ${ctx.change.from} -> ${ctx.change.to} in the event log (note: begin)`);
  }

  async fence(ctx: ChangeContext): Promise<FenceHandle> {
    this.#do(
      `fence epoch ${ctx.migration.epoch} (ttl ${this.#settings.fenceTtlMs} ms): routers hold new writes to ${ctx.tables.join(', ')} (queued, not failed); journal the fence id`,
    );
    return { fenceId: '<fence-id>', epoch: ctx.migration.epoch, at: 0 };
  }

  async awaitFenceAcks(ctx: ChangeContext): Promise<AckWaitResult> {
    this.#do(
      `wait up to ${this.#settings.fenceAckTimeoutMs} ms for every live router to ack the fence (in-flight writes finished); on a miss: unfence, keep epoch ${ctx.migration.epoch}, record aborted`,
    );
    return { ok: true, acked: [], missing: [] };
  }

  async checkInSync(ctx: ChangeContext): Promise<CheckResult> {
    this.#do(`check in sync: no failed shadow write awaits repair; otherwise unfence, keep epoch ${ctx.migration.epoch}, record aborted`);
    return { name: 'shadow-failures-repaired', status: 'pass', detail: 'dry run' };
  }

  async alignCounters(ctx: ChangeContext): Promise<CheckResult> {
    this.#do(
      `raise the AUTO_INCREMENT of each moved table on the ${ctx.change.routingAfter.primary} to the ${ctx.change.routingBefore.primary}'s where it is lower; a table locked past the wait aborts (unfence, keep epoch ${ctx.migration.epoch})`,
    );
    return { name: COUNTERS_CHECK, status: 'pass', detail: 'dry run' };
  }

  async awaitCapture(ctx: ChangeContext): Promise<CheckResult> {
    this.#do(
      `wait up to ${this.#settings.captureCatchUpMs} ms for each binlog capture stream to apply up to its server's binlog end; otherwise unfence, keep epoch ${ctx.migration.epoch}, record aborted`,
    );
    return { name: 'capture-caught-up', status: 'pass', detail: 'dry run' };
  }

  async prepareGuard(ctx: ChangeContext): Promise<CheckResult> {
    this.#do(`put the placement guard's triggers on the moved tables that ${ctx.change.to} denies (writes still pass); on a failure: refuse, nothing held`);
    return { name: 'placement-guard-moved', status: 'pass', detail: 'dry run' };
  }

  async markReads(_ctx: ChangeContext, phase: MigrationPhase): Promise<CheckResult> {
    this.#do(`mark in each shadow's guard row whether it serves reads in ${phase} (the capture syncs a shadow unlocked only while it serves none)`);
    return { name: 'placement-guard-moved', status: 'pass', detail: 'dry run' };
  }

  async closeOldPrimary(ctx: ChangeContext): Promise<CheckResult> {
    this.#do(
      `close the old primary (${ctx.change.routingBefore.primary}): its moved tables refuse writes without guard epoch ${ctx.migration.epoch + 1}, so a writer the fence does not hold gets an error instead of a write the next steps would miss; on a failure: restore it, unfence, keep epoch ${ctx.migration.epoch}, record aborted`,
    );
    return { name: 'placement-guard-moved', status: 'pass', detail: 'dry run' };
  }

  async moveGuard(ctx: ChangeContext): Promise<CheckResult> {
    this.#do(`start the capture streams that ${ctx.change.to} adds at their servers' binlog ends (before the new primary opens: a router that reads the new phase may write at once)`);
    this.#do(
      `flip the placement guards to ${ctx.change.to}: the old primary's moved tables refuse writes without guard epoch ${ctx.migration.epoch + 1}, the new primary's take every write; on a failure: restore them, unfence, keep epoch ${ctx.migration.epoch}, record aborted`,
    );
    return { name: 'placement-guard-moved', status: 'pass', detail: 'dry run' };
  }

  async releaseGuard(ctx: ChangeContext): Promise<void> {
    this.#do(`drop the placement guard's triggers from the new primary's moved tables (${ctx.change.to})`);
  }

  async restoreGuard(): Promise<void> {
    // Nothing was moved in a dry run.
  }

  async handOverCapture(ctx: ChangeContext): Promise<void> {
    this.#do(`retire the capture streams of ${ctx.change.from} that ${ctx.change.to} does not run (writes still held)`);
  }

  async flip(ctx: ChangeContext): Promise<MigrationRecord> {
    const { change, migration } = ctx;
    this.#do(
      `flip phase ${change.from} -> ${change.to} and epoch ${migration.epoch} -> ${migration.epoch + 1} (compare-and-set on phase and epoch, with the phase_change event)`,
    );
    return { ...migration, phase: change.to, epoch: migration.epoch + 1 };
  }

  async announceEpoch(_ctx: ChangeContext, epoch: number): Promise<void> {
    this.#do(`announce epoch ${epoch} to the routers (they reload the routing: ${describeRouting(_ctx.change.routingAfter)})`);
  }

  async awaitEpochAcks(_ctx: ChangeContext, epoch: number): Promise<AckWaitResult> {
    this.#do(`wait up to ${this.#settings.epochAckTimeoutMs} ms for every live router to ack epoch ${epoch}`);
    return { ok: true, acked: [], missing: [] };
  }

  async unfence(ctx: ChangeContext): Promise<void> {
    this.#do(`lift the fence: held writes run on the ${ctx.change.routingAfter.primary}; the write pause is measured`);
  }

  async archive(_ctx: ChangeContext, renames: readonly ArchiveRename[]): Promise<void> {
    if (renames.length === 0) this.#do('archive: no source table to rename');
    for (const r of [...renames].sort((a, b) => a.table.localeCompare(b.table))) {
      this.#do(`rename ${r.server}:${r.database}.${r.table} -> ${r.database}.${r.archive} (archived, not dropped)`);
    }
  }

  async complete(ctx: ChangeContext): Promise<void> {
    this.#do(`journal the change as done${ctx.change.fenced ? ', with the measured write pause' : ''}`);
  }

  async abort(): Promise<void> {
    // The dry run never aborts: its acks and sync check always pass.
  }
}
