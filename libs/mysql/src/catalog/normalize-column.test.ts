import { describe, expect, it } from 'vitest';
import {
  jsonValidColumn,
  normalizeColumn,
  normalizeColumnDefault,
  normalizeCurrentTimestamp,
  parseGenerated,
  parseOnUpdate,
  unquoteMariadbString,
} from './normalize-column.js';

describe('normalizeColumnDefault: MariaDB 10.11 (COLUMN_DEFAULT is an SQL expression)', () => {
  const mariadb = (raw: string | null, dataType = 'varchar', extra = '') =>
    normalizeColumnDefault(raw, { flavor: 'mariadb', dataType, extra });

  it.each([
    [null, null],
    ['NULL', null],
    ["'pending'", { kind: 'literal', value: 'pending' }],
    ["'NULL'", { kind: 'literal', value: 'NULL' }],
    ["''", { kind: 'literal', value: '' }],
    ["'it''s'", { kind: 'literal', value: "it's" }],
    ["'a\\\\b'", { kind: 'literal', value: 'a\\b' }],
    ["'x\\ny\tz\\0w'", { kind: 'literal', value: 'x\ny\tz\0w' }],
    ["'0000-00-00 00:00:00'", { kind: 'literal', value: '0000-00-00 00:00:00' }],
    ["'x,y'", { kind: 'literal', value: 'x,y' }],
    ['0', { kind: 'literal', value: '0' }],
    ['-1', { kind: 'literal', value: '-1' }],
    ['0.00', { kind: 'literal', value: '0.00' }],
    ['1073741824', { kind: 'literal', value: '1073741824' }],
    ['1e10', { kind: 'literal', value: '1e10' }],
    ['current_timestamp()', { kind: 'expression', expression: 'CURRENT_TIMESTAMP' }],
    ['current_timestamp(6)', { kind: 'expression', expression: 'CURRENT_TIMESTAMP(6)' }],
    ['uuid()', { kind: 'expression', expression: 'uuid()' }],
    ["b'11'", { kind: 'expression', expression: "b'11'" }],
  ])('%j', (raw, expected) => {
    expect(mariadb(raw)).toEqual(expected);
  });
});

describe('normalizeColumnDefault: MySQL 8 (COLUMN_DEFAULT is the raw value)', () => {
  const mysql = (raw: string | null, dataType = 'varchar', extra = '') =>
    normalizeColumnDefault(raw, { flavor: 'mysql', dataType, extra });

  it('reads string defaults unquoted, as they are', () => {
    expect(mysql('pending', 'enum')).toEqual({ kind: 'literal', value: 'pending' });
    expect(mysql("it's")).toEqual({ kind: 'literal', value: "it's" });
    expect(mysql("'quoted'")).toEqual({ kind: 'literal', value: "'quoted'" });
    // A string column whose default is the text NULL is not DEFAULT NULL on MySQL.
    expect(mysql('NULL')).toEqual({ kind: 'literal', value: 'NULL' });
    expect(mysql('')).toEqual({ kind: 'literal', value: '' });
    expect(mysql('0.00', 'decimal')).toEqual({ kind: 'literal', value: '0.00' });
  });

  it('SQL NULL is no default', () => {
    expect(mysql(null, 'int')).toBeNull();
  });

  it('DEFAULT_GENERATED marks expressions', () => {
    expect(mysql('CURRENT_TIMESTAMP(6)', 'timestamp', 'DEFAULT_GENERATED on update CURRENT_TIMESTAMP(6)')).toEqual({
      kind: 'expression',
      expression: 'CURRENT_TIMESTAMP(6)',
    });
    expect(mysql('CURRENT_TIMESTAMP', 'datetime', 'DEFAULT_GENERATED')).toEqual({
      kind: 'expression',
      expression: 'CURRENT_TIMESTAMP',
    });
    expect(mysql('uuid()', 'char', 'DEFAULT_GENERATED')).toEqual({ kind: 'expression', expression: 'uuid()' });
  });

  it('CURRENT_TIMESTAMP without DEFAULT_GENERATED (older 8.0) is still an expression on temporal types only', () => {
    expect(mysql('CURRENT_TIMESTAMP', 'timestamp', 'on update CURRENT_TIMESTAMP')).toEqual({
      kind: 'expression',
      expression: 'CURRENT_TIMESTAMP',
    });
    expect(mysql('CURRENT_TIMESTAMP', 'varchar')).toEqual({ kind: 'literal', value: 'CURRENT_TIMESTAMP' });
  });

  it('bit and binary literals are expressions', () => {
    expect(mysql("b'11'", 'bit')).toEqual({ kind: 'expression', expression: "b'11'" });
    expect(mysql('0x616200', 'binary')).toEqual({ kind: 'expression', expression: '0x616200' });
  });
});

