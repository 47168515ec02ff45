import { describe, expect, it } from 'vitest';
import type { CatalogColumn, CatalogTable } from '../catalog/catalog.js';
import { keyRangeWhere, keysWhere } from './key-range.js';
import { tableShape } from './table-shape.js';

function column(name: string, ordinal: number, dataType: string, extra: Partial<CatalogColumn> = {}): CatalogColumn {
  return {
    name, ordinal, dataType, columnType: dataType, nullable: false, default: null, onUpdate: null,
    charset: ['varchar', 'char', 'text', 'enum'].includes(dataType) ? 'utf8mb4' : null,
    collation: null, autoIncrement: false, generated: null, invisible: false, isJson: false, ...extra,
  };
}

function table(overrides: Partial<CatalogTable>): CatalogTable {
  return {
    schema: 'accounts', name: 't', engine: 'InnoDB', collation: null, rowEstimate: 0, dataBytes: 0, indexBytes: 0,
    autoIncrement: null, systemVersioned: false, columns: [], primaryKey: null, uniqueKeys: [], indexes: [],
    foreignKeys: [], triggers: [], checkConstraints: [], ...overrides,
  };
}

describe('tableShape', () => {
  it('tells columns whose values may be long (over 4 KiB) from those that cannot', () => {
    const columns: Array<[string, Partial<CatalogColumn>, boolean]> = [
      ['bigint', { columnType: 'bigint(20) unsigned' }, false],
      ['varchar', { columnType: 'varchar(255)' }, false],
      ['varchar', { columnType: 'varchar(1024)' }, false],
      ['varchar', { columnType: 'varchar(1025)' }, true],
      ['char', { columnType: 'char(36)' }, false],
      ['binary', { columnType: 'binary(60)' }, false],
      ['varbinary', { columnType: 'varbinary(16384)' }, true],
      ['enum', { columnType: "enum('a','b')" }, false],
      ['tinytext', {}, false],
      ['bit', { columnType: 'bit(64)' }, false],
      ['datetime', { columnType: 'datetime(6)' }, false],
      ['text', {}, true],
      ['longtext', { charset: 'utf8mb4' }, true],
      ['blob', {}, true],
      ['json', {}, true],
      ['geometry', {}, true],
    ];
    const shape = tableShape(
      table({ columns: [column('id', 1, 'int'), ...columns.map(([type, extra], i) => column(`c${i}`, i + 2, type, extra))], primaryKey: ['id'] }),
      'accounts',
    );
    expect(shape.shapeColumns.slice(1).map((c) => c.longValues)).toEqual(columns.map(([, , long]) => long));
  });

  it('refuses a table without a usable key, naming the table and the fix', () => {
    const keyless = table({
      name: 'audit_log',
      columns: [column('email', 1, 'varchar', { nullable: true })],
      uniqueKeys: [{ name: 'uk_email', columns: ['email'], allNotNull: false }],
    });
    expect(() => tableShape(keyless, 'accounts')).toThrow(
      'Table accounts.audit_log has no usable key (unique key uk_email allows NULL): cleave needs a PRIMARY KEY or a UNIQUE key ' +
        'whose columns are all NOT NULL to chunk, copy, verify and dual-write its rows. ' +
        "Add a primary key (ALTER TABLE accounts.audit_log ADD PRIMARY KEY (...)) or make a unique key's columns NOT NULL, then plan again.",
    );
    try {
      tableShape(keyless, 'accounts');
    } catch (error) {
      expect((error as { code: string }).code).toBe('NO_USABLE_KEY');
    }
  });

  it('uses a NOT NULL unique key, leaves generated columns out and picks codecs', () => {
    const shape = tableShape(
      table({
        columns: [
          column('f', 2, 'float'),
          column('code', 1, 'varchar'),
          column('g', 3, 'int', { generated: { kind: 'stored', expression: '1' } }),
          column('b', 4, 'varbinary'),
        ],
        uniqueKeys: [{ name: 'uk_code', columns: ['code'], allNotNull: true }],
      }),
      'accounts',
    );
    expect(shape.keyColumns).toEqual(['code']);
    expect(shape.keyIndex).toBe('uk_code');
    expect(shape.columns).toEqual(['code', 'f', 'b']);
    expect(shape.shapeColumns.map((c) => [c.codec, c.readExpression])).toEqual([
      ['text', 'CAST(`code` AS BINARY)'],
      ['float', 'CAST(`f` AS DOUBLE)'],
      ['binary', '`b`'],
    ]);
  });

  it('expands composite bounds for a range scan, lower exclusive and upper inclusive', () => {
    const shape = tableShape(
      table({ columns: [column('a', 1, 'bigint'), column('b', 2, 'varchar')], primaryKey: ['a', 'b'] }),
      'accounts',
    );
    const where = keyRangeWhere(shape, { lower: ['18446744073709551615', Buffer.from('x')], upper: ['20', 'y'] }, { column: 'a', from: '5', to: null });
    expect(where.sql).toBe(
      "(`a` >= 18446744073709551615 AND (`a` > 18446744073709551615 OR (`a` = 18446744073709551615 AND (`b` > _utf8mb4 X'78')))) AND " +
        "(`a` <= 20 AND (`a` < 20 OR (`a` = 20 AND (`b` <= _utf8mb4 X'79')))) AND `a` >= 5",
    );
    expect(keyRangeWhere(shape, { lower: null, upper: null }).sql).toBe('1');
    expect(keysWhere(shape, [['1', 'q']])).toBe("(`a` = 1 AND `b` = _utf8mb4 X'71')");
    expect(() => keyRangeWhere(shape, { lower: ['1'], upper: null })).toThrow(/has 1 part\(s\); the key \(a, b\) has 2/);
    expect(() => keysWhere(shape, [['1; DROP TABLE t', 'x']])).toThrow(/not a valid integer value for column a/);
  });
});
