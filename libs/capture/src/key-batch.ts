import type { PlanEndpoint } from '@cleave/core';
import { encodeKey, type KeyTuple } from '@cleave/mysql';
import type { WatchedTable } from './stream-plan.js';

/** The keys of one table to bring from its primary to one shadow. */
export interface KeyGroup {
  readonly watched: WatchedTable;
  readonly shadow: PlanEndpoint;
  readonly keys: Map<string, KeyTuple>;
}

/**
 * Keys of changed rows gathered between two applies, de-duplicated per (table, shadow): a row
 * changed a thousand times in one batch is synced once, from the primary's state at apply time.
 */
export class KeyBatch {
  readonly #groups = new Map<string, KeyGroup>();
  #size = 0;

  add(watched: WatchedTable, shadow: PlanEndpoint, key: KeyTuple): void {
    const id = `${watched.primary.database}.${watched.table}>${shadow.server}/${shadow.database}`;
    let group = this.#groups.get(id);
    if (group === undefined) {
      group = { watched, shadow, keys: new Map() };
      this.#groups.set(id, group);
    }
    const encoded = encodeKey(key);
    if (!group.keys.has(encoded)) {
      group.keys.set(encoded, key);
      this.#size += 1;
    }
  }

  /** Distinct keys held. */
  get size(): number {
    return this.#size;
  }

  groups(): KeyGroup[] {
    return [...this.#groups.values()];
  }

  clear(): void {
    this.#groups.clear();
    this.#size = 0;
  }
}
