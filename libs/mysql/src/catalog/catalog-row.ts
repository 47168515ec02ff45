/**
 * One row of an information_schema query as the driver returns it. Column labels may be upper
 * case (MySQL 8 reports information_schema columns in upper case unless aliased) or lower case
 * (MariaDB keeps the case of the query); values may be strings, numbers, bigint strings, Buffers
 * (binary-collated columns) or null.
 */
export type CatalogRow = Readonly<Record<string, unknown>>;

/** The value of `name` in `row`, whatever the case of the row's labels. */
export function rowValue(row: CatalogRow, name: string): unknown {
  if (Object.hasOwn(row, name)) return row[name];
  const upper = name.toUpperCase();
  if (Object.hasOwn(row, upper)) return row[upper];
  const lower = name.toLowerCase();
  for (const key of Object.keys(row)) {
    if (key.toLowerCase() === lower) return row[key];
  }
  return undefined;
}

/** `row[name]` as text, or `null` (Buffers are decoded as UTF-8). */
export function rowText(row: CatalogRow, name: string): string | null {
  const value = rowValue(row, name);
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  throw new TypeError(`information_schema column ${name} has an unexpected ${typeof value} value`);
}

/** `row[name]` as text; throws when it is null (a column that is never null on a real server). */
export function rowRequiredText(row: CatalogRow, name: string): string {
  const text = rowText(row, name);
  if (text === null) throw new TypeError(`information_schema column ${name} is unexpectedly null`);
  return text;
}

/** `row[name]` as a number, or `null`. */
export function rowNumber(row: CatalogRow, name: string): number | null {
  const text = rowText(row, name);
  if (text === null || text === '') return null;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new TypeError(`information_schema column ${name} is not a number`);
  return value;
}
