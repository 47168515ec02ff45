import { describe, expect, it } from 'vitest';
import { decodeLoadDataLine, isLoadDataRefused, joinLoadDataLines, loadDataStatement } from './load-data.js';
import type { ShapeColumn } from './table-shape.js';

const column = (name: string, codec: ShapeColumn['codec']): ShapeColumn => ({ name, quoted: `\`${name}\``, codec, charset: codec === 'text' ? 'utf8mb4' : null, readExpression: `\`${name}\`` });

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
    expect(decodeLoadDataLine(line, 6)).toEqual([
      Buffer.from('42'),
      Buffer.from('a\tb\nc\\d\0e', 'latin1'),
      null,
      Buffer.from('\\N'),
      Buffer.from([0xff, 0x01, 0x41]),
      Buffer.alloc(0),
    ]);
  });

  it('refuses a line whose field count or escapes do not match (a line is never guessed at)', () => {
    expect(() => decodeLoadDataLine(Buffer.from('1\t2'), 3)).toThrow(/2 fields for 3 columns/);
    expect(() => decodeLoadDataLine(Buffer.from('a\\q'), 1)).toThrow(/stray backslash/);
    expect(() => decodeLoadDataLine(Buffer.from('a\\'), 1)).toThrow(/stray backslash/);
  });

  it('joins the lines of rows, each ended by a newline', () => {
    const rows = [[Buffer.from('k1'), Buffer.from('1\tx')], [Buffer.from('k2'), Buffer.from('2\t\\N')]];
    expect(joinLoadDataLines(rows, 1).toString()).toBe('1\tx\n2\t\\N\n');
    expect(joinLoadDataLines([], 1)).toHaveLength(0);
  });

  it('names every column, converting the ones the server must receive as text', () => {
    const sql = loadDataStatement({ database: 'app', table: 'users' }, [column('id', 'integer'), column('doc', 'json'), column('name', 'text'), column('u', 'other')]);
    expect(sql).toContain("INTO TABLE `app`.`users` CHARACTER SET binary FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\' LINES STARTING BY '' TERMINATED BY '\\n'");
    expect(sql).toContain('(`id`, @cleave_v1, `name`, @cleave_v3) SET `doc` = CONVERT(@cleave_v1 USING utf8mb4), `u` = CONVERT(@cleave_v3 USING utf8mb4)');
  });

  it('recognises the servers\' refusals of LOCAL INFILE, and nothing else', () => {
    for (const errno of [1148, 3948, 3950, 4166]) expect(isLoadDataRefused(Object.assign(new Error('x'), { errno }))).toBe(true);
    for (const errno of [1062, 1213, undefined]) expect(isLoadDataRefused(Object.assign(new Error('x'), { errno }))).toBe(false);
  });
});
