import type { PlanEndpoint } from '@cleave/core';
import { encodeKey, type KeyTuple } from '@cleave/mysql';
import type { WatchedTable } from './stream-plan.js';

/** The keys of one table to bring from its primary to one shadow, in one sync. */
export interface KeyGroup {
  readonly watched: WatchedTable;
  readonly shadow: PlanEndpoint;
  readonly keys: Map<string, KeyTuple>;
}

/** One (table, shadow) pair: the keys waiting for it, and the sync applying others now. */
interface Lane {
  readonly watched: WatchedTable;
  readonly shadow: PlanEndpoint;
  /** encoded key -> the key and the oldest transaction (commit number) it was changed in since its last apply began. */
  pending: Map<string, { readonly key: KeyTuple; readonly seq: number }>;
  /** The oldest transaction among the keys of the sync in flight; undefined while none runs. */
  inFlightSeq: number | undefined;
  inFlight: Promise<void> | undefined;
  /** When its last sync started (performance.now()); its next starts a spacing later at the soonest. */
  startedAt: number;
  /** The next sync's start, when one is scheduled. */
  timer: { readonly timeout: NodeJS.Timeout } | { readonly immediate: NodeJS.Immediate } | undefined;
}

/**
 * The capture's keys by (table, shadow) pair, each pair applied on its own: a pair whose sync
 * ends starts the next with every key that came meanwhile, whatever the other pairs are doing. A
 * quiet table's change (one key) then waits for its own sync only, not for the largest sync of a
 * busy one; and a busy table's batches still grow with the load (the keys that arrive during a
 * sync make up the next). Two pairs never touch the same rows, so their syncs never wait for
 * each other.
 *
 * A lane starts a sync at most once per `spacingMs`: the keys of a busy table that come sooner
 * wait for the next start and go in the same sync. Each sync costs the primary a locked read and
 * the shadow a few round trips whatever its size, so a busy table's changes cost both servers far
 * less in fewer, larger syncs, for a few milliseconds of lag; a lane that was idle longer (a quiet
 * table) starts at once, and a drain ({@link drained}: a switch waits for it) does not wait.
 *
 * Each key carries the number of the transaction it was read in, so that the stream checkpoints
 * only transactions every key of which is applied ({@link oldestUnapplied}).
 */
export class ApplyLanes {
  readonly #lanes = new Map<string, Lane>();
  readonly #apply: (group: KeyGroup) => Promise<number>;
  readonly #applied: (count: number) => void;
  readonly #failed: (error: unknown) => void;
  readonly #maxKeys: number;
  readonly #spacingMs: number;
  #stopped = false;
  /** Drains under way: lanes start at once while one is. */
  #draining = 0;

  /**
   * `apply` syncs one group's keys (its count resolves `applied`); its failure goes to `failed`
   * and stops every lane from starting more.
   */
  constructor(config: { apply: (group: KeyGroup) => Promise<number>; applied: (count: number) => void; failed: (error: unknown) => void; maxKeys: number; spacingMs: number }) {
    this.#apply = config.apply;
    this.#applied = config.applied;
    this.#failed = config.failed;
    this.#maxKeys = config.maxKeys;
    this.#spacingMs = config.spacingMs;
  }

  /**
   * Adds a changed key of transaction `seq`. Its lane starts a sync once the changes read so far
   * are added (the keys of one transaction go in one sync), or after its spacing, if it has none running.
   */
  add(watched: WatchedTable, shadow: PlanEndpoint, key: KeyTuple, seq: number): void {
    const id = `${watched.primary.database}.${watched.table}>${shadow.server}/${shadow.database}`;
    let lane = this.#lanes.get(id);
    if (lane === undefined) {
      lane = { watched, shadow, pending: new Map(), inFlightSeq: undefined, inFlight: undefined, startedAt: Number.NEGATIVE_INFINITY, timer: undefined };
      this.#lanes.set(id, lane);
    }
    const encoded = encodeKey(key);
    if (!lane.pending.has(encoded)) lane.pending.set(encoded, { key, seq });
    this.#schedule(lane);
  }

