import { describe, expect, it } from 'vitest';
import { parsePlan } from '@cleave/core';
import { RoutingTable, type RoutedMigration } from './routing-table.js';

const migration = (id: string, tables: string[]): RoutedMigration => ({
  id,
  name: `m-${id}`,
  plan: parsePlan({ version: 1, name: `m-${id}`, source: { server: 'source', database: 'accounts' }, targets: { t: { server: 'target1', database: 'accounts' } }, moves: [{ kind: 'tables', tables, to: 't' }] }),
  phase: 'dual_write',
  epoch: 2,
});

describe('RoutingTable', () => {
  it('follows the newest migration of a table two cover, and names the overlap', () => {
    const table = new RoutingTable([migration('a', ['sessions', 'users']), migration('b', ['sessions'])]);
    expect(table.lookup({ table: 'sessions', schema: undefined }, 'accounts')?.migration.id).toBe('b');
    expect(table.lookup({ table: 'users', schema: undefined }, 'accounts')?.migration.id).toBe('a');
    expect(table.overlaps).toEqual([{ table: 'accounts.sessions', followed: 'm-b', ignored: 'm-a' }]);
    expect(new RoutingTable([migration('a', ['users']), migration('b', ['sessions'])]).overlaps).toEqual([]);
  });
});
