import { containsCredentials, isCredentialKey } from './credentials.js';
import type { PlanIssue } from './errors.js';
import { formatIssuePath } from './issue-path.js';

/** Objects whose keys are names chosen by the user (targets, servers), not field names. */
const NAME_KEYED = new Set(['targets', 'prediction.perServer']);

const REFUSED = 'credentials never appear in a plan; a plan names servers, and the server config holds their credentials';

/**
 * Every place in a raw plan that carries (or is named like) a credential: keys such as
 * `password`, `secret` or `token`, anywhere, and strings holding `user:password@` URLs or
 * `password=...` pairs.
 */
export function findPlanCredentials(input: unknown): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const walk = (value: unknown, path: (string | number)[]): void => {
    if (typeof value === 'string') {
      if (containsCredentials(value)) {
        issues.push({ path: formatIssuePath(path), message: `looks like it contains a credential: ${REFUSED}` });
      }
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, [...path, i]));
    } else if (typeof value === 'object' && value !== null) {
      const nameKeyed = NAME_KEYED.has(path.join('.'));
      for (const [key, item] of Object.entries(value)) {
        if (!nameKeyed && isCredentialKey(key)) {
          issues.push({ path: formatIssuePath([...path, key]), message: `field "${key}" is refused: ${REFUSED}` });
        } else {
          walk(item, [...path, key]);
        }
      }
    }
  };
  walk(input, []);
  return issues;
}
