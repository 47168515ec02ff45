import { describe, expect, it } from 'vitest';
import type { CaptureStreamRecord } from '@cleave/control';
import { formatStatus, type CliMigrationStatus } from './status-command.js';

function stream(extra: Partial<CaptureStreamRecord>): CaptureStreamRecord {
  return {
    migrationId: 'm1',
    stream: 'forward',
    server: 'source',
    epoch: 2,
    checkpoint: { file: 'binlog.000007', position: 4_096, gtid: null },
    state: 'active',
    error: null,
    owner: 'worker-1',
    token: 3,
    leaseUntil: new Date(Date.now() + 10_000),
    changesApplied: 12_345,
    lastEventAt: new Date(),
    lagMs: 21,
    behindBytes: 3_277,
    checkpointedAt: new Date(),
    updatedAt: new Date(),
    ...extra,
  };
}

function status(capture: CaptureStreamRecord[]): CliMigrationStatus {
  return {
    migration: { name: 'split-mail', id: 'm1', phase: 'dual_write', epoch: 2, cancelledAt: null, plan: { source: { server: 'source', database: 'accounts' }, targets: {} } },
    backfill: { tables: [], rowsCopied: 0, complete: true },
    throttling: [],
    verification: [],
    events: [],
    capture,
    routers: [],
    shadowReads: { routers: [], compared: 0, mismatched: 0, errors: 0, byEpoch: [], recentMismatches: [] },
    queues: { backfill: {}, verify: {} },
    workersAlive: 1,
  } as unknown as CliMigrationStatus;
}

const captureLines = (text: string) => text.split('\n\n').find((block) => block.startsWith('binlog capture:'))!.split('\n').slice(1);

describe('cleave status, binlog capture', () => {
  it('shows each stream\'s lag in time and in binlog bytes behind its checkpoint', () => {
    const [line] = captureLines(formatStatus(status([stream({})])));
    expect(line).toMatch(/^ {2}forward {12}active {3}reads source at binlog\.000007:4096 {2}lag 21 ms, 3\.2 KiB behind {2}12,345 keys applied {2}checkpointed \d+ ms ago {2}run by worker-1$/);
  });

  it('leaves the bytes out when the stream has not measured them', () => {
    const [line] = captureLines(formatStatus(status([stream({ lagMs: null, behindBytes: null, owner: null })])));
    expect(line).toContain('lag -  12,345 keys applied');
    expect(line).toContain('NO WORKER RUNNING IT');
  });
});
