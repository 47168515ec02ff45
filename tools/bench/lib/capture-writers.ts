// The write load of bench:capture, in a process of its own (so that the bench process measures
// nothing of it): N connections, each as fast as the source answers, single-row autocommit
// INSERT / UPDATE / DELETE on the sample tables sessions and addresses, for a number of seconds.
// Settings come in BENCH_WRITERS (JSON), the password in BENCH_WRITERS_PASSWORD. Reports on
// stdout, one JSON object a line: {"event":"start"}, {"event":"progress",...} every second,
// {"event":"done",...} at the end.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

export interface WritersSettings {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly writers: number;
  readonly seconds: number;
  /** Highest ids seeded, so updates and deletes hit rows from the start. */
  readonly maxSessionId: number;
  /** A sessions row the bench writes itself (the busy table's heartbeat): never updated or deleted here. */
  readonly reservedSessionId: number;
  readonly maxAddressId: number;
  readonly users: number;
}

export interface WritersReport {
  readonly event: 'start' | 'progress' | 'done';
  readonly ms: number;
  /** Statements acknowledged by the source. */
  readonly statements: number;
  /** Rows they changed (affectedRows). */
  readonly rows: number;
  readonly errors: number;
  /** CPU seconds of this process so far. */
  readonly cpuSeconds: number;
  readonly byKind?: Record<string, number>;
  readonly lastError?: string;
}

const settings = JSON.parse(process.env['BENCH_WRITERS'] ?? '{}') as WritersSettings;
const emit = (report: Omit<WritersReport, 'cpuSeconds'>) => {
  const cpu = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ ...report, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
};

let statements = 0;
let rows = 0;
let errors = 0;
let lastError: string | undefined;
const byKind: Record<string, number> = {};
let maxSession = settings.maxSessionId;
let maxAddress = settings.maxAddressId;
let stopping = false;
process.on('SIGTERM', () => (stopping = true));
process.on('SIGINT', () => (stopping = true));

const pick = (max: number) => 1 + Math.floor(Math.random() * Math.max(1, max));
const pickSession = (): number => {
  for (;;) {
    const id = pick(maxSession);
    if (id !== settings.reservedSessionId) return id;
  }
};
const user = () => pick(settings.users);
const AGENTS = ['Mozilla/5.0 (X11; Linux)', 'curl/8.0', 'Proton Mail Android', null];
const CITIES = ['Zürich', 'Genève', 'Tōkyō', 'Köln'];

type Op = { kind: string; run(conn: mysql.Connection): Promise<number> };
const affected = (result: unknown) => Number((result as { affectedRows?: number }).affectedRows ?? 0);
// The mix: sessions 60 % (insert 20, update 30, delete 10), addresses 40 % (insert 15, update 18, delete 7).
const OPS: Array<[number, Op]> = [
  [20, { kind: 'session_insert', async run(c) {
    const [r] = await c.query('INSERT INTO sessions (user_id, token_hash, ip, user_agent, created_at, expires_at) VALUES (?, ?, ?, ?, NOW(6), NOW(6) + INTERVAL 30 DAY)', [user(), randomBytes(32), randomBytes(Math.random() < 0.5 ? 4 : 16), AGENTS[statements % AGENTS.length]]);
    maxSession = Math.max(maxSession, Number((r as { insertId: number }).insertId));
    return affected(r);
  } }],
  [30, { kind: 'session_update', async run(c) {
    const [r] = await c.query('UPDATE sessions SET expires_at = NOW(6) + INTERVAL 30 DAY, revoked_at = IF(RAND() < 0.1, NOW(6), NULL) WHERE id = ?', [pickSession()]);
    return affected(r);
  } }],
  [10, { kind: 'session_delete', async run(c) {
    const [r] = await c.query('DELETE FROM sessions WHERE id = ?', [pickSession()]);
    return affected(r);
  } }],
  [15, { kind: 'address_insert', async run(c) {
    const [r] = await c.query("INSERT INTO addresses (user_id, kind, line1, city, postal_code, country_code, created_at) VALUES (?, 'home', ?, ?, ?, 'CH', NOW(6))", [user(), `${statements} Main St`, CITIES[statements % CITIES.length], String(statements % 100000).padStart(5, '0')]);
    maxAddress = Math.max(maxAddress, Number((r as { insertId: number }).insertId));
    return affected(r);
  } }],
  [18, { kind: 'address_update', async run(c) {
    const [r] = await c.query('UPDATE addresses SET line2 = ?, is_default = 1 - is_default WHERE id = ?', [`Apt. ${statements % 100}`, pick(maxAddress)]);
    return affected(r);
  } }],
  [7, { kind: 'address_delete', async run(c) {
    const [r] = await c.query('DELETE FROM addresses WHERE id = ?', [pick(maxAddress)]);
    return affected(r);
  } }],
];
const TOTAL_WEIGHT = OPS.reduce((sum, [w]) => sum + w, 0);
function nextOp(): Op {
  let x = Math.random() * TOTAL_WEIGHT;
  for (const [weight, op] of OPS) {
    x -= weight;
    if (x < 0) return op;
  }
  return OPS[0]![1];
}

const connections = await Promise.all(
  Array.from({ length: settings.writers }, () =>
    mysql.createConnection({ host: settings.host, port: settings.port, user: settings.user, password: process.env['BENCH_WRITERS_PASSWORD'], database: settings.database, charset: 'utf8mb4_general_ci' }),
  ),
);
const started = performance.now();
const elapsed = () => Math.round(performance.now() - started);
const until = started + settings.seconds * 1000;
emit({ event: 'start', ms: 0, statements: 0, rows: 0, errors: 0 });
const progress = setInterval(() => emit({ event: 'progress', ms: elapsed(), statements, rows, errors }), 1000);
await Promise.all(
  connections.map(async (conn) => {
    while (!stopping && performance.now() < until) {
      const op = nextOp();
      try {
        const changed = await op.run(conn); // not `rows += await …`: that reads rows before the wait
        rows += changed;
        statements += 1;
        byKind[op.kind] = (byKind[op.kind] ?? 0) + 1;
      } catch (error) {
        errors += 1;
        lastError = (error as Error).message;
        if (errors > 1000 && errors > statements) throw error;
      }
    }
  }),
);
clearInterval(progress);
emit({ event: 'done', ms: elapsed(), statements, rows, errors, byKind, ...(lastError === undefined ? {} : { lastError }) });
await Promise.all(connections.map((c) => c.end().catch(() => undefined)));
