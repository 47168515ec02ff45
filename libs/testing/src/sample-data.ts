/**
 * Fills the sample account schema with generated rows inside the server (MariaDB's SEQUENCE
 * engine: no rows cross the network), fast enough for a million users. Values include the hard
 * cases the schema's header asks for: utf8mb4 emoji and latin1-range names, binary values with
 * 0x00, 0x09, 0x0A, 0x5C bytes (and BINARY padding), NULLs, JSON, fractional times.
 */
export interface SampleDataOptions {
  /** Users to create; other tables scale from it (sessions ~3 per user, etc.). */
  readonly users: number;
  /** Skip tables (e.g. to seed only users and sessions). */
  readonly only?: readonly ('users' | 'addresses' | 'email_aliases' | 'sessions' | 'user_keys' | 'user_settings' | 'invoices')[];
}

type Exec = { query(sql: string): Promise<unknown> };

const BATCH = 200_000;

/** Runs `make(from, to)` for id ranges of at most BATCH rows (keeps transactions modest). */
async function inBatches(conn: Exec, total: number, make: (from: number, to: number) => string): Promise<void> {
  for (let from = 1; from <= total; from += BATCH) {
    await conn.query(make(from, Math.min(total, from + BATCH - 1)));
  }
}

const seq = (from: number, to: number) => `seq_${from}_to_${to}`;

