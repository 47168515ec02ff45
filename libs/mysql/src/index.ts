export { MYSQL_ERROR_CODES, MysqlLibError, isMysqlLibError } from './mysql-error.js';
export type { MysqlErrorCode, MysqlLibErrorOptions } from './mysql-error.js';

export { MAX_IDENTIFIER_LENGTH, identifierProblem, quoteIdentifier, quoteQualified, validateIdentifier } from './identifier.js';

export {
  CONNECTION_URL_SCHEMES,
  ConnectionUrl,
  DEFAULT_MYSQL_PORT,
  REDACTED,
  parseConnectionUrl,
} from './connection-url.js';
export type { ConnectionUrlParts, ConnectionUrlScheme } from './connection-url.js';

export {
  MYSQL2_FIDELITY_OPTIONS,
  SESSION_CHARSET,
  SESSION_SETUP_SQL,
  SESSION_SQL_MODE,
  SESSION_TIME_ZONE,
} from './session-settings.js';

export { MysqlPools } from './mysql-pools.js';
export type { MysqlPoolsConfig, MysqlPoolsStats, PoolOptions, ServerPool, ServerPoolStats } from './mysql-pools.js';

export { createKysely } from './create-kysely.js';
export type { CreateKyselyOptions } from './create-kysely.js';

export { SERVER_FLAVORS, findTable } from './catalog/catalog.js';
export type {
  Catalog,
  CatalogCheckConstraint,
  CatalogColumn,
  CatalogForeignKey,
  CatalogIndex,
  CatalogIndexPart,
  CatalogTable,
  CatalogTrigger,
  CatalogUniqueKey,
  ColumnDefault,
  GeneratedColumn,
  ReferentialAction,
  ServerFlavor,
  ServerInfo,
} from './catalog/catalog.js';
export type { CatalogRow } from './catalog/catalog-row.js';
export { buildCatalog, parseServerVersion } from './catalog/build-catalog.js';
export type { CatalogRows } from './catalog/build-catalog.js';
export { readCatalog } from './catalog/read-catalog.js';
export { missingAccountGrants, missingPrivileges, privilegeDenied, readAccountPrivileges, requireAccountGrants } from './account-privileges.js';
export type { AccountPrivileges } from './account-privileges.js';
export type { Queryable, ReadCatalogOptions } from './catalog/read-catalog.js';
export { requireUsableKey, usableKey } from './catalog/usable-key.js';
export type { UsableKey } from './catalog/usable-key.js';
export * from './sync/index.js';

export { GUARD_EPOCH_VARIABLE, GUARD_STATE, GUARD_TABLE, GuardRefusedError, allowWrites, denyWrites, isGuardRefusal, markShadowReads, prepareGuard, removeGuard, setGuard } from './guard/placement-guard.js';
export type { GuardedTables } from './guard/placement-guard.js';
