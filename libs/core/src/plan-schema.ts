import { z } from 'zod';
import { identifierProblem } from './identifier.js';
import { KEY_TYPES } from './key-range.js';

/** The plan format version this build writes. */
export const PLAN_VERSION = 1;

/** Every plan format version this build reads. */
export const SUPPORTED_PLAN_VERSIONS = [PLAN_VERSION] as const;

/** Why a query would break after the split. */
export const BROKEN_STATEMENT_REASONS = ['cross-server-join', 'cross-server-transaction'] as const;

/** One of {@link BROKEN_STATEMENT_REASONS}. */
export type BrokenStatementReason = (typeof BROKEN_STATEMENT_REASONS)[number];

/** A migration name: also used in job ids, metric labels and file names. */
export const MIGRATION_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** A target name (`mail`, `sessions-2`): same rule as migration names. */
export const TARGET_NAME_PATTERN = MIGRATION_NAME_PATTERN;

/** A server name, resolved through the server config; never a host, URL or DSN. */
export const SERVER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

const NAME_RULE = '1 to 63 characters of a-z, 0-9, _ and -, starting with a letter or digit';

const identifier = z.string().superRefine((value, ctx) => {
  const problem = identifierProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: value });
});

const migrationName = z.string().regex(MIGRATION_NAME_PATTERN, { error: `must be ${NAME_RULE}` });

const targetName = z.string().regex(TARGET_NAME_PATTERN, { error: `must be ${NAME_RULE}` });

const serverName = z.string().regex(SERVER_NAME_PATTERN, {
  error: 'must be a server name from the server config (letters, digits, _ . -), not a host, URL or DSN',
});

/** Integer key values may be JSON numbers (safe integers only); they are read back as strings. */
const keyValue = z.union([z.string(), z.number()]).transform((v): string => String(v));

const endpointSchema = z
  .strictObject({
    server: serverName.describe('Server name from the server config; credentials live there, never here.'),
    database: identifier.describe('Database (schema) on that server.'),
  })
  .describe('A database on a named server.');

const droppedForeignKeySchema = z
  .strictObject({
    table: identifier.describe('Table that declares the foreign key.'),
    name: identifier.describe('Constraint name.'),
  })
  .describe(
    'A foreign key that the split carries across servers: it is not created on the target, and the source keeps it until finalize.',
  );

const droppedForeignKeys = z.array(droppedForeignKeySchema).optional();

const tablesMoveSchema = z
  .strictObject({
    kind: z.literal('tables'),
    tables: z.array(identifier).min(1).describe('Tables of the source database that move together.'),
    to: z.string().describe('Name of a target in `targets`.'),
    droppedForeignKeys,
  })
  .describe('Vertical split: a group of tables moves to one target.');

const shardRangeSchema = z
  .strictObject({
    from: keyValue.nullable().describe('Lowest key of the range (included); null: unbounded below.'),
    to: keyValue.nullable().describe('Key where the range ends (excluded); null: unbounded above.'),
    target: z.string().describe('Name of a target in `targets`.'),
  })
  .describe('Rows with from <= key < to go to target.');

const shardMoveSchema = z
  .strictObject({
    kind: z.literal('shard'),
    table: identifier.describe('Table of the source database to shard.'),
    key: z.strictObject({
      column: identifier.describe('Shard key column: the primary key or a non-null unique key column.'),
      type: z.enum(KEY_TYPES).describe('How key values compare: integer (exact), string (binary collation), binary (bytes).'),
    }),
    ranges: z
      .array(shardRangeSchema)
      .min(1)
      .describe('Contiguous, ordered ranges covering the whole key space: first from and last to are null.'),
    droppedForeignKeys,
  })
  .describe('Horizontal split: one table split by key ranges, each range to a target.');

const share = z.number().min(0).max(1);
const count = z.int().nonnegative();

