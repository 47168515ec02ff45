import { randomBytes } from 'node:crypto';

/**
 * A short name no other test run uses: lower-case letters, digits and `_`, safe as a database
 * name, a Redis key prefix and a BullMQ queue name (which must not contain `:`).
 */
export function uniqueName(label = 't'): string {
  const clean = label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 24);
  return `${clean}_${randomBytes(5).toString('hex')}`;
}
