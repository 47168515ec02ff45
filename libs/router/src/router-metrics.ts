/** Counter names the router increments. */
export const ROUTER_COUNTERS = [
  /** Queries routed; labels: kind (select/insert/update/delete/other), side (source/target/home/fanout). */
  'cleave_router_queries_total',
  /** Shadow applies; labels: result (ok/failed/skipped/raced: the confirm found a newer write and synced under the lock), path (apply). */
  'cleave_router_shadow_applies_total',
  /** Shadow failures recorded; labels: where (store/journal/memory). */
  'cleave_router_shadow_failures_recorded_total',
  /** Shadow reads compared; labels: table, result (match/raced: equal on a re-read, a write was in flight/mismatch/error/skipped). */
  'cleave_router_shadow_reads_total',
  /** Queries refused; labels: reason. */
  'cleave_router_refused_total',
] as const;

/** Histogram names the router observes (milliseconds). */
export const ROUTER_HISTOGRAMS = [
  /** Time a query took through the router, shadow apply included; labels: kind. */
  'cleave_router_query_ms',
  /** Time of a shadow apply; labels: result. */
  'cleave_router_shadow_apply_ms',
  /** Time a write was held by a fence or a lapsed lease. */
  'cleave_router_write_held_ms',
] as const;

export type RouterCounter = (typeof ROUTER_COUNTERS)[number];
export type RouterHistogram = (typeof ROUTER_HISTOGRAMS)[number];
export type MetricLabels = Readonly<Record<string, string>>;

/**
 * Metrics hooks: the router calls these; map them to prom-client (or anything).
 *
 * @example
 * const counters = new Map(ROUTER_COUNTERS.map((n) => [n, new Counter({ name: n, help: n, labelNames: [...] })]));
 * const metrics: RouterMetrics = { increment: (n, l, v = 1) => counters.get(n)!.inc(l, v), observe: (n, l, v) => hist.get(n)!.observe(l, v) };
 */
export interface RouterMetrics {
  increment(name: RouterCounter, labels: MetricLabels, value?: number): void;
  observe(name: RouterHistogram, labels: MetricLabels, value: number): void;
}

/** Metrics that go nowhere. */
export const NOOP_METRICS: RouterMetrics = Object.freeze({ increment: () => undefined, observe: () => undefined });