export async function seedSampleAccounts(conn: Exec, options: SampleDataOptions): Promise<void> {
  const n = options.users;
  const want = (t: NonNullable<SampleDataOptions['only']>[number]) => !options.only || options.only.includes(t);
  if (want('users')) {
    await inBatches(conn, n, (a, b) => `
      INSERT INTO users (id, email, display_name, password_hash, mfa_secret, status, plan_id, settings, created_at, updated_at, last_login_at, storage_used)
      SELECT seq,
        CONCAT('user', seq, '@example.com'),
        CASE seq % 5 WHEN 0 THEN CONCAT('Zoë 🦊 ', seq) WHEN 1 THEN CONCAT('Jürgen Müller ', seq) WHEN 2 THEN CONCAT('李小龙 ', seq) ELSE CONCAT('User ', seq) END,
        CASE WHEN seq % 7 = 0 THEN CONCAT(UNHEX(SHA2(seq, 256)), X'005C0A09', X'00') ELSE UNHEX(SHA2(seq, 256)) END,
        CASE WHEN seq % 3 = 0 THEN NULL ELSE CONCAT(UNHEX(MD5(seq)), X'00') END,
        ELT(1 + seq % 4, 'active', 'pending', 'suspended', 'deleted'),
        1 + seq % 5,
        CASE WHEN seq % 4 = 0 THEN NULL ELSE JSON_OBJECT('theme', IF(seq % 2, 'dark', 'light'), 'n', seq, 'tags', JSON_ARRAY('a', 'ü')) END,
        TIMESTAMP('2020-01-01 00:00:00') + INTERVAL seq SECOND + INTERVAL (seq % 1000000) MICROSECOND,
        TIMESTAMP('2024-01-01 00:00:00') + INTERVAL seq SECOND + INTERVAL (seq % 999999) MICROSECOND,
        IF(seq % 6 = 0, NULL, TIMESTAMP('2025-01-01') + INTERVAL seq MINUTE),
        seq * 1024
      FROM ${seq(a, b)}`);
  }
  if (want('user_settings')) {
    await inBatches(conn, n, (a, b) => `
      INSERT INTO user_settings (user_id, locale, time_zone, features, quota_bytes, prefs, updated_at)
      SELECT seq, ELT(1 + seq % 3, 'en_US', 'de_DE', 'fr_FR'), ELT(1 + seq % 3, 'UTC', 'Europe/Zurich', 'Asia/Tokyo'),
        ELT(1 + seq % 4, '', 'beta', 'beta,2fa', '2fa,vpn,drive'), 1073741824 + seq,
        IF(seq % 5 = 0, NULL, JSON_OBJECT('lang', 'x', 'v', seq)), TIMESTAMP('2024-06-01') + INTERVAL seq SECOND
      FROM ${seq(a, b)}`);
  }
  if (want('addresses')) {
    const rows = Math.round(n * 1.5);
    await inBatches(conn, rows, (a, b) => `
      INSERT INTO addresses (id, user_id, kind, line1, line2, city, region, postal_code, country_code, is_default, created_at)
      SELECT seq, 1 + (seq * 7919) % ${n}, ELT(1 + seq % 4, 'billing', 'shipping', 'home', 'work'), CONCAT(seq, ' Main St'),
        IF(seq % 3 = 0, NULL, 'Apt. 5'), ELT(1 + seq % 3, 'Zürich', 'Genève', 'Tōkyō'), IF(seq % 2, NULL, 'ZH'),
        LPAD(seq % 100000, 5, '0'), ELT(1 + seq % 3, 'CH', 'DE', 'JP'), seq % 2, TIMESTAMP('2021-01-01') + INTERVAL seq SECOND
      FROM ${seq(a, b)}`);
  }
  if (want('email_aliases')) {
    const rows = n * 2;
    await inBatches(conn, rows, (a, b) => `
      INSERT INTO email_aliases (id, user_id, alias, verified_at, created_at)
      SELECT seq, 1 + (seq - 1) % ${n}, CONCAT('alias', seq, '@mail.example'), IF(seq % 4 = 0, NULL, TIMESTAMP('2022-01-01') + INTERVAL seq SECOND),
        TIMESTAMP('2021-06-01') + INTERVAL seq SECOND + INTERVAL 123456 MICROSECOND
      FROM ${seq(a, b)}`);
  }
  if (want('sessions')) {
    const rows = n * 3;
    await inBatches(conn, rows, (a, b) => `
      INSERT INTO sessions (id, user_id, token_hash, ip, user_agent, created_at, expires_at, revoked_at)
      SELECT seq, 1 + (seq - 1) % ${n}, UNHEX(SHA2(CONCAT('t', seq), 256)),
        IF(seq % 2, UNHEX(LPAD(HEX(seq), 8, '0')), UNHEX(CONCAT('20010db8', LPAD(HEX(seq), 24, '0')))),
        IF(seq % 5 = 0, NULL, ELT(1 + seq % 3, 'Mozilla/5.0 (X11; Linux)', 'curl/8.0', 'Proton Mail Android')),
        TIMESTAMP('2025-01-01') + INTERVAL seq SECOND + INTERVAL (seq % 1000) MICROSECOND,
        TIMESTAMP('2025-02-01') + INTERVAL seq SECOND, IF(seq % 9 = 0, TIMESTAMP('2025-01-15') + INTERVAL seq SECOND, NULL)
      FROM ${seq(a, b)}`);
  }
  if (want('user_keys')) {
    const rows = Math.round(n * 1.5);
    await inBatches(conn, rows, (a, b) => `
      INSERT INTO user_keys (id, user_id, fingerprint, algorithm, public_key, private_key, flags, primary_key, created_at)
      SELECT seq, 1 + (seq - 1) % ${n}, UNHEX(SHA1(CONCAT('k', seq))), ELT(1 + seq % 3, 'rsa4096', 'ed25519', 'x25519'),
        CONCAT(UNHEX(SHA2(CONCAT('p', seq), 512)), X'000A5C09'), REPEAT(UNHEX(SHA2(CONCAT('s', seq), 512)), 4), seq % 256, IF(seq <= ${n}, 1, 0),
        TIMESTAMP('2023-01-01') + INTERVAL seq SECOND
      FROM ${seq(a, b)}`);
  }
  if (want('invoices')) {
    const rows = n * 4;
    await inBatches(conn, rows, (a, b) => `
      INSERT INTO invoices (user_id, invoice_no, amount, currency, state, issued_at, paid_at)
      SELECT 1 + (seq - 1) % ${n}, 1 + (seq - 1) DIV ${n}, (seq % 100000) / 100 + 0.0001, ELT(1 + seq % 3, 'EUR', 'CHF', 'USD'),
        ELT(1 + seq % 4, 'open', 'paid', 'void', 'refunded'), DATE('2024-01-01') + INTERVAL (seq % 365) DAY,
        IF(seq % 4 = 1, TIMESTAMP('2024-02-01') + INTERVAL seq SECOND + INTERVAL 500 MICROSECOND, NULL)
      FROM ${seq(a, b)}`);
  }
}