  /** The oldest transaction with a key not applied yet (pending or in a sync running); undefined: all applied. */
  oldestUnapplied(): number | undefined {
    let oldest: number | undefined;
    for (const lane of this.#lanes.values()) {
      if (lane.inFlightSeq !== undefined) oldest = Math.min(oldest ?? lane.inFlightSeq, lane.inFlightSeq);
      // Keys come in transaction order and a key changed again keeps its place: the first is the oldest.
      const first = lane.pending.values().next();
      if (first.done !== true) oldest = Math.min(oldest ?? first.value.seq, first.value.seq);
    }
    return oldest;
  }

  /** A lane holds at least as many waiting keys as one sync takes (it starts at once then): the reader should wait for it. */
  async backPressure(): Promise<void> {
    for (const lane of this.#lanes.values()) if (this.#isPressed(lane)) await lane.inFlight;
  }

  /** Whether {@link backPressure} would wait (checked without a promise on the reader's path). */
  pressed(): boolean {
    for (const lane of this.#lanes.values()) if (this.#isPressed(lane)) return true;
    return false;
  }

  #isPressed(lane: Lane): boolean {
    return lane.pending.size >= this.#maxKeys && lane.inFlight !== undefined;
  }

  /**
   * Resolves once no lane has a key waiting or a sync running (or the lanes stopped on a
   * failure). Meanwhile no lane waits for its spacing.
   */
  async drained(): Promise<void> {
    this.#draining += 1;
    try {
      for (;;) {
        for (const lane of this.#lanes.values()) this.#start(lane);
        const running = [...this.#lanes.values()].flatMap((lane) => (lane.inFlight === undefined ? [] : [lane.inFlight]));
        if (running.length === 0) return;
        await Promise.all(running);
      }
    } finally {
      this.#draining -= 1;
    }
  }

  /** Starts no more syncs (the stream ends or failed); those running finish. */
  stop(): void {
    this.#stopped = true;
    for (const lane of this.#lanes.values()) this.#unschedule(lane);
  }

  /** Starts the lane's next sync: after the changes read so far (a full batch, a drain: at once), and no sooner than its spacing. */
  #schedule(lane: Lane): void {
    if (this.#stopped || lane.inFlight !== undefined || lane.pending.size === 0) return;
    if (this.#draining > 0 || lane.pending.size >= this.#maxKeys) return this.#start(lane);
    if (lane.timer !== undefined) return;
    const wait = lane.startedAt + this.#spacingMs - performance.now();
    const start = () => {
      lane.timer = undefined;
      this.#start(lane);
    };
    lane.timer = wait > 0 ? { timeout: setTimeout(start, wait) } : { immediate: setImmediate(start) };
  }

  #unschedule(lane: Lane): void {
    const timer = lane.timer;
    if (timer === undefined) return;
    if ('timeout' in timer) clearTimeout(timer.timeout);
    else clearImmediate(timer.immediate);
    lane.timer = undefined;
  }

  #start(lane: Lane): void {
    this.#unschedule(lane);
    if (this.#stopped || lane.inFlight !== undefined || lane.pending.size === 0) return;
    lane.startedAt = performance.now();
    const taken = [...lane.pending.entries()].slice(0, this.#maxKeys);
    const keys = new Map<string, KeyTuple>();
    let oldest = Number.POSITIVE_INFINITY;
    for (const [encoded, { key, seq }] of taken) {
      keys.set(encoded, key);
      oldest = Math.min(oldest, seq);
      lane.pending.delete(encoded);
    }
    lane.inFlightSeq = oldest;
    lane.inFlight = this.#apply({ watched: lane.watched, shadow: lane.shadow, keys }).then(
      (count) => {
        lane.inFlight = undefined;
        lane.inFlightSeq = undefined;
        this.#applied(count);
        this.#schedule(lane);
      },
      (error: unknown) => {
        this.#stopped = true;
        lane.inFlight = undefined; // its keys stay unapplied: inFlightSeq holds the checkpoint back
        this.#failed(error);
      },
    );
  }
}
