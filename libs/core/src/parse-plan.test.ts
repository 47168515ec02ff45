import { describe, expect, it } from 'vitest';
import { isCleaveError, PlanValidationError, type PlanIssue } from './errors.js';
import { parsePlan, safeParsePlan } from './parse-plan.js';
import { PLAN_VERSION, planJsonSchema } from './plan-schema.js';

/** A valid plan: one vertical move, one shard move, a prediction. */
function validPlan(): Record<string, unknown> {
  return {
    version: 1,
    name: 'split-account',
    source: { server: 'source', database: 'account' },
    targets: {
      mail: { server: 'target-1', database: 'account' },
      sessions: { server: 'target-2', database: 'account' },
      sessions_b: { server: 'target-2', database: 'account_b' },
    },
    moves: [
      {
        kind: 'tables',
        tables: ['email_aliases', 'user_settings'],
        to: 'mail',
        droppedForeignKeys: [{ table: 'email_aliases', name: 'fk_email_aliases_user' }],
      },
      {
        kind: 'shard',
        table: 'sessions',
        key: { column: 'id', type: 'integer' },
        ranges: [
          { from: null, to: '500', target: 'sessions' },
          { from: '500', to: '18446744073709551615', target: 'sessions_b' },
          { from: '18446744073709551615', to: null, target: 'sessions' },
        ],
      },
    ],
    prediction: {
      perServer: {
        source: { tables: ['users'], rows: 1000, bytes: 65536, executionsShare: 0.5, timeShare: 0.4 },
        'target-1': { tables: ['email_aliases', 'user_settings'], rows: 10, bytes: 100, executionsShare: 0.2, timeShare: 0.3 },
      },
      sourceLoadRemovedShare: 0.6,
      brokenStatements: [
        {
          digest: 'abc123',
          text: 'SELECT * FROM users JOIN email_aliases USING (user_id) WHERE users.token = ?',
          executions: 42,
          reason: 'cross-server-join',
          tables: ['users', 'email_aliases'],
        },
      ],
    },
    createdAt: '2025-01-31T12:00:00Z',
    generatedBy: 'cleave 0.1.0',
  };
}

type Json = Record<string, unknown>;
const moves = (p: Json) => p['moves'] as Json[];
const shard = (p: Json) => moves(p)[1] as Json & { ranges: Json[]; key: Json };
const targets = (p: Json) => p['targets'] as Record<string, Json>;

function issuesOf(plan: unknown): readonly PlanIssue[] {
  const result = safeParsePlan(plan);
  if (result.success) throw new Error('expected the plan to be refused');
  return result.issues;
}

describe('parsePlan: valid plans', () => {
  it('accepts a valid plan and round-trips it through JSON', () => {
    const plan = parsePlan(validPlan());
    expect(plan.version).toBe(PLAN_VERSION);
    expect(plan).toEqual(validPlan());
    expect(parsePlan(JSON.parse(JSON.stringify(plan)))).toEqual(plan);
  });

  it('accepts the smallest plan (no prediction, no optional fields)', () => {
    const plan = {
      version: 1,
      name: 'a',
      source: { server: 'source', database: 'account' },
      targets: { mail: { server: 'target-1', database: 'mail' } },
      moves: [{ kind: 'tables', tables: ['email_aliases'], to: 'mail' }],
    };
    expect(parsePlan(plan)).toEqual(plan);
  });

  it('reads safe JSON integers and canonicalises key values', () => {
    const p = validPlan();
    shard(p).ranges = [
      { from: null, to: 500, target: 'sessions' },
      { from: '0500', to: '-0', target: 'sessions_b' },
      { from: '-0', to: null, target: 'sessions' },
    ];
    // [500, 0) is empty: canonical comparison still sees 500 and 0.
    expect(issuesOf(p)).toEqual([{ path: 'moves[1].ranges[1].to', message: 'must be greater than from (0500)' }]);
    shard(p).ranges = [
      { from: null, to: 500, target: 'sessions' },
      { from: '0500', to: null, target: 'sessions_b' },
    ];
    const plan = parsePlan(p);
    const ranges = (plan.moves[1] as { ranges: unknown[] }).ranges;
    expect(ranges).toEqual([
      { from: null, to: '500', target: 'sessions' },
      { from: '500', to: null, target: 'sessions_b' },
    ]);
  });

  it('keeps BIGINT UNSIGNED bounds past 2^53 exact', () => {
    const p = validPlan();
    shard(p).ranges = [
      { from: null, to: '9007199254740993', target: 'sessions' },
      { from: '9007199254740993', to: null, target: 'sessions_b' },
    ];
    const plan = parsePlan(p);
    expect(JSON.stringify(plan)).toContain('"9007199254740993"');
  });

  it('accepts binary and string keys, binary lower-cased', () => {
    const p = validPlan();
    shard(p).key = { column: 'id', type: 'binary' };
    shard(p).ranges = [
      { from: null, to: '0x80FF', target: 'sessions' },
      { from: '0x80ff', to: null, target: 'sessions_b' },
    ];
    const plan = parsePlan(p);
    expect((plan.moves[1] as { ranges: { to: string | null }[] }).ranges[0]?.to).toBe('0x80ff');

    shard(p).key = { column: 'email', type: 'string' };
    shard(p).ranges = [
      { from: null, to: 'm', target: 'sessions' },
      { from: 'm', to: null, target: 'sessions_b' },
    ];
    expect(() => parsePlan(p)).not.toThrow();
  });

  it('has a JSON schema for documentation', () => {
    const schema = planJsonSchema();
    expect(schema['type']).toBe('object');
    expect(schema['additionalProperties']).toBe(false);
    expect(Object.keys(schema['properties'] as object)).toEqual(
      expect.arrayContaining(['version', 'name', 'source', 'targets', 'moves', 'prediction']),
    );
  });
});

