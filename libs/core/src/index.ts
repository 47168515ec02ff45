export { CLEAVE_ERROR_CODES, CleaveError, PlanValidationError, formatPlanIssues, isCleaveError, isCleaveErrorCode } from './errors.js';
export type { CleaveErrorCode, CleaveErrorJson, CleaveErrorOptions, PlanIssue } from './errors.js';
export { containsCredentials, isCredentialKey, redactCredentials } from './credentials.js';
export {
  MIGRATION_PHASES,
  MIGRATION_SIDES,
  PHASE_ROUTING,
  canTransition,
  isForward,
  isMigrationPhase,
  nextPhase,
  previousPhase,
} from './migration-phase.js';
export type { MigrationPhase, MigrationSide, PhaseRouting } from './migration-phase.js';
export { MAX_IDENTIFIER_LENGTH, identifierProblem, isValidIdentifier } from './identifier.js';
export { formatTableRef, parseTableRef, sameTableRef } from './table-ref.js';
export type { TableRef } from './table-ref.js';
export {
  KEY_TYPES,
  compareKeyValues,
  formatKeyRange,
  isEmptyKeyRange,
  isKeyType,
  keyInRange,
  keyValueProblem,
  normalizeKeyValue,
} from './key-range.js';
export type { KeyRange, KeyType, KeyValue } from './key-range.js';
export { chunkSchema } from './chunk.js';
export type { Chunk, ChunkBound } from './chunk.js';
export { formatIssuePath } from './issue-path.js';
export {
  BROKEN_STATEMENT_REASONS,
  MIGRATION_NAME_PATTERN,
  PLAN_VERSION,
  SERVER_NAME_PATTERN,
  SUPPORTED_PLAN_VERSIONS,
  TARGET_NAME_PATTERN,
  planJsonSchema,
  planSchema,
} from './plan-schema.js';
export type {
  BrokenStatement,
  BrokenStatementReason,
  DroppedForeignKey,
  Plan,
  PlanEndpoint,
  PlanInput,
  PlanMove,
  PlanPrediction,
  ServerPrediction,
  ShardKey,
  ShardMove,
  ShardRange,
  TablesMove,
} from './plan-schema.js';
export { parsePlan, safeParsePlan } from './parse-plan.js';
export type { PlanParseResult } from './parse-plan.js';
export { backfillUnits, movedTables } from './backfill-units.js';
export { WORKER_NODE_FLAGS } from './worker-node-flags.js';
export { SOURCE_CONDITION, SOURCE_CONDITION_FLAG } from './source-condition.js';
export type { BackfillUnit, UnitFilter } from './backfill-units.js';
export { rowPlacement, tablePlacement } from './table-placement.js';
export type { PlacementValue, RowPlacement, TablePlacement } from './table-placement.js';
export { CLEAVE_ACCOUNT_GRANTS, PLANNER_ACCOUNT_GRANTS, SERVICE_ACCOUNT_GRANTS, grantApplies, grantOn, grantStatement, grantStatements } from './account-grants.js';
export type { AccountGrant, GrantScope, GrantTarget } from './account-grants.js';
export { formatBytes } from './format-bytes.js';
export { formatDuration } from './format-duration.js';
