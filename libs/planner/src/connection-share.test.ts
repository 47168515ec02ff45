import { describe, expect, it } from 'vitest';
import type { Catalog, CatalogColumn, CatalogTable } from '@cleave/mysql';
import { parseGeneralLog } from './general-log-parser.js';
import { buildTableGraph } from './table-graph.js';
import { predictLoad } from './load-predictor.js';

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
const catalog: Catalog = { database: 'app', server: { flavor: 'mariadb', version: '10.11.14', versionString: '10.11.14-MariaDB' }, tables: [table('sessions'), table('users')] };

describe('connection share (general log)', () => {
  it('predicts the share of connections each server would receive', () => {
    // Connections 1-3 only touch sessions (a login storm), 4 touches users, 5 touches both.
    const lines = ['251125 10:00:00\t    1 Connect\tapp@h on app using TCP/IP'];
    for (const id of [1, 2, 3]) lines.push(`\t\t    ${id} Connect\tapp@h on app using TCP/IP`, `\t\t    ${id} Query\tSELECT user_id FROM sessions WHERE id = ${id}`);
    lines.push('\t\t    4 Connect\tapp@h on app using TCP/IP', '\t\t    4 Query\tSELECT id FROM users WHERE id = 4');
    lines.push('\t\t    5 Connect\tapp@h on app using TCP/IP', '\t\t    5 Query\tSELECT id FROM users WHERE id = 5', '\t\t    5 Query\tDELETE FROM sessions WHERE user_id = 5');
    const workload = parseGeneralLog(lines.join('\n'));
    const graph = buildTableGraph(catalog, workload);
    const source = { server: 'source', database: 'app' };
    const target = { server: 'target1', database: 'app' };
    const prediction = predictLoad(graph, { source, tables: new Map([['sessions', [{ endpoint: target, fraction: 1 }]]]) });
    const share = (server: string) => prediction.endpoints.find((e) => e.endpoint.server === server)!.connectionShare;
    expect(share('target1')).toBeCloseTo(4 / 5); // 1, 2, 3 and 5
    expect(share('source')).toBeCloseTo(2 / 5); // 4 and 5
  });

  it('is unknown for workloads without connections', () => {
    const graph = buildTableGraph(catalog, { origin: 'performance_schema', statements: [], transactions: [], timed: true, warnings: [] });
    const prediction = predictLoad(graph, { source: { server: 'source', database: 'app' }, tables: new Map() });
    expect(prediction.endpoints[0]!.connectionShare).toBeNull();
  });
});
