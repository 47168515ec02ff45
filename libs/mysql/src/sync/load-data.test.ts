import { describe, expect, it } from 'vitest';
import { decodeLoadDataLine, isLoadDataRefused, joinLoadDataLines, lineEncoding, loadDataLineExpression, loadDataStatement } from './load-data.js';
import type { ShapeColumn } from './table-shape.js';

const column = (name: string, codec: ShapeColumn['codec'], longValues = false): ShapeColumn => ({
  name,
  quoted: `\`${name}\``,
  codec,
  charset: codec === 'text' ? 'utf8mb4' : null,
  readExpression: `\`${name}\``,
  longValues,
});
const text = (name: string) => column(name, 'text');

describe('LOAD DATA lines', () => {
  it('decodes escaped separators, backslashes, NUL bytes and NULL, and tells \\N from the text "\\N"', () => {
    const line = Buffer.concat([
      Buffer.from('42\t'),
      Buffer.from('a\\tb\\nc\\\\d\\0e\t', 'latin1'),
      Buffer.from('\\N\t'),
      Buffer.from('\\\\N\t'),
      Buffer.from([0xff, 0x01, 0x41]),
      Buffer.from('\t'),
    ]);
    expect(decodeLoadDataLine(line, [column('id', 'integer'), text('a'), text('b'), text('c'), column('d', 'binary'), text('e')])).toEqual([
      Buffer.from('42'),
      Buffer.from('a\tb\nc\\d\0e', 'latin1'),
      null,
      Buffer.from('\\N'),
      Buffer.from([0xff, 0x01, 0x41]),
      Buffer.alloc(0),
    ]);
  });

  it('decodes the hex fields of long columns (empty and NULL included)', () => {
    const blob = column('b', 'binary', true);
    expect(decodeLoadDataLine(Buffer.from('7\t00095C0AFF\t\t\\N'), [column('id', 'integer'), blob, blob, blob])).toEqual([
      Buffer.from('7'),
      Buffer.from([0x00, 0x09, 0x5c, 0x0a, 0xff]),
      Buffer.alloc(0),
      null,
    ]);
    expect(() => decodeLoadDataLine(Buffer.from('7\tABC'), [column('id', 'integer'), blob])).toThrow(/malformed hex field for column b/);
  });

  it('refuses a line whose field count or escapes do not match (a line is never guessed at)', () => {
    expect(() => decodeLoadDataLine(Buffer.from('1\t2'), [text('a'), text('b'), text('c')])).toThrow(/2 fields for 3 columns/);
    expect(() => decodeLoadDataLine(Buffer.from('a\\q'), [text('a')])).toThrow(/stray backslash/);
    expect(() => decodeLoadDataLine(Buffer.from('a\\'), [text('a')])).toThrow(/stray backslash/);
  });

  it('joins the lines of rows, each ended by a newline', () => {
    const rows = [[Buffer.from('k1'), Buffer.from('1\tx')], [Buffer.from('k2'), Buffer.from('2\t\\N')]];
    expect(joinLoadDataLines(rows, 1).toString()).toBe('1\tx\n2\t\\N\n');
    expect(joinLoadDataLines([], 1)).toHaveLength(0);
  });

  it('escapes short values in place and sends long ones as hex (MariaDB REPLACE is quadratic in the matches)', () => {
    expect([column('n', 'decimal'), column('t', 'temporal'), text('name'), column('h', 'binary'), column('doc', 'text', true), column('g', 'binary', true)].map(lineEncoding)).toEqual([
      'plain',
      'plain',
      'escaped',
      'escaped',
      'hex',
      'hex',
    ]);
    const expression = loadDataLineExpression([column('id', 'integer'), text('name'), column('doc', 'text', true)]);
    expect(expression).toMatch(/^CONCAT_WS\(X'09', IFNULL\(`id`, X'5C4E'\), IFNULL\(REPLACE\(/);
    expect(expression).toContain("IFNULL(HEX(CAST(`doc` AS BINARY)), X'5C4E')");
  });

  it('names every column, converting the ones the server must receive as text and unhexing the long ones', () => {
    const sql = loadDataStatement({ database: 'app', table: 'users' }, [column('id', 'integer'), column('doc', 'json'), text('name'), column('u', 'other'), column('b', 'binary', true), column('j', 'json', true)]);
    expect(sql).toContain("INTO TABLE `app`.`users` CHARACTER SET binary FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\' LINES STARTING BY '' TERMINATED BY '\\n'");
    expect(sql).toContain(
      '(`id`, @cleave_v1, `name`, @cleave_v3, @cleave_v4, @cleave_v5) SET `doc` = CONVERT(@cleave_v1 USING utf8mb4), `u` = CONVERT(@cleave_v3 USING utf8mb4), `b` = UNHEX(@cleave_v4), `j` = CONVERT(UNHEX(@cleave_v5) USING utf8mb4)',
    );
  });

  it("recognises the servers' refusals of LOCAL INFILE, and nothing else", () => {
    for (const errno of [1148, 3948, 3950, 4166]) expect(isLoadDataRefused(Object.assign(new Error('x'), { errno }))).toBe(true);
    for (const errno of [1062, 1213, undefined]) expect(isLoadDataRefused(Object.assign(new Error('x'), { errno }))).toBe(false);
  });
});