describe('parsePlan: errors', () => {
  it('throws PlanValidationError with code PLAN_INVALID and one line per issue', () => {
    const p = validPlan();
    (moves(p)[0] as Json)['to'] = 'mial';
    let error: unknown;
    try {
      parsePlan(p);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PlanValidationError);
    expect(isCleaveError(error, 'PLAN_INVALID')).toBe(true);
    const e = error as PlanValidationError;
    expect(e.issues).toEqual([{ path: 'moves[0].to', message: 'unknown target "mial"; targets: mail, sessions, sessions_b' }]);
    expect(e.message).toBe('invalid plan (1 problem):\nmoves[0].to: unknown target "mial"; targets: mail, sessions, sessions_b');
    expect(e.hint).toMatch(/plan file/);
  });

  it('refuses a plan that is not an object', () => {
    expect(issuesOf('nope')).toEqual([{ path: '', message: 'must be an object, got a string' }]);
    expect(issuesOf(null)).toEqual([{ path: '', message: 'must be an object, got null' }]);
  });

  it('says which versions are supported', () => {
    const p = validPlan();
    p['version'] = 2;
    expect(issuesOf(p)).toEqual([{ path: 'version', message: 'unsupported plan version 2; supported versions: 1' }]);
    delete p['version'];
    expect(issuesOf(p)).toEqual([{ path: 'version', message: 'is required (supported versions: 1)' }]);
  });

  it('checks the migration name', () => {
    const p = validPlan();
    p['name'] = 'Split Account';
    expect(issuesOf(p)).toEqual([
      { path: 'name', message: 'must be 1 to 63 characters of a-z, 0-9, _ and -, starting with a letter or digit' },
    ]);
  });

  it('refuses unknown fields', () => {
    const p = validPlan();
    (p['source'] as Json)['port'] = 3306;
    p['extra'] = true;
    expect(issuesOf(p)).toEqual([
      { path: 'source.port', message: 'unknown field' },
      { path: 'extra', message: 'unknown field' },
    ]);
  });

  it('refuses an unknown move kind', () => {
    const p = validPlan();
    (moves(p)[0] as Json)['kind'] = 'copy';
    expect(issuesOf(p)).toEqual([{ path: 'moves[0].kind', message: 'must be one of "tables", "shard"' }]);
  });

  it('refuses an empty move list and an empty target map', () => {
    const p = validPlan();
    p['moves'] = [];
    p['targets'] = {};
    expect(issuesOf(p)).toEqual([
      { path: 'targets', message: 'must define at least one target' },
      { path: 'moves', message: 'must not be empty' },
    ]);
  });

  it('refuses a move to an unknown target', () => {
    const p = validPlan();
    (moves(p)[0] as Json)['to'] = 'mial';
    shard(p).ranges[2]!['target'] = 'nowhere';
    expect(issuesOf(p)).toEqual([
      { path: 'moves[0].to', message: 'unknown target "mial"; targets: mail, sessions, sessions_b' },
      { path: 'moves[1].ranges[2].target', message: 'unknown target "nowhere"; targets: mail, sessions, sessions_b' },
    ]);
  });

  it('refuses a table in two moves, or twice in one', () => {
    const p = validPlan();
    (moves(p)[0] as Json)['tables'] = ['email_aliases', 'sessions', 'email_aliases'];
    expect(issuesOf(p)).toEqual([
      {
        path: 'moves[0].tables[2]',
        message: 'table "email_aliases" already appears at moves[0].tables[0]; a table may be in only one move',
      },
      { path: 'moves[1].table', message: 'table "sessions" already appears at moves[0].tables[1]; a table may be in only one move' },
    ]);
  });

  it('requires the first range to start unbounded and the last to end unbounded', () => {
    const p = validPlan();
    shard(p).ranges[0]!['from'] = '0';
    shard(p).ranges[2]!['to'] = '99999999999999999999';
    expect(issuesOf(p)).toEqual([
      { path: 'moves[1].ranges[0].from', message: 'must be null: the first range starts unbounded, so that the ranges cover every key' },
      { path: 'moves[1].ranges[2].to', message: 'must be null: the last range ends unbounded, so that the ranges cover every key' },
    ]);
  });

  it('allows unbounded ends only at the first and last range', () => {
    const p = validPlan();
    shard(p).ranges[1]!['from'] = null;
    shard(p).ranges[1]!['to'] = null;
    expect(issuesOf(p)).toEqual([
      { path: 'moves[1].ranges[1].from', message: 'must not be null: only the first range starts unbounded' },
      { path: 'moves[1].ranges[1].to', message: 'must not be null: only the last range ends unbounded' },
    ]);
  });

  it('requires contiguous ranges', () => {
    const p = validPlan();
    shard(p).ranges[1]!['from'] = '600';
    expect(issuesOf(p)).toEqual([
      { path: 'moves[1].ranges[1].from', message: "must equal the previous range's to (500), so that the ranges are contiguous" },
    ]);
  });

  it('requires each range to end after it starts', () => {
    const p = validPlan();
    shard(p).ranges = [
      { from: null, to: '100', target: 'sessions' },
      { from: '100', to: '500', target: 'sessions_b' },
      { from: '500', to: '500', target: 'sessions' },
      { from: '500', to: null, target: 'sessions_b' },
    ];
    expect(issuesOf(p)).toEqual([{ path: 'moves[1].ranges[2].to', message: 'must be greater than from (500)' }]);
  });

  it('reports ranges out of order', () => {
    const p = validPlan();
    shard(p).ranges = [
      { from: null, to: '500', target: 'sessions' },
      { from: '500', to: '100', target: 'sessions_b' },
      { from: '100', to: null, target: 'sessions' },
    ];
    expect(issuesOf(p)).toEqual([{ path: 'moves[1].ranges[1].to', message: 'must be greater than from (500)' }]);
  });

  it('compares string keys as strings in messages', () => {
    const p = validPlan();
    shard(p).key = { column: 'email', type: 'string' };
    shard(p).ranges = [
      { from: null, to: 'm', target: 'sessions' },
      { from: 'm', to: 'a', target: 'sessions_b' },
      { from: 'a', to: null, target: 'sessions' },
    ];
    expect(issuesOf(p)).toEqual([{ path: 'moves[1].ranges[1].to', message: 'must be greater than from ("m")' }]);
  });

  it('checks key values against the key type', () => {
    const p = validPlan();
    shard(p).ranges = [
      { from: null, to: '12a', target: 'sessions' },
      { from: '12a', to: 1.5, target: 'sessions_b' },
      { from: 1.5, to: 2 ** 60, target: 'sessions' },
      { from: 2 ** 60, to: null, target: 'sessions' },
    ];
    expect(issuesOf(p)).toEqual([
      { path: 'moves[1].ranges[0].to', message: 'must be an integer: an optional minus sign and decimal digits (got "12a")' },
      { path: 'moves[1].ranges[1].from', message: 'must be an integer: an optional minus sign and decimal digits (got "12a")' },
      {
        path: 'moves[1].ranges[1].to',
        message: 'must be a safe integer when written as a JSON number; write 1.5 as a decimal string',
      },
      {
        path: 'moves[1].ranges[2].from',
        message: 'must be a safe integer when written as a JSON number; write 1.5 as a decimal string',
      },
      {
        path: 'moves[1].ranges[2].to',
        message: `must be a safe integer when written as a JSON number; write ${String(2 ** 60)} as a decimal string`,
      },
      {
        path: 'moves[1].ranges[3].from',
        message: `must be a safe integer when written as a JSON number; write ${String(2 ** 60)} as a decimal string`,
      },
    ]);
  });

  it('checks binary key values', () => {
    const p = validPlan();
    shard(p).key = { column: 'id', type: 'binary' };
    shard(p).ranges = [
      { from: null, to: '0xabc', target: 'sessions' },
      { from: '0xabc', to: null, target: 'sessions_b' },
    ];
    expect(issuesOf(p)).toEqual([
      { path: 'moves[1].ranges[0].to', message: 'must be 0x followed by an even number of hex digits (got "0xabc")' },
      { path: 'moves[1].ranges[1].from', message: 'must be 0x followed by an even number of hex digits (got "0xabc")' },
    ]);
  });

  it('refuses numbers for string keys and values of the wrong JSON type', () => {
    const p = validPlan();
    shard(p).key = { column: 'email', type: 'string' };
    shard(p).ranges = [
      { from: null, to: 5, target: 'sessions' },
      { from: true, to: null, target: 'sessions_b' },
    ];
    expect(issuesOf(p)).toEqual([
      { path: 'moves[1].ranges[1].from', message: 'must be a string or a number, got a boolean' },
      { path: 'moves[1].ranges[0].to', message: 'must be a string for a string key (got 5)' },
    ]);
  });

  it('refuses an unknown key type', () => {
    const p = validPlan();
    shard(p).key = { column: 'id', type: 'uuid' };
    expect(issuesOf(p)).toEqual([{ path: 'moves[1].key.type', message: 'must be one of "integer", "string", "binary"' }]);
  });

  it('refuses a target that is the source', () => {
    const p = validPlan();
    targets(p)['mail'] = { server: 'source', database: 'account' };
    expect(issuesOf(p)).toEqual([{ path: 'targets.mail', message: 'must differ from the source (server "source", database "account")' }]);
  });

  it('refuses two targets on the same server and database', () => {
    const p = validPlan();
    targets(p)['sessions_b'] = { server: 'target-2', database: 'account' };
    expect(issuesOf(p)).toEqual([{ path: 'targets.sessions_b', message: 'same server and database as targets.sessions' }]);
  });

  it('checks target names and writes odd keys in brackets', () => {
    const p = validPlan();
    targets(p)['Mail Server'] = { server: 'target-3', database: 'x' };
    expect(issuesOf(p)).toEqual([
      {
        path: 'targets["Mail Server"]',
        message: 'invalid name: must be 1 to 63 characters of a-z, 0-9, _ and -, starting with a letter or digit',
      },
    ]);
  });

  it('refuses a foreign key dropped twice', () => {
    const p = validPlan();
    shard(p)['droppedForeignKeys'] = [{ table: 'email_aliases', name: 'fk_email_aliases_user' }];
    expect(issuesOf(p)).toEqual([
      {
        path: 'moves[1].droppedForeignKeys[0]',
        message: 'foreign key fk_email_aliases_user on table "email_aliases" is already listed at moves[0].droppedForeignKeys[0]',
      },
    ]);
  });

  it('checks table and database names as MySQL identifiers', () => {
    const p = validPlan();
    (moves(p)[0] as Json)['tables'] = ['users ', 'x'.repeat(65)];
    (p['source'] as Json)['database'] = '';
    expect(issuesOf(p)).toEqual([
      { path: 'source.database', message: 'must not be empty' },
      { path: 'moves[0].tables[0]', message: 'must not end with a space' },
      { path: 'moves[0].tables[1]', message: 'must be at most 64 characters (got 65)' },
    ]);
  });

  it('checks the prediction', () => {
    const p = validPlan();
    const prediction = p['prediction'] as Json;
    prediction['sourceLoadRemovedShare'] = 1.5;
    const perServer = prediction['perServer'] as Record<string, Json>;
    perServer['elsewhere'] = { tables: [], rows: -1, bytes: 0, executionsShare: 0, timeShare: 0 };
    (prediction['brokenStatements'] as Json[])[0]!['reason'] = 'slow';
    expect(issuesOf(p)).toEqual([
      { path: 'prediction.perServer.elsewhere.rows', message: 'must be at least 0' },
      { path: 'prediction.sourceLoadRemovedShare', message: 'must be at most 1' },
      { path: 'prediction.brokenStatements[0].reason', message: 'must be one of "cross-server-join", "cross-server-transaction"' },
    ]);
  });

  it('checks createdAt', () => {
    const p = validPlan();
    p['createdAt'] = 'yesterday';
    expect(issuesOf(p)).toEqual([
      { path: 'createdAt', message: 'must be an ISO 8601 date-time with a time zone, e.g. 2025-01-31T12:00:00Z' },
    ]);
  });

  it('lists every problem at once', () => {
    const p = validPlan();
    p['version'] = 3;
    (moves(p)[0] as Json)['to'] = 'mial';
    shard(p).ranges[1]!['from'] = '600';
    shard(p).ranges[2]!['to'] = '7';
    targets(p)['mail'] = { server: 'source', database: 'account' };
    delete (p['source'] as Json)['server'];
    const error = (() => {
      try {
        parsePlan(p);
      } catch (e) {
        return e as PlanValidationError;
      }
      throw new Error('expected a PlanValidationError');
    })();
    expect(error.issues.map((i) => i.path)).toEqual([
      'version',
      'source.server',
      'moves[0].to',
      'moves[1].ranges[1].from',
      'moves[1].ranges[2].to',
      'moves[1].ranges[2].to',
    ]);
    expect(error.message.split('\n')).toEqual([
      'invalid plan (6 problems):',
      'version: unsupported plan version 3; supported versions: 1',
      'source.server: is required',
      'moves[0].to: unknown target "mial"; targets: mail, sessions, sessions_b',
      "moves[1].ranges[1].from: must equal the previous range's to (500), so that the ranges are contiguous",
      'moves[1].ranges[2].to: must be null: the last range ends unbounded, so that the ranges cover every key',
      'moves[1].ranges[2].to: must be greater than from (18446744073709551615)',
    ]);
  });
});

