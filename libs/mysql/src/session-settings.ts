/**
 * The `sql_mode` of every cleave session, the same on MySQL 8 and MariaDB 10.11:
 *
 * - `STRICT_ALL_TABLES`: a value that does not fit fails instead of being truncated silently;
 * - `NO_AUTO_VALUE_ON_ZERO`: an AUTO_INCREMENT column that holds 0 copies as 0, not as a new id;
 * - `NO_ENGINE_SUBSTITUTION`: creating a table with a missing engine fails instead of using another.
 *
 * Deliberately absent: `NO_ZERO_DATE` and `NO_ZERO_IN_DATE` (zero dates such as
 * `0000-00-00 00:00:00` must copy faithfully), `NO_BACKSLASH_ESCAPES` (mysql2's escaping of
 * values relies on backslashes), `ANSI_QUOTES` (cleave quotes identifiers with backticks) and
 * `NO_AUTO_CREATE_USER` (removed in MySQL 8).
 */
export const SESSION_SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION';

/** The session time zone: UTC, so TIMESTAMP values read and write the same on every server. */
export const SESSION_TIME_ZONE = '+00:00';

/** The connection character set. */
export const SESSION_CHARSET = 'utf8mb4';

/** The one statement that sets up every new connection (no user input in it). */
export const SESSION_SETUP_SQL =
  `SET NAMES ${SESSION_CHARSET}, time_zone = '${SESSION_TIME_ZONE}', sql_mode = '${SESSION_SQL_MODE}'`;

/**
 * mysql2 options that keep values byte-faithful: big integers and DECIMAL as strings, dates and
 * times as the server's text (zero dates included), JSON as text (MariaDB keeps it as written),
 * UTC for any conversion the driver still does, and one statement per query.
 */
export const MYSQL2_FIDELITY_OPTIONS = Object.freeze({
  supportBigNumbers: true,
  bigNumberStrings: true,
  dateStrings: true,
  decimalNumbers: false,
  jsonStrings: true,
  timezone: 'Z',
  multipleStatements: false,
  charset: 'UTF8MB4_GENERAL_CI',
} as const);
