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
}

/**
 * The capture's keys by (table, shadow) pair, each pair applied on its own: a pair whose sync
 * ends starts the next with every key that came meanwhile, whatever the other pairs are doing. A
 * quiet table's change (one key) then waits for its own sync only, not for the largest sync of a
 * busy one; and a busy table's batches still grow with the load (the keys that arrive during a
 * sync make up the next). Two pairs never touch the same rows, so their syncs never wait for
 * each other.
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
  #stopped = false;

  /**
   * `apply` syncs one group's keys (its count resolves `applied`); its failure goes to `failed`
   * and stops every lane from starting more.
   */
  constructor(config: { apply: (group: KeyGroup) => Promise<number>; applied: (count: number) => void; failed: (error: unknown) => void; maxKeys: number }) {
    this.#apply = config.apply;
    this.#applied = config.applied;
    this.#failed = config.failed;
    this.#maxKeys = config.maxKeys;
  }

  /** Adds a changed key of transaction `seq`; its lane starts a sync at once if it has none running. */
  add(watched: WatchedTable, shadow: PlanEndpoint, key: KeyTuple, seq: number): void {
    const id = `${watched.primary.database}.${watched.table}>${shadow.server}/${shadow.database}`;
    let lane = this.#lanes.get(id);
    if (lane === undefined) {
      lane = { watched, shadow, pending: new Map(), inFlightSeq: undefined, inFlight: undefined };
      this.#lanes.set(id, lane);
    }
    const encoded = encodeKey(key);
    if (!lane.pending.has(encoded)) lane.pending.set(encoded, { key, seq });
    this.#start(lane);
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

  /** A lane holds at least as many waiting keys as one sync takes: the reader should wait for it. */
  async backPressure(): Promise<void> {
    for (const lane of this.#lanes.values()) if (lane.pending.size >= this.#maxKeys && lane.inFlight !== undefined) await lane.inFlight;
  }

  /** Resolves once no lane has a key waiting or a sync running (or the lanes stopped on a failure). */
  async drained(): Promise<void> {
    for (;;) {
      const running = [...this.#lanes.values()].flatMap((lane) => (lane.inFlight === undefined ? [] : [lane.inFlight]));
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** Starts no more syncs (the stream ends or failed); those running finish. */
  stop(): void {
    this.#stopped = true;
  }

  #start(lane: Lane): void {
    if (this.#stopped || lane.inFlight !== undefined || lane.pending.size === 0) return;
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
        this.#start(lane);
      },
      (error: unknown) => {
        this.#stopped = true;
        lane.inFlight = undefined; // its keys stay unapplied: inFlightSeq holds the checkpoint back
        this.#failed(error);
      },
    );
  }
}
