// Row sync primitives: shared by backfill, verification and the router's dual writes.
export type { PooledConnection, QueryOptions, Queryable as SyncQueryable, TableName, TransactionalPool, TypeCastField } from './queryable.js';
export { COLUMN_CODECS, columnCodec, tableShape } from './table-shape.js';
export type { ColumnCodec, ShapeColumn, TableShape } from './table-shape.js';
export { decodeKey, encodeKey, keyId } from './key-codec.js';
export type { KeyPart, KeyTuple } from './key-codec.js';
export { keyOrderBy, keyRangeWhere, keysWhere, qualifiedName, rowFilterCondition } from './key-range.js';
export type { KeyBounds, RowFilter, SqlCondition } from './key-range.js';
export { keyPartLiteral, rawToKeyPart, valueLiteral } from './sql-literal.js';
export { keyPositions, queryRaw, rawTypeCast, readRows, rowKey, rowKeyId, sameRow } from './raw-rows.js';
export type { RawRow } from './raw-rows.js';
export { nextChunkUpper, splitKeySpace } from './chunking.js';
export { BULK_INSERT_METHODS, imageSelectList, imagesFromRaw, rawImageSelectList, syncKeyRange, syncKeys, SyncSession } from './sync-rows.js';
export type { BulkInsertMethod, SyncGuard, SyncKeyRangeArgs, SyncKeysArgs, SyncOptions, SyncResult } from './sync-rows.js';
export { applyKeys, confirmApplies, prepareApply, readApplyImages, writeApplies } from './apply-keys.js';
export type { AppliedKeys, ApplyKeysArgs, PendingConfirm, PreparedApply } from './apply-keys.js';
export { ensureTargetTable } from './ensure-target-table.js';
export type { EnsureTargetTableArgs } from './ensure-target-table.js';
export { isRetryableLockError, mysqlErrno } from './sync-errors.js';
