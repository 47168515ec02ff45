import type { PlanIssue } from './errors.js';
import { formatIssuePath } from './issue-path.js';
import { compareKeyValues, isKeyType, keyValueProblem, type KeyType } from './key-range.js';

type Path = (string | number)[];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function endpointKey(value: unknown): { server: string; database: string } | undefined {
  if (!isRecord(value) || typeof value['server'] !== 'string' || typeof value['database'] !== 'string') return undefined;
  return { server: value['server'], database: value['database'] };
}

function show(type: KeyType, value: string | number): string {
  return type === 'string' ? JSON.stringify(value) : String(value);
}

function listNames(names: readonly string[]): string {
  return names.length === 0 ? 'none are defined' : names.join(', ');
}

/**
 * The rules of a plan that span fields, checked on the raw input so that they are reported
 * together with shape problems. Anything of the wrong shape is skipped here (the schema
 * reports it). Returns every problem found.
 */
export function checkPlanRules(input: unknown): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const add = (path: Path, message: string): void => {
    issues.push({ path: formatIssuePath(path), message });
  };
  if (!isRecord(input)) return issues;

  const targets = isRecord(input['targets']) ? input['targets'] : {};
  const targetNames = Object.keys(targets);
  const source = endpointKey(input['source']);

  // Targets: never the source, never twice the same database.
  const seenEndpoints = new Map<string, string>();
  for (const name of targetNames) {
    const target = endpointKey(targets[name]);
    if (target === undefined) continue;
    if (source !== undefined && target.server === source.server && target.database === source.database) {
      add(['targets', name], `must differ from the source (server "${source.server}", database "${source.database}")`);
      continue;
    }
    const key = `${target.server}\u0000${target.database}`;
    const first = seenEndpoints.get(key);
    if (first === undefined) seenEndpoints.set(key, name);
    else add(['targets', name], `same server and database as ${formatIssuePath(['targets', first])}`);
  }

  const checkTarget = (path: Path, value: unknown): void => {
    if (typeof value === 'string' && !Object.hasOwn(targets, value)) {
      add(path, `unknown target ${JSON.stringify(value)}; targets: ${listNames(targetNames)}`);
    }
  };

  // Each table in at most one move.
  const claimed = new Map<string, string>();
  const claim = (path: Path, table: unknown): void => {
    if (typeof table !== 'string') return;
    const first = claimed.get(table);
    if (first === undefined) claimed.set(table, formatIssuePath(path));
    else add(path, `table "${table}" already appears at ${first}; a table may be in only one move`);
  };

  // Each dropped foreign key named once.
  const dropped = new Map<string, string>();

  asArray(input['moves']).forEach((move, i) => {
    if (!isRecord(move)) return;
    if (move['kind'] === 'tables') {
      asArray(move['tables']).forEach((table, j) => claim(['moves', i, 'tables', j], table));
      checkTarget(['moves', i, 'to'], move['to']);
    } else if (move['kind'] === 'shard') {
      claim(['moves', i, 'table'], move['table']);
      const key = move['key'];
      const type = isRecord(key) && isKeyType(key['type']) ? key['type'] : undefined;
      checkRanges(['moves', i, 'ranges'], asArray(move['ranges']), type, add, checkTarget);
    }
    asArray(move['droppedForeignKeys']).forEach((fk, k) => {
      if (!isRecord(fk) || typeof fk['table'] !== 'string' || typeof fk['name'] !== 'string') return;
      const path: Path = ['moves', i, 'droppedForeignKeys', k];
      const id = `${fk['table']}\u0000${fk['name']}`;
      const first = dropped.get(id);
      if (first === undefined) dropped.set(id, formatIssuePath(path));
      else add(path, `foreign key ${fk['name']} on table "${fk['table']}" is already listed at ${first}`);
    });
  });

  return issues;
}

type Add = (path: Path, message: string) => void;

/** Key values valid for the type; ranges ordered, contiguous and covering the whole key space. */
function checkRanges(
  base: Path,
  ranges: unknown[],
  type: KeyType | undefined,
  add: Add,
  checkTarget: (path: Path, value: unknown) => void,
): void {
  /** The value if it is a usable, valid bound; `null` if unbounded; `undefined` otherwise. */
  const bound = (path: Path, value: unknown): string | number | null | undefined => {
    if (value === null) return null;
    if (typeof value !== 'string' && typeof value !== 'number') return undefined; // shape error
    if (type === undefined) return undefined;
    const problem = keyValueProblem(type, value);
    if (problem === undefined) return value;
    add(path, problem);
    return undefined;
  };

  const last = ranges.length - 1;
  let previousTo: string | number | null | undefined;
  ranges.forEach((range, j) => {
    if (!isRecord(range)) {
      previousTo = undefined;
      return;
    }
    const at = (field: string): Path => [...base, j, field];
    const from = bound(at('from'), range['from']);
    const to = bound(at('to'), range['to']);

    if (j === 0 && range['from'] !== null && range['from'] !== undefined) {
      add(at('from'), 'must be null: the first range starts unbounded, so that the ranges cover every key');
    }
    if (j > 0 && range['from'] === null) {
      add(at('from'), 'must not be null: only the first range starts unbounded');
    }
    if (j === last && range['to'] !== null && range['to'] !== undefined) {
      add(at('to'), 'must be null: the last range ends unbounded, so that the ranges cover every key');
    }
    if (j < last && range['to'] === null) {
      add(at('to'), 'must not be null: only the last range ends unbounded');
    }
    if (type !== undefined && j > 0 && from != null && previousTo != null && compareKeyValues(type, from, previousTo) !== 0) {
      add(at('from'), `must equal the previous range's to (${show(type, previousTo)}), so that the ranges are contiguous`);
    }
    if (type !== undefined && from != null && to != null && compareKeyValues(type, to, from) <= 0) {
      add(at('to'), `must be greater than from (${show(type, from)})`);
    }
    checkTarget(at('target'), range['target']);
    previousTo = to;
  });
}
