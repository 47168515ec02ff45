import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('public API', () => {
  it('exports the curated names', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        'BULK_INSERT_METHODS',
        'COLUMN_CODECS',
        'CONNECTION_URL_SCHEMES',
        'ConnectionUrl',
        'DEFAULT_MYSQL_PORT',
        'MAX_IDENTIFIER_LENGTH',
        'MYSQL2_FIDELITY_OPTIONS',
        'MYSQL_ERROR_CODES',
        'MysqlLibError',
        'MysqlPools',
        'REDACTED',
        'SERVER_FLAVORS',
        'SyncSession',
        'SESSION_CHARSET',
        'SESSION_SETUP_SQL',
        'SESSION_SQL_MODE',
        'SESSION_TIME_ZONE',
        'applyKeys',
        'buildCatalog',
        'columnCodec',
        'confirmApplies',
        'createKysely',
        'decodeKey',
        'encodeKey',
        'ensureTargetTable',
        'findTable',
        'identifierProblem',
        'imageSelectList',
        'imagesFromRaw',
        'isMysqlLibError',
        'isRetryableLockError',
        'keyId',
        'keyOrderBy',
        'keyPartLiteral',
        'keyPositions',
        'keyRangeWhere',
        'keysWhere',
        'missingAccountGrants',
        'missingPrivileges',
        'mysqlErrno',
        'nextChunkUpper',
        'parseConnectionUrl',
        'prepareApply',
        'privilegeDenied',
        'parseServerVersion',
        'qualifiedName',
        'queryRaw',
        'quoteIdentifier',
        'quoteQualified',
        'rawImageSelectList',
        'rawToKeyPart',
        'rawTypeCast',
        'readAccountPrivileges',
        'readApplyImages',
        'readCatalog',
        'readRows',
        'requireAccountGrants',
        'requireUsableKey',
        'rowFilterCondition',
        'rowKey',
        'rowKeyId',
        'sameRow',
        'splitKeySpace',
        'syncKeyRange',
        'syncKeys',
        'tableShape',
        'usableKey',
        'validateIdentifier',
        'valueLiteral',
        'writeApplies',
        // the placement guard
        'GUARD_EPOCH_VARIABLE',
        'GUARD_STATE',
        'GUARD_TABLE',
        'GuardRefusedError',
        'allowWrites',
        'denyWrites',
        'isGuardRefusal',
        'markShadowReads',
        'prepareGuard',
        'removeGuard',
        'setGuard',
      ].sort(),
    );
  });

  it('sql_mode keeps zero dates and backslash escapes', () => {
    const modes = api.SESSION_SQL_MODE.split(',');
    expect(modes).toEqual(expect.arrayContaining(['NO_AUTO_VALUE_ON_ZERO', 'STRICT_ALL_TABLES', 'NO_ENGINE_SUBSTITUTION']));
    for (const absent of ['NO_ZERO_DATE', 'NO_ZERO_IN_DATE', 'NO_BACKSLASH_ESCAPES', 'ANSI_QUOTES']) {
      expect(modes).not.toContain(absent);
    }
    expect(api.MYSQL2_FIDELITY_OPTIONS).toMatchObject({
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      decimalNumbers: false,
      jsonStrings: true,
      timezone: 'Z',
      multipleStatements: false,
    });
  });

  it('errors carry a code, a hint and a cause', () => {
    const cause = new Error('inner');
    const error = new api.MysqlLibError('NO_USABLE_KEY', 'message', { hint: 'do this', cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'MysqlLibError', code: 'NO_USABLE_KEY', hint: 'do this', cause, message: 'message' });
    expect(api.isMysqlLibError(error, 'NO_USABLE_KEY')).toBe(true);
    expect(api.isMysqlLibError(error, 'POOLS_CLOSED')).toBe(false);
    expect(api.isMysqlLibError(cause)).toBe(false);
  });
});
