import type { ShadowReadStats } from '@cleave/control';

/** Compared / mismatched / failed, and the mismatch rate (null when nothing was compared). */
export interface ShadowReadFigures {
  readonly compared: number;
  readonly mismatched: number;
  readonly errors: number;
  readonly rate: number | null;
}

/** What the dashboard's JSON carries about a migration's shadow reads. */
export interface ShadowReadView extends ShadowReadFigures {
  /** Routers that reported; 0: reads are not compared (no router samples them). */
  readonly routers: number;
  /** The reads routed under the migration's current epoch (this phase), or null when none. */
  readonly currentPhase: (ShadowReadFigures & { readonly epoch: number; readonly phase: string }) | null;
  readonly recentMismatches: ShadowReadStats['recentMismatches'];
}

const figures = (c: { compared: number; mismatched: number; errors: number }): ShadowReadFigures => ({
  compared: c.compared,
  mismatched: c.mismatched,
  errors: c.errors,
  rate: c.compared === 0 ? null : c.mismatched / c.compared,
});

/** The routers' shadow-read totals as the dashboard shows them (the SQL of mismatches has no values). */
export function shadowReadView(stats: ShadowReadStats, epoch: number): ShadowReadView {
  const current = stats.byEpoch.find((e) => e.epoch === epoch);
  return {
    ...figures(stats),
    routers: stats.routers.length,
    currentPhase: current === undefined ? null : { ...figures(current), epoch: current.epoch, phase: current.phase },
    recentMismatches: stats.recentMismatches.slice(0, 10),
  };
}
