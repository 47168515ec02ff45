/** A key that can follow a dot in a path; others are written `["..."]`. */
const DOT_KEY = /^[A-Za-z0-9_$-]+$/;

/**
 * Formats a path as cleave prints it: dot for object keys, brackets for array indexes.
 *
 * @example
 * formatIssuePath(['moves', 1, 'ranges', 2, 'to']); // 'moves[1].ranges[2].to'
 * formatIssuePath(['targets', 'my target']); // 'targets["my target"]'
 */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (DOT_KEY.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}
