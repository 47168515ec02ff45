/**
 * The control schema: durable migration state and its event log. Lives in its own database
 * (default `cleave_control`) on a server the operators choose, usually the source. Every
 * statement is idempotent so that any cleave process may ensure it at start.
 */
export const CONTROL_SCHEMA_VERSION = 11;

export const CONTROL_TABLES = [
  `CREATE TABLE IF NOT EXISTS schema_version (
    version INT NOT NULL PRIMARY KEY,
    applied_at DATETIME(6) NOT NULL
  ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS migrations (
    id VARCHAR(32) NOT NULL PRIMARY KEY,
    name VARCHAR(64) NOT NULL,
    plan LONGTEXT NOT NULL,
    phase VARCHAR(32) NOT NULL,
    epoch BIGINT UNSIGNED NOT NULL DEFAULT 1,
    coordinator_token BIGINT UNSIGNED NOT NULL DEFAULT 0,
    capture TINYINT(1) NOT NULL DEFAULT 0,
    guard_epoch BIGINT UNSIGNED NOT NULL DEFAULT 1,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY uk_migrations_name (name)
  ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS migration_events (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    migration_id VARCHAR(32) NOT NULL,
    at DATETIME(6) NOT NULL,
    actor VARCHAR(191) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    from_phase VARCHAR(32) NULL,
    to_phase VARCHAR(32) NULL,
    reason TEXT NULL,
    details LONGTEXT NULL,
    KEY idx_events_migration (migration_id, id)
  ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS backfill_tables (
    migration_id VARCHAR(32) NOT NULL,
    table_name VARCHAR(191) NOT NULL,
    target VARCHAR(64) NOT NULL,
    state VARCHAR(16) NOT NULL,
    rows_estimate BIGINT UNSIGNED NOT NULL DEFAULT 0,
    segments INT UNSIGNED NOT NULL DEFAULT 0,
    started_at DATETIME(6) NULL,
    finished_at DATETIME(6) NULL,
    error TEXT NULL,
    PRIMARY KEY (migration_id, table_name)
  ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS backfill_segments (
    migration_id VARCHAR(32) NOT NULL,
    table_name VARCHAR(191) NOT NULL,
    segment_no INT UNSIGNED NOT NULL,
    lower_key LONGTEXT NULL,
    upper_key LONGTEXT NULL,
    checkpoint_key LONGTEXT NULL,
    state VARCHAR(16) NOT NULL,
    rows_copied BIGINT UNSIGNED NOT NULL DEFAULT 0,
    chunks INT UNSIGNED NOT NULL DEFAULT 0,
    chunk_size INT UNSIGNED NOT NULL DEFAULT 0,
    copy_ms BIGINT UNSIGNED NOT NULL DEFAULT 0,
    owner VARCHAR(191) NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (migration_id, table_name, segment_no)
  ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS throttle_stats (
    migration_id VARCHAR(32) NOT NULL,
    reason VARCHAR(191) NOT NULL,
    throttled_ms BIGINT UNSIGNED NOT NULL DEFAULT 0,
    last_at DATETIME(6) NOT NULL,
    PRIMARY KEY (migration_id, reason)
  ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS verification_runs (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    migration_id VARCHAR(32) NOT NULL,
    started_at DATETIME(6) NOT NULL,
    finished_at DATETIME(6) NULL,
    passes INT UNSIGNED NOT NULL DEFAULT 0,
    chunks BIGINT UNSIGNED NOT NULL DEFAULT 0,
    rows_checked BIGINT UNSIGNED NOT NULL DEFAULT 0,
    rows_differing BIGINT UNSIGNED NOT NULL DEFAULT 0,
    rows_repaired BIGINT UNSIGNED NOT NULL DEFAULT 0,
    clean TINYINT(1) NULL,
    details LONGTEXT NULL,
    KEY idx_verification_migration (migration_id, id)
  ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS shadow_failures (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    migration_id VARCHAR(32) NOT NULL,
    table_name VARCHAR(191) NOT NULL,
    key_values LONGTEXT NOT NULL,
    error TEXT NULL,
    recorded_at DATETIME(6) NOT NULL,
    repaired_at DATETIME(6) NULL,
    KEY idx_shadow_failures_open (migration_id, repaired_at, id)
  ) ENGINE=InnoDB`,
  // One row per binlog capture stream of a migration (see @cleave/capture): where it resumes, who
  // runs it (a lease whose token fences every checkpoint) and what it has done.
  `CREATE TABLE IF NOT EXISTS capture_streams (
    migration_id VARCHAR(32) NOT NULL,
    stream VARCHAR(96) NOT NULL,
    server VARCHAR(64) NOT NULL,
    epoch BIGINT UNSIGNED NOT NULL,
    binlog_file VARCHAR(255) NOT NULL,
    binlog_pos BIGINT UNSIGNED NOT NULL,
    gtid VARCHAR(255) NULL,
    state VARCHAR(16) NOT NULL,
    error TEXT NULL,
    owner VARCHAR(191) NULL,
    token BIGINT UNSIGNED NOT NULL DEFAULT 0,
    lease_until DATETIME(6) NULL,
    changes_applied BIGINT UNSIGNED NOT NULL DEFAULT 0,
    last_event_at DATETIME(6) NULL,
    lag_ms BIGINT UNSIGNED NULL,
    checkpointed_at DATETIME(6) NULL,
    catch_up_seq BIGINT UNSIGNED NOT NULL DEFAULT 0,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (migration_id, stream)
  ) ENGINE=InnoDB`,
  // One row per live router (see RouterRegistry): the registry no router configuration can hide from.
  `CREATE TABLE IF NOT EXISTS routers (
    router_id VARCHAR(191) NOT NULL PRIMARY KEY,
    service VARCHAR(191) NOT NULL,
    routing_prefix VARCHAR(191) NULL,
    host VARCHAR(255) NOT NULL,
    pid INT UNSIGNED NOT NULL,
    started_at DATETIME(6) NOT NULL,
    heartbeat_at DATETIME(6) NOT NULL,
    KEY idx_routers_heartbeat (heartbeat_at)
  ) ENGINE=InnoDB`,
] as const;