const serverPredictionSchema = z
  .strictObject({
    tables: z.array(z.string()).describe('Tables served by this server after the split.'),
    rows: count.describe('Estimated rows.'),
    bytes: count.describe('Estimated data + index bytes.'),
    executionsShare: share.describe("Share (0..1) of today's statement executions this server will serve."),
    timeShare: share.describe("Share (0..1) of today's statement time this server will spend."),
  })
  .describe('Predicted load of one server after the split.');

const brokenStatementSchema = z
  .strictObject({
    digest: z.string().min(1).describe('Statement digest (performance_schema) or fingerprint.'),
    text: z.string().describe('Normalised statement text, literals replaced by `?`.'),
    executions: count,
    reason: z.enum(BROKEN_STATEMENT_REASONS),
    tables: z.array(z.string()).describe('Tables of the statement that end up on different servers.'),
  })
  .describe('A statement the split would break.');

const predictionSchema = z
  .strictObject({
    perServer: z.record(serverName, serverPredictionSchema).describe('Keyed by server name.'),
    sourceLoadRemovedShare: share.describe('Share (0..1) of the source statement time the split removes.'),
    brokenStatements: z.array(brokenStatementSchema),
  })
  .describe('What the planner predicts; informative, not enforced.');

/**
 * The zod schema of a plan file's shape. Use {@link parsePlan}, which adds the rules across
 * fields (targets exist, ranges contiguous…) and canonical key values.
 */
export const planSchema = z
  .strictObject({
    $schema: z.string().optional().describe('JSON schema reference for editors; ignored.'),
    version: z.literal(PLAN_VERSION, {
      error: (issue) =>
        issue.input === undefined
          ? `is required (supported versions: ${SUPPORTED_PLAN_VERSIONS.join(', ')})`
          : `unsupported plan version ${JSON.stringify(issue.input)}; supported versions: ${SUPPORTED_PLAN_VERSIONS.join(', ')}`,
    }),
    name: migrationName.describe('Migration name.'),
    source: endpointSchema,
    targets: z
      .record(targetName, endpointSchema)
      .refine((t) => Object.keys(t).length > 0, { error: 'must define at least one target' })
      .describe('Named targets (`mail`, `sessions`): each a database on a server.'),
    moves: z.array(z.discriminatedUnion('kind', [tablesMoveSchema, shardMoveSchema])).min(1),
    prediction: predictionSchema.optional(),
    createdAt: z.iso.datetime({ offset: true }).optional().describe('When the plan was generated (ISO 8601).'),
    generatedBy: z.string().max(200).optional().describe('Tool and version that generated the plan.'),
  })
  .describe('A cleave migration plan. Servers are names only: credentials never appear in a plan.');

/** A validated plan, as returned by {@link parsePlan}; key values are canonical strings. */
export type Plan = z.output<typeof planSchema>;
/** A plan as written in a file (integer key values may be JSON numbers). */
export type PlanInput = z.input<typeof planSchema>;
/** A database on a named server. */
export type PlanEndpoint = z.output<typeof endpointSchema>;
/** One move: a group of tables, or a sharded table. */
export type PlanMove = Plan['moves'][number];
/** Vertical split: tables that move to one target. */
export type TablesMove = z.output<typeof tablesMoveSchema>;
/** Horizontal split: one table split by key ranges. */
export type ShardMove = z.output<typeof shardMoveSchema>;
/** The shard key of a {@link ShardMove}. */
export type ShardKey = ShardMove['key'];
/** Rows with `from <= key < to` go to `target`. */
export type ShardRange = z.output<typeof shardRangeSchema>;
/** A foreign key explicitly dropped on the target. */
export type DroppedForeignKey = z.output<typeof droppedForeignKeySchema>;
/** The planner's prediction. */
export type PlanPrediction = z.output<typeof predictionSchema>;
/** Predicted load of one server. */
export type ServerPrediction = z.output<typeof serverPredictionSchema>;
/** A statement the split would break. */
export type BrokenStatement = z.output<typeof brokenStatementSchema>;

/**
 * The JSON Schema (draft 2020-12) of a plan file, for documentation and editors. It describes
 * the shape only; {@link parsePlan} also checks the rules across fields.
 */
export function planJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(planSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
