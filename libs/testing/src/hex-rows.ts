/**
 * An independent view of a table for comparisons in tests: every column as HEX(), rows ordered
 * by the given key. It shares no code with cleave's copier or verifier.
 */
export async function hexRows(
  conn: { query(sql: string): Promise<[unknown, unknown]> },
  database: string,
  table: string,
  orderBy: string,
  where = '1=1',
): Promise<string[]> {
  const [cols] = await conn.query(
    `SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '${database.replaceAll("'", "''")}' AND TABLE_NAME = '${table.replaceAll("'", "''")}' ORDER BY ORDINAL_POSITION`,
  );
  const names = (cols as Array<{ COLUMN_NAME: string }>).map((c) => `\`${c.COLUMN_NAME.replaceAll('`', '``')}\``);
  if (names.length === 0) throw new Error(`hexRows: ${database}.${table} does not exist`);
  const select = names.map((n) => `IFNULL(HEX(${n}), 'NULL')`).join(", '|', ");
  const [rows] = await conn.query(`SELECT CONCAT(${select}) AS r FROM \`${database}\`.\`${table}\` WHERE ${where} ORDER BY ${orderBy}`);
  return (rows as Array<{ r: string }>).map((r) => r.r);
}
