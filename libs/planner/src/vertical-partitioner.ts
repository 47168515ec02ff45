/** One indivisible group of tables (tables that must stay together) to place on a server. */
export interface PartitionItem {
  readonly id: string;
  /** Load share (0..1 of the total). */
  readonly load: number;
  readonly bytes: number;
  /** Part it must stay on (0 is the source), or `null` when free. */
  readonly fixedPart: number | null;
}

/** Statements (or transactions) touching several items: cut when the items land apart. */
export interface PartitionHyperedge {
  readonly items: readonly number[];
  /** Load share of the statements. */
  readonly load: number;
}

/** What {@link partitionItems} solves. */
export interface PartitionProblem {
  readonly items: readonly PartitionItem[];
  readonly hyperedges: readonly PartitionHyperedge[];
  /** Number of parts (servers), the source (part 0) included. */
  readonly parts: number;
  /** Load that sits on each part whatever happens (statements without tables, shard ranges). */
  readonly fixedLoad: readonly number[];
  /** Most load share a part should carry; exceeding it is heavily penalised. */
  readonly capacity?: number;
  /**
   * How much a unit of load in statements that would cross servers costs compared with
   * imbalance. @defaultValue 1
   */
  readonly crossPenalty?: number;
}

/** A placement of every item. */
export interface Partition {
  /** Part of each item, by index. */
  readonly partOf: readonly number[];
  /** Load share of each part (fixed load included). */
  readonly loads: readonly number[];
  /** Load share of statements whose items span parts. */
  readonly cut: number;
}

const OVER_CAPACITY_PENALTY = 1000;

/**
 * Places items on parts, minimising `Σ load² + crossPenalty · cut` (balanced load, few
 * statements crossing servers), with a steep penalty above the capacity. Greedy placement by
 * decreasing load, then single-item moves until no move improves: deterministic for the same
 * input (ties go to the lower part and item index).
 */
export function partitionItems(problem: PartitionProblem): Partition {
  const { items, hyperedges, parts } = problem;
  const lambda = problem.crossPenalty ?? 1;
  const cap = problem.capacity;
  const loads = Array.from({ length: parts }, (_, p) => problem.fixedLoad[p] ?? 0);
  const partOf = items.map(() => -1);
  const edgesOf: number[][] = items.map(() => []);
  hyperedges.forEach((e, i) => {
    for (const item of new Set(e.items)) edgesOf[item]!.push(i);
  });
  // per hyperedge: how many of its items sit on each part
  const counts: Map<number, number>[] = hyperedges.map(() => new Map());

  const over = (l: number) => (cap === undefined || l <= cap ? 0 : OVER_CAPACITY_PENALTY * (l - cap) * (l - cap));
  const loadCost = (l: number) => l * l + over(l);

  /** Change of the cut when `item` goes from `from` (-1: unplaced) to `to`. */
  const cutDelta = (item: number, from: number, to: number): number => {
    let delta = 0;
    for (const e of edgesOf[item]!) {
      const c = counts[e]!;
      let size = c.size;
      if (from >= 0 && c.get(from) === 1) size -= 1;
      if (!c.has(to)) size += 1;
      delta += ((size > 1 ? 1 : 0) - (c.size > 1 ? 1 : 0)) * hyperedges[e]!.load;
    }
    return delta;
  };
  const place = (item: number, to: number) => {
    const from = partOf[item]!;
    const load = items[item]!.load;
    for (const e of edgesOf[item]!) {
      const c = counts[e]!;
      if (from >= 0) {
        const left = (c.get(from) ?? 0) - 1;
        if (left === 0) c.delete(from);
        else c.set(from, left);
      }
      c.set(to, (c.get(to) ?? 0) + 1);
    }
    if (from >= 0) loads[from]! -= load;
    loads[to]! += load;
    partOf[item] = to;
  };
  const moveDelta = (item: number, to: number): number => {
    const from = partOf[item]!;
    if (from === to) return 0;
    const load = items[item]!.load;
    let delta = loadCost(loads[to]! + load) - loadCost(loads[to]!);
    if (from >= 0) delta += loadCost(loads[from]! - load) - loadCost(loads[from]!);
    return delta + lambda * cutDelta(item, from, to);
  };

  items.forEach((item, i) => {
    if (item.fixedPart !== null) place(i, Math.min(item.fixedPart, parts - 1));
  });
  const free = items
    .map((_, i) => i)
    .filter((i) => items[i]!.fixedPart === null)
    .sort((a, b) => items[b]!.load - items[a]!.load || (items[a]!.id < items[b]!.id ? -1 : 1));
  for (const i of free) {
    let best = 0;
    let bestDelta = Infinity;
    for (let p = 0; p < parts; p += 1) {
      const d = moveDelta(i, p);
      if (d < bestDelta - 1e-12) {
        best = p;
        bestDelta = d;
      }
    }
    place(i, best);
  }
  for (let pass = 0; pass < 100; pass += 1) {
    let improved = false;
    for (const i of free) {
      let best = partOf[i]!;
      let bestDelta = -1e-12;
      for (let p = 0; p < parts; p += 1) {
        if (p === partOf[i]) continue;
        const d = moveDelta(i, p);
        if (d < bestDelta) {
          best = p;
          bestDelta = d;
        }
      }
      if (best !== partOf[i]) {
        place(i, best);
        improved = true;
      }
    }
    // pair swaps between parts (escape local minima when items have similar loads)
    if (!improved && free.length <= 60) {
      outer: for (let x = 0; x < free.length; x += 1) {
        for (let y = x + 1; y < free.length; y += 1) {
          const a = free[x]!;
          const b = free[y]!;
          const pa = partOf[a]!;
          const pb = partOf[b]!;
          if (pa === pb) continue;
          const before = objective();
          place(a, pb);
          place(b, pa);
          if (objective() < before - 1e-12) {
            improved = true;
            break outer;
          }
          place(a, pa);
          place(b, pb);
        }
      }
    }
    if (!improved) break;
  }
  function cutNow(): number {
    return hyperedges.reduce((s, e, i) => s + (counts[i]!.size > 1 ? e.load : 0), 0);
  }
  function objective(): number {
    return loads.reduce((s, l) => s + loadCost(l), 0) + lambda * cutNow();
  }
  return { partOf: [...partOf], loads: [...loads], cut: cutNow() };
}