describe('helpers', () => {
  it('normalizeCurrentTimestamp', () => {
    expect(normalizeCurrentTimestamp('current_timestamp()')).toBe('CURRENT_TIMESTAMP');
    expect(normalizeCurrentTimestamp('CURRENT_TIMESTAMP')).toBe('CURRENT_TIMESTAMP');
    expect(normalizeCurrentTimestamp('current_timestamp(3)')).toBe('CURRENT_TIMESTAMP(3)');
    expect(normalizeCurrentTimestamp('now()')).toBe('CURRENT_TIMESTAMP');
    expect(normalizeCurrentTimestamp('uuid()')).toBe('uuid()');
  });

  it('unquoteMariadbString', () => {
    expect(unquoteMariadbString("'a''b\\\\c\\rd\\Ze\\%'")).toBe("a'b\\c\rd\x1ae\\%");
  });

  it('parseOnUpdate: MariaDB and MySQL spellings agree', () => {
    expect(parseOnUpdate('on update current_timestamp(6)')).toBe('CURRENT_TIMESTAMP(6)');
    expect(parseOnUpdate('DEFAULT_GENERATED on update CURRENT_TIMESTAMP(6)')).toBe('CURRENT_TIMESTAMP(6)');
    expect(parseOnUpdate('on update current_timestamp()')).toBe('CURRENT_TIMESTAMP');
    expect(parseOnUpdate('auto_increment')).toBeNull();
  });

  it('parseGenerated', () => {
    expect(parseGenerated('VIRTUAL GENERATED', '`id` * 2')).toEqual({ kind: 'virtual', expression: '`id` * 2' });
    expect(parseGenerated('STORED GENERATED', '(`a` + `b`)')).toEqual({ kind: 'stored', expression: '(`a` + `b`)' });
    expect(parseGenerated('PERSISTENT GENERATED', '`a`')).toEqual({ kind: 'stored', expression: '`a`' });
    expect(parseGenerated('', '')).toBeNull();
    expect(parseGenerated('DEFAULT_GENERATED', null)).toBeNull();
  });

  it('jsonValidColumn', () => {
    expect(jsonValidColumn('json_valid(`settings`)')).toBe('settings');
    expect(jsonValidColumn('(json_valid(`a``b`))')).toBe('a`b');
    expect(jsonValidColumn('json_valid(`a`) and `a` is not null')).toBeUndefined();
    expect(jsonValidColumn('`c` > 0')).toBeUndefined();
  });
});

describe('normalizeColumn', () => {
  it('MySQL 8 row with upper-case labels, numbers and a Buffer', () => {
    expect(
      normalizeColumn(
        {
          TABLE_NAME: 'users',
          COLUMN_NAME: 'updated_at',
          ORDINAL_POSITION: 10,
          COLUMN_DEFAULT: 'CURRENT_TIMESTAMP(6)',
          IS_NULLABLE: 'NO',
          DATA_TYPE: 'timestamp',
          COLUMN_TYPE: Buffer.from('timestamp(6)'),
          CHARACTER_SET_NAME: null,
          COLLATION_NAME: null,
          EXTRA: 'DEFAULT_GENERATED on update CURRENT_TIMESTAMP(6)',
          GENERATION_EXPRESSION: '',
        },
        'mysql',
      ),
    ).toEqual({
      name: 'updated_at',
      ordinal: 10,
      columnType: 'timestamp(6)',
      dataType: 'timestamp',
      nullable: false,
      default: { kind: 'expression', expression: 'CURRENT_TIMESTAMP(6)' },
      onUpdate: 'CURRENT_TIMESTAMP(6)',
      charset: null,
      collation: null,
      autoIncrement: false,
      generated: null,
      invisible: false,
      isJson: false,
    });
  });

  it('MariaDB JSON column (longtext + json_valid check)', () => {
    const row = {
      table_name: 'users',
      column_name: 'settings',
      ordinal_position: '8',
      column_default: 'NULL',
      is_nullable: 'YES',
      data_type: 'longtext',
      column_type: 'longtext',
      character_set_name: 'utf8mb4',
      collation_name: 'utf8mb4_bin',
      extra: '',
      generation_expression: null,
    };
    const column = normalizeColumn(row, 'mariadb', new Set(['settings']));
    expect(column.isJson).toBe(true);
    expect(column.default).toBeNull();
    expect(column.ordinal).toBe(8);
    expect(normalizeColumn(row, 'mariadb').isJson).toBe(false);
  });

  it('generated columns have no default', () => {
    const column = normalizeColumn(
      {
        column_name: 'g',
        ordinal_position: 3,
        column_default: null,
        is_nullable: 'YES',
        data_type: 'int',
        column_type: 'int(11)',
        extra: 'STORED GENERATED',
        generation_expression: '`id` + 1',
      },
      'mariadb',
    );
    expect(column.generated).toEqual({ kind: 'stored', expression: '`id` + 1' });
    expect(column.default).toBeNull();
  });

  it('MariaDB INVISIBLE and auto_increment', () => {
    const base = { column_name: 'c', ordinal_position: 1, is_nullable: 'NO', data_type: 'bigint', column_type: 'bigint(20) unsigned' };
    expect(normalizeColumn({ ...base, extra: 'auto_increment' }, 'mariadb').autoIncrement).toBe(true);
    expect(normalizeColumn({ ...base, extra: 'INVISIBLE' }, 'mariadb').invisible).toBe(true);
  });
});
