import { describe, expect, it } from 'vitest';
import { useTestDatabases } from '@cleave/testing';
import { runCutoverScenario } from './fixtures/cutover-scenario.js';

const ROUTERS = 4;
const RATE = 340;

describe('cutover under load: 4 writer processes (2 through the router, 2 around it), real CLI, worker, MariaDB and Redis', () => {
  const dbs = useTestDatabases('cutover e2e');

  it('start, backfill, verify, switch reads, switch writes, roll back, switch again, finalize: no write fails or is lost, routed or not', { timeout: 170_000 }, async () => {
    const result = await runCutoverScenario(dbs(), {
      routers: ROUTERS,
      // Half the writers bypass the router: only the binlog capture (forward, then reverse) carries their writes.
      directWriters: ROUTERS / 2,
      rate: RATE,
      users: 1500,
      dwellMs: 1_500,
      log: (line) => console.log(`[cutover e2e] ${line}`),
    });
    console.log(`[cutover e2e] ${JSON.stringify({ ...result, switches: undefined })}`);
    expect(result.phases).toEqual(['dual_write', 'verified', 'reads_switched', 'writes_switched', 'reads_switched', 'writes_switched', 'finalized']);
    expect(result.verificationClean).toBe(true);
    // The routed writers kept 300 of every 340 writes/s they were asked for, switches included.
    expect(result.routedRate).toBeGreaterThanOrEqual((300 / 340) * result.routedTargetRate);
    expect(result.errorExamples).toEqual([]);
    expect(result.failedWrites).toBe(0);
    expect(result.lostExamples).toEqual([]);
    expect(result.lostWrites).toBe(0);
    // A writer outside cleave that kept writing the old primary gets an error, never a silent loss.
    expect(result.bypassRefusals).toEqual([
      'after the writes switch: cleave guard: sessions here is not the write primary of migration cutover-e2e; see cleave status',
      'after finalize (the archived table): cleave guard: sessions here is not the write primary of migration cutover-e2e; see cleave status',
    ]);
    expect(result.ledgerRows).toBeGreaterThan(1000);
    // The fenced switches held writes, and released them: writes were in flight and none failed.
    // Switching reads (readers move to what the capture filled), switching writes (twice) and
    // rolling back fence the routers; the routed writers saw those windows.
    const fenced = result.switches.filter((s) => s.fenceWindow);
    expect(fenced.map((s) => s.to)).toEqual(['reads_switched', 'writes_switched', 'reads_switched', 'writes_switched']);
    for (const s of result.switches) {
      expect(s.errors, s.step).toBe(0);
      expect(s.writesInFlight, s.step).toBeGreaterThan(0);
    }
  });
});