/**
 * Columns added after version 1, for control databases created by an older cleave. Each is added
 * (by `ControlStore.open`) only when `information_schema` says it is missing, so opening is still
 * idempotent, works on MariaDB and MySQL 8 (no `ADD COLUMN IF NOT EXISTS`), and older rows get
 * the default. Fresh databases get them from {@link CONTROL_TABLES}.
 */
export const CONTROL_COLUMN_UPGRADES = [
  {
    version: 2,
    table: 'migrations',
    column: 'coordinator_token',
    /** The highest coordinator fencing token the store has seen for the migration (0: none yet). */
    definition: 'BIGINT UNSIGNED NOT NULL DEFAULT 0 AFTER epoch',
  },
  {
    version: 3,
    table: 'capture_streams',
    column: 'catch_up_seq',
    /** Bumped by a switch that waits for the stream: the stream checkpoints when it reads the change. */
    definition: 'BIGINT UNSIGNED NOT NULL DEFAULT 0 AFTER checkpointed_at',
  },
  {
    version: 4,
    table: 'migrations',
    column: 'capture',
    /** 1: a binlog capture stream carries the writes, and routers do no shadow work where nobody reads the shadow. */
    definition: 'TINYINT(1) NOT NULL DEFAULT 0 AFTER coordinator_token',
  },
  {
    version: 5,
    table: 'migrations',
    column: 'guard_epoch',
    /** The epoch of the placement guard: the migration's epoch when the write primary last moved. */
    definition: 'BIGINT UNSIGNED NOT NULL DEFAULT 1 AFTER capture',
  },
  {
    version: 6,
    table: 'shadow_failures',
    column: 'guard_epoch',
    /** The placement (guard epoch) the failed write was routed under: its primary had the write. NULL: unknown. */
    definition: 'BIGINT UNSIGNED NULL AFTER error',
  },
  {
    version: 7,
    table: 'migrations',
    column: 'routing_prefix',
    /** The Redis key prefix of the routing channel the migration's fences go out on (NULL: not recorded). */
    definition: 'VARCHAR(191) NULL AFTER guard_epoch',
  },
  {
    version: 8,
    table: 'migrations',
    column: 'cancelled_at',
    /** When `cleave cancel` ended the migration (from planned; terminal). NULL: not cancelled. */
    definition: 'DATETIME(6) NULL AFTER routing_prefix',
  },
  {
    version: 9,
    table: 'backfill_segments',
    column: 'started_at',
    /** When the segment's first chunk began (its first checkpoint minus that chunk's time): a table's copy rate counts from its earliest. */
    definition: 'DATETIME(6) NULL AFTER owner',
  },
  {
    version: 11,
    table: 'capture_streams',
    column: 'behind_bytes',
    /** Bytes of the stream's server binlog after its checkpoint, as the stream last measured them. NULL: not measured yet, or unknown. */
    definition: 'BIGINT UNSIGNED NULL AFTER lag_ms',
  },
] as const;