describe('parsePlan: credentials', () => {
  it('refuses credential fields anywhere, without echoing them', () => {
    const p = validPlan();
    (p['source'] as Json)['password'] = 'hunter2';
    targets(p)['mail']!['apiToken'] = 'abc';
    const issues = issuesOf(p);
    expect(issues).toEqual([
      {
        path: 'source.password',
        message:
          'field "password" is refused: credentials never appear in a plan; a plan names servers, and the server config holds their credentials',
      },
      {
        path: 'targets.mail.apiToken',
        message:
          'field "apiToken" is refused: credentials never appear in a plan; a plan names servers, and the server config holds their credentials',
      },
    ]);
    expect(JSON.stringify(issues)).not.toContain('hunter2');
  });

  it('refuses a DSN with a password in any string, and redacts it from the messages', () => {
    const p = validPlan();
    (p['source'] as Json)['server'] = 'mysql://app:hunter2@db1:3306/account';
    p['generatedBy'] = 'cleave --source password=hunter2';
    const issues = issuesOf(p);
    expect(issues).toEqual([
      {
        path: 'source.server',
        message:
          'looks like it contains a credential: credentials never appear in a plan; a plan names servers, and the server config holds their credentials',
      },
      {
        path: 'generatedBy',
        message:
          'looks like it contains a credential: credentials never appear in a plan; a plan names servers, and the server config holds their credentials',
      },
    ]);
    let message = '';
    try {
      parsePlan(p);
    } catch (e) {
      message = JSON.stringify(e) + String((e as Error).message);
    }
    expect(message).not.toContain('hunter2');
  });

  it('lets targets be named like credentials and SQL mention them', () => {
    const p = validPlan();
    targets(p)['tokens'] = { server: 'target-3', database: 'tokens' };
    (moves(p)[0] as Json)['tables'] = ['password_resets', 'user_tokens'];
    expect(() => parsePlan(p)).not.toThrow();
  });
});
