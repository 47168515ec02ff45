import type { z } from 'zod';
import { redactCredentials } from './credentials.js';
import { PlanValidationError, type PlanIssue } from './errors.js';
import { formatIssuePath } from './issue-path.js';
import { normalizeKeyValue } from './key-range.js';
import { findPlanCredentials } from './plan-credentials.js';
import { checkPlanRules } from './plan-rules.js';
import { planSchema, type Plan } from './plan-schema.js';

/** What {@link safeParsePlan} returns. */
export type PlanParseResult =
  | { readonly success: true; readonly plan: Plan; readonly issues?: undefined }
  | { readonly success: false; readonly plan?: undefined; readonly issues: readonly PlanIssue[] };

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'a fractional number';
  const type = typeof value;
  return type === 'object' || type === 'undefined' ? `an ${type}` : `a ${type}`;
}

function expectedName(expected: string): string {
  if (expected === 'int') return 'an integer';
  if (expected === 'array' || expected === 'object') return `an ${expected}`;
  return `a ${expected}`;
}

/** Plain messages for zod's built-in issues (custom messages in the schema take precedence). */
const messages: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${expectedName(issue.expected)}, got ${describe(issue.input)}`;
    case 'invalid_union': {
      if ('discriminator' in issue && issue.discriminator !== undefined) {
        const options = ((issue as { options?: unknown[] }).options ?? []).map((o) => JSON.stringify(o)).join(', ');
        return issue.input === undefined ? `is required (one of ${options})` : `must be one of ${options}`;
      }
      const expected = issue.errors.flatMap((branch) =>
        branch.length === 1 && branch[0]?.code === 'invalid_type' && branch[0].path.length === 0 ? [branch[0].expected] : [],
      );
      if (expected.length === issue.errors.length && expected.length > 0) {
        return `must be ${expected.map(expectedName).join(' or ')}, got ${describe(issue.input)}`;
      }
      return undefined;
    }
    case 'invalid_value':
      return `must be ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'array') return Number(issue.minimum) === 1 ? 'must not be empty' : `must have at least ${issue.minimum} items`;
      if (issue.origin === 'string') return Number(issue.minimum) === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      return `must be at most ${issue.maximum}`;
    case 'invalid_format':
      if (issue.format === 'datetime') return 'must be an ISO 8601 date-time with a time zone, e.g. 2025-01-31T12:00:00Z';
      return undefined;
    default:
      return undefined;
  }
};

/** zod issues as cleave issues: one per unknown key, record-key problems at the key. */
function fromZod(issues: readonly z.core.$ZodIssue[]): PlanIssue[] {
  return issues.flatMap((issue): PlanIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: formatIssuePath([...issue.path, key]), message: 'unknown field' }));
    }
    if (issue.code === 'invalid_key') {
      const inner = issue.issues.map((i) => i.message).join('; ');
      return [{ path: formatIssuePath(issue.path), message: `invalid name: ${inner}` }];
    }
    return [{ path: formatIssuePath(issue.path), message: issue.message }];
  });
}

/** Canonical key values (integers without leading zeros, lower-case hex). */
function normalize(plan: Plan): Plan {
  return {
    ...plan,
    moves: plan.moves.map((move) =>
      move.kind === 'tables'
        ? move
        : {
            ...move,
            ranges: move.ranges.map((r) => ({
              ...r,
              from: r.from === null ? null : normalizeKeyValue(move.key.type, r.from),
              to: r.to === null ? null : normalizeKeyValue(move.key.type, r.to),
            })),
          },
    ),
  };
}

/**
 * Validates a plan (already parsed from JSON) and reports every problem, never only the first:
 * the shape (unknown fields are refused), credentials anywhere, and the rules across fields
 * (targets exist, a table in one move only, shard ranges ordered, contiguous and covering the
 * key space, valid key values, targets distinct from the source and from each other).
 *
 * @example
 * const result = safeParsePlan(JSON.parse(text));
 * if (!result.success) console.error(formatPlanIssues(result.issues));
 */
export function safeParsePlan(input: unknown): PlanParseResult {
  const credentials = findPlanCredentials(input);
  const flagged = new Set(credentials.map((i) => i.path));
  const parsed = planSchema.safeParse(input, { error: messages });
  const shape = parsed.success ? [] : fromZod(parsed.error.issues).filter((i) => !flagged.has(i.path));
  const rules = checkPlanRules(input);

  const seen = new Set<string>();
  const issues: PlanIssue[] = [];
  for (const issue of [...credentials, ...shape, ...rules]) {
    const clean = { path: redactCredentials(issue.path), message: redactCredentials(issue.message) };
    const key = `${clean.path}\u0000${clean.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(clean);
    }
  }
  if (issues.length > 0 || !parsed.success) {
    return { success: false, issues: issues.length > 0 ? issues : [{ path: '', message: 'is not a valid plan' }] };
  }
  return { success: true, plan: normalize(parsed.data) };
}

/**
 * Validates a plan (already parsed from JSON) and returns it with canonical key values.
 *
 * @throws {PlanValidationError} listing every problem, one `path: message` line each.
 *
 * @example
 * const plan = parsePlan(JSON.parse(await readFile('plan.json', 'utf8')));
 */
export function parsePlan(input: unknown): Plan {
  const result = safeParsePlan(input);
  if (!result.success) throw new PlanValidationError(result.issues);
  return result.plan;
}
