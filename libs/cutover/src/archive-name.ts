import { createHash } from 'node:crypto';
import { MAX_IDENTIFIER_LENGTH } from '@cleave/core';

/** Every archived table name starts with this. */
export const ARCHIVE_PREFIX = '_cleave_archived_';

/**
 * The name finalize renames a moved source table to: `_cleave_archived_<migration>_<table>`,
 * clearly marked and never dropped by finalize. When that is longer than MySQL's 64 characters
 * the tail is cut and an 8-hex hash of the full name keeps it unique.
 *
 * @example
 * archiveTableName('split-mail', 'email_aliases'); // '_cleave_archived_split-mail_email_aliases'
 */
export function archiveTableName(migrationName: string, table: string): string {
  const full = `${ARCHIVE_PREFIX}${migrationName}_${table}`;
  if (full.length <= MAX_IDENTIFIER_LENGTH) return full;
  const hash = createHash('sha1').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, MAX_IDENTIFIER_LENGTH - 9)}_${hash}`;
}
