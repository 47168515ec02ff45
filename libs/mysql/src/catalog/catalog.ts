/** Which server family a catalog was read from. */
export const SERVER_FLAVORS = ['mariadb', 'mysql'] as const;

/** One of {@link SERVER_FLAVORS}. */
export type ServerFlavor = (typeof SERVER_FLAVORS)[number];

/** The server a catalog was read from. */
export interface ServerInfo {
  readonly flavor: ServerFlavor;
  /** `major.minor.patch`, e.g. `10.11.19` or `8.0.36`. */
  readonly version: string;
  /** What `SELECT VERSION()` returned, e.g. `10.11.19-MariaDB-0+deb12u1`. */
  readonly versionString: string;
}

/**
 * A column default, the same on MySQL 8 and MariaDB (MariaDB quotes string defaults in
 * information_schema and MySQL does not; both are normalised to the unquoted value).
 *
 * - `literal`: a constant, as text (`'pending'` -> `pending`, `0.00`, `1073741824`);
 * - `expression`: evaluated on insert (`CURRENT_TIMESTAMP(6)`, `uuid()`, `b'11'`).
 *
 * `null` in {@link CatalogColumn.default} means no default or `DEFAULT NULL` (information_schema
 * cannot tell these apart on MySQL).
 */
export type ColumnDefault =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'expression'; readonly expression: string };

/** A generated column's kind and expression. */
export interface GeneratedColumn {
  readonly kind: 'virtual' | 'stored';
  /** The expression as the server reports it (e.g. `` `price` * `qty` ``). */
  readonly expression: string;
}

/** One column of a table. */
export interface CatalogColumn {
  readonly name: string;
  /** 1-based position. */
  readonly ordinal: number;
  /** The full type, e.g. `bigint(20) unsigned`, `enum('a','b')`, `varchar(255)`. */
  readonly columnType: string;
  /** The bare type, lower case, e.g. `bigint`, `longtext`, `json`. */
  readonly dataType: string;
  readonly nullable: boolean;
  readonly default: ColumnDefault | null;
  /** `ON UPDATE` expression, normalised (`CURRENT_TIMESTAMP(6)`), or `null`. */
  readonly onUpdate: string | null;
  readonly charset: string | null;
  readonly collation: string | null;
  readonly autoIncrement: boolean;
  /** `null` unless the column is generated (such columns are never written). */
  readonly generated: GeneratedColumn | null;
  readonly invisible: boolean;
  /**
   * True for MySQL's `json` type, and for MariaDB's JSON (a `longtext` with a
   * `CHECK (json_valid(col))` constraint).
   */
  readonly isJson: boolean;
}

/** One part of an index: a column (or a prefix of it), or an expression (MySQL functional index). */
export interface CatalogIndexPart {
  /** `null` for an expression part. */
  readonly column: string | null;
  /** Prefix length in characters, or `null` for the whole column. */
  readonly subPart: number | null;
}

/** An index, including the primary key (named `PRIMARY`). */
export interface CatalogIndex {
  readonly name: string;
  readonly unique: boolean;
  /** `BTREE`, `HASH`, `FULLTEXT`, `SPATIAL`... */
  readonly type: string;
  readonly parts: readonly CatalogIndexPart[];
  /** The column names of the parts that are columns, in order. */
  readonly columns: readonly string[];
}

/** A unique key other than the primary key (expression-based unique indexes are left out). */
export interface CatalogUniqueKey {
  readonly name: string;
  readonly columns: readonly string[];
  /** True when every column is NOT NULL: only then does the key identify rows. */
  readonly allNotNull: boolean;
}

/** `ON UPDATE`/`ON DELETE` behaviour of a foreign key. */
export type ReferentialAction = 'CASCADE' | 'SET NULL' | 'SET DEFAULT' | 'RESTRICT' | 'NO ACTION';

/** A foreign key declared on a table. */
export interface CatalogForeignKey {
  readonly name: string;
  readonly columns: readonly string[];
  readonly referencedSchema: string;
  readonly referencedTable: string;
  readonly referencedColumns: readonly string[];
  readonly onUpdate: ReferentialAction;
  readonly onDelete: ReferentialAction;
}

/** A trigger on a table. */
export interface CatalogTrigger {
  readonly name: string;
  readonly timing: 'BEFORE' | 'AFTER';
  readonly event: 'INSERT' | 'UPDATE' | 'DELETE';
  /** Order among triggers of the same timing and event (1-based). */
  readonly order: number;
}

/** A CHECK constraint. */
export interface CatalogCheckConstraint {
  readonly name: string;
  /** The condition as the server reports it. */
  readonly clause: string;
  /** MariaDB tells column-level from table-level constraints; MySQL does not (`null`). */
  readonly level: 'column' | 'table' | null;
}

/** One base table with what cleave needs to move, copy, verify and recreate it. */
export interface CatalogTable {
  readonly schema: string;
  readonly name: string;
  readonly engine: string | null;
  readonly collation: string | null;
  /** The server's estimate (`TABLE_ROWS`); exact only for MyISAM-like engines. */
  readonly rowEstimate: number;
  readonly dataBytes: number;
  readonly indexBytes: number;
  /** The next AUTO_INCREMENT value, as a string (it may exceed 2^53), or `null`. */
  readonly autoIncrement: string | null;
  /** MariaDB system-versioned table. */
  readonly systemVersioned: boolean;
  readonly columns: readonly CatalogColumn[];
  /** Primary key column names in key order, or `null`. */
  readonly primaryKey: readonly string[] | null;
  readonly uniqueKeys: readonly CatalogUniqueKey[];
  /** Every index, the primary key included, in the order the server lists them. */
  readonly indexes: readonly CatalogIndex[];
  readonly foreignKeys: readonly CatalogForeignKey[];
  readonly triggers: readonly CatalogTrigger[];
  readonly checkConstraints: readonly CatalogCheckConstraint[];
}

/** The tables of one database, read by {@link readCatalog}. */
export interface Catalog {
  readonly database: string;
  readonly server: ServerInfo;
  /** Sorted by name. */
  readonly tables: readonly CatalogTable[];
}

/** The table named `name` in `catalog`, or `undefined`. */
export function findTable(catalog: Catalog, name: string): CatalogTable | undefined {
  return catalog.tables.find((table) => table.name === name);
}
