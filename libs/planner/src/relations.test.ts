import { describe, expect, it } from 'vitest';
import type { Catalog, CatalogColumn, CatalogTable } from '@cleave/mysql';
import type { Workload } from './workload.js';
import { isSequenceTable, relationKind } from './relations.js';
import { buildTableGraph } from './table-graph.js';
import { planSplit } from './split-planner.js';
import { workloadSufficiency } from './workload-sufficiency.js';

const column = (name: string, ordinal: number): CatalogColumn => ({
  name, ordinal, columnType: 'bigint', dataType: 'bigint', nullable: false, default: null, onUpdate: null, charset: null, collation: null,
  autoIncrement: name === 'id', generated: null, invisible: false, isJson: false,
});
const table = (name: string): CatalogTable => ({
  schema: 'app', name, engine: 'InnoDB', collation: null, rowEstimate: 100, dataBytes: 1000, indexBytes: 0, autoIncrement: null, systemVersioned: false,
  columns: [column('id', 1), column('user_id', 2)], primaryKey: ['id'], uniqueKeys: [],
  indexes: [{ name: 'PRIMARY', unique: true, type: 'BTREE', parts: [{ column: 'id', subPart: null }], columns: ['id'] }],
  foreignKeys: [], triggers: [], checkConstraints: [],
});
const catalog: Catalog = { database: 'app', server: { flavor: 'mariadb', version: '10.11.14', versionString: '10.11.14-MariaDB' }, tables: [table('sessions'), table('users'), table('invoices')] };

const statement = (digest: string, text: string, executions: number) => ({ digest, text, schema: 'app', executions, totalTimeMs: executions, rowsExamined: 0, rowsAffected: 0, rowsSent: 0 });
const workload = (executions: number): Workload => ({
  origin: 'performance_schema',
  timed: true,
  warnings: [],
  transactions: [],
  statements: [
    statement('d1', 'INSERT INTO users (id, user_id) SELECT seq, seq FROM seq_1_to_1000', 1),
    statement('d2', 'SELECT s.id FROM sessions s JOIN seq_0_to_9_step_3 q ON q.seq = s.id', 2),
    statement('d3', 'SELECT id FROM sessions WHERE user_id = ?', executions),
    statement('d4', 'SELECT u.id FROM users u JOIN active_users a ON a.id = u.id', 3),
    statement('d5', 'SELECT * FROM gone_table WHERE id = ?', 4),
  ],
});

describe('relations a split places', () => {
  it('recognises MariaDB sequence engine tables, bare or qualified', () => {
    expect(['seq_1_to_100', 'SEQ_0_TO_9_STEP_3', 'app.seq_1_to_5'].map(isSequenceTable)).toEqual([true, true, true]);
    expect(['seq', 'seq_1_to', 'sequence_1_to_2', 'seq_a_to_b'].map(isSequenceTable)).toEqual([false, false, false, false]);
    const tables = new Set(['users', 'seq_1_to_2']);
    expect(relationKind('seq_1_to_2', tables, new Set())).toBe('table'); // a real table of that name wins
    expect(relationKind('seq_1_to_3', tables, new Set())).toBe('sequence');
    expect(relationKind('active_users', tables, new Set(['active_users']))).toBe('view');
    expect(relationKind('other.users', tables, new Set())).toBe('other-database');
    expect(relationKind('gone_table', tables, new Set())).toBe('missing');
  });

  it('leaves sequence tables and missing names out of the graph; views stay as relations on the source', () => {
    const graph = buildTableGraph(catalog, workload(10), { views: ['active_users'] });
    const names = graph.tables.map((t) => t.name);
    expect(names.filter((n) => n.startsWith('seq_') || n === 'gone_table')).toEqual([]);
    expect(names).toContain('active_users');
    expect(graph.statements.find((s) => s.digest === 'd2')!.analysis.tables).toEqual(['sessions']);
    expect(graph.statements.find((s) => s.digest === 'd2')!.analysis.joins).toEqual([]);
    expect([...graph.missingTables]).toEqual([['gone_table', 4]]);
  });

  it('sizes the sample: executions and statements on tables, idle tables, thin under the minimum', () => {
    const s = workloadSufficiency(buildTableGraph(catalog, workload(10), { views: ['active_users'] }));
    expect(s).toEqual({ executions: 1 + 2 + 10 + 3, statements: 4, idleTables: ['invoices'], tables: 3, minExecutions: 1000, thin: true });
    expect(workloadSufficiency(buildTableGraph(catalog, workload(994), { views: ['active_users'] })).thin).toBe(false);
  });

  it('planSplit refuses a thin computed split when asked to, warns otherwise, and says when every table leaves', async () => {
    const base = { name: 'p', source: { server: 'source', database: 'app' }, catalog, targets: [{ name: 't1', server: 'target1', database: 'app' }], views: ['active_users'] };
    await expect(planSplit({ ...base, workload: workload(10), thinWorkload: 'refuse' })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
      message: 'the workload is too thin to plan a split: 16 executions of 4 statements on tables of app (at least 1,000 needed); 1 of 3 tables had none',
    });
    const warned = await planSplit({ ...base, workload: workload(10) });
    expect(warned.warnings).toContain('thin workload: 16 executions of 4 statements on tables of app, fewer than 1,000: the split rests on a small sample');
    expect(warned.warnings).toContain('1 of 3 tables had no statement in the workload (placed by foreign keys and size only): invoices');
    expect(JSON.stringify(warned)).not.toMatch(/seq_\d/);
    const all = await planSplit({ ...base, workload: null, moves: [{ tables: ['sessions', 'users', 'invoices'], to: 't1' }] });
    expect(all.warnings[0]).toBe('every table of app leaves the source: the source keeps none (3 tables move)');
  });
});
