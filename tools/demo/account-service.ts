/**
 * The demo's sample account service: its own process, its own mysql2 pools, and every query
 * through `@cleave/router` (Kysely + CleaveDialect). It runs a steady mixed load (writes to
 * email_aliases and sessions, reads of users, aliases and sessions) and keeps a ledger of every
 * acknowledged write (row id -> the value it last wrote). Settings come as JSON in argv[2].
 *
 * Prints JSON lines: `ready` (with its router id), `stats` on SIGUSR2, and `final` on SIGTERM
 * (loops finish their current call, then the router closes) with the stats and the ledger.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kysely } from 'kysely';
import { MysqlPools, parseConnectionUrl } from '@cleave/mysql';
import { openCleaveDialect, type RouterPool } from '@cleave/router';
import type { ServiceSettings, ServiceStats } from './demo-types.js';

interface DB {
  users: { id: string; email: string; display_name: string };
  email_aliases: { id?: string; user_id: number; alias: string; verified_at: string | null; created_at: string };
  sessions: { id?: string; user_id: number; token_hash: Buffer; ip: Buffer; user_agent: string | null; created_at: string; expires_at: string };
}

const settings = JSON.parse(process.argv[2] ?? '{}') as ServiceSettings;
const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

const pools = new MysqlPools({ maxConnectionsPerServer: 30 });
const servers: Record<string, RouterPool> = {};
for (const [name, url] of Object.entries(settings.servers)) servers[name] = pools.pool(parseConnectionUrl(url), { connectionLimit: 12 }).callback as unknown as RouterPool;
// As docs/router.md tells a service: the router from cleave's config file (the one the demo's CLI
// uses), the service's own pools, a local journal for failed shadow writes, and shadow reads.
const journalDir = mkdtempSync(path.join(os.tmpdir(), 'cleave-demo-service-'));
const { dialect, close: closeRouter } = await openCleaveDialect({
  servers,
  configFile: settings.configFile,
  journalPath: path.join(journalDir, 'shadow.journal'),
  service: 'demo-account-service',
  // One read in five also runs on the other side from `verified` on; the switch of writes
  // requires that none differed (shadow-read-mismatches-zero).
  shadowReads: { sampleRate: 0.2 },
  log: (entry) => {
    if (entry.level === 'warn' || entry.level === 'error') print({ type: 'router-log', ...entry });
  },
});
const db = new Kysely<DB>({ dialect });

const stats: ServiceStats = { writes: 0, failedWrites: 0, reads: 0, failedReads: 0, maxWriteMs: 0, maxReadMs: 0, errors: [] };
const aliases = new Map<string, string | null>();
const sessions = new Map<string, string | null>();
const uncertain: string[] = [];
let stopping = false;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BASE = Date.UTC(2030, 0, 1);
const datetime = (n: number) => new Date(BASE + n * 1000).toISOString().slice(0, 19).replace('T', ' ');
const randomUser = () => 1 + Math.floor(Math.random() * settings.users);
const noteError = (kind: string, error: unknown) => {
  if (stats.errors.length < 20) stats.errors.push(`${kind}: ${(error as Error).message}`);
};

/** Runs `step` every `intervalMs` (no bursts to catch up after a slow step) until stopping. */
async function paced(intervalMs: number, step: (i: number) => Promise<void>): Promise<void> {
  let next = Date.now() + Math.random() * intervalMs;
  for (let i = 0; !stopping; i++) {
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    if (stopping) break;
    await step(i);
    next = Math.max(next + intervalMs, Date.now());
  }
}

/** One writer loop: it alone updates the rows it inserted, so its ledger order is the rows' order. */
async function writeLoop(loop: number): Promise<void> {
  const ownAliases: string[] = [];
  const ownSessions: string[] = [];
  let n = loop * 10_000_000;
  await paced((settings.writeLoops * 1000) / settings.writesPerSecond, async (i) => {
    n += 1;
    const kind = i % 4;
    const startedAt = Date.now();
    let key = '';
    try {
      if (kind === 0 || (kind === 2 && ownAliases.length === 0)) {
        const alias = `demo-${loop}-${n}@mail.example`;
        const value = datetime(n);
        const r = await db.insertInto('email_aliases').values({ user_id: randomUser(), alias, verified_at: value, created_at: datetime(0) }).executeTakeFirstOrThrow();
        key = `a${r.insertId}`;
        ownAliases.push(String(r.insertId));
        aliases.set(String(r.insertId), value);
      } else if (kind === 1 || ownSessions.length === 0) {
        const value = `demo-agent-${n}`;
        const token = Buffer.alloc(32);
        token.writeUInt32BE(loop, 0);
        token.writeUInt32BE(n, 4);
        const r = await db
          .insertInto('sessions')
          .values({ user_id: randomUser(), token_hash: token, ip: Buffer.from([127, 0, 0, 1]), user_agent: value, created_at: datetime(0), expires_at: datetime(n) })
          .executeTakeFirstOrThrow();
        key = `s${r.insertId}`;
        ownSessions.push(String(r.insertId));
        sessions.set(String(r.insertId), value);
      } else if (kind === 2) {
        const id = ownAliases[Math.floor(Math.random() * ownAliases.length)]!;
        key = `a${id}`;
        const value = datetime(n);
        await db.updateTable('email_aliases').set({ verified_at: value }).where('id', '=', id).execute();
        aliases.set(id, value);
      } else {
        const id = ownSessions[Math.floor(Math.random() * ownSessions.length)]!;
        key = `s${id}`;
        const value = `demo-agent-${n}`;
        await db.updateTable('sessions').set({ user_agent: value }).where('id', '=', id).execute();
        sessions.set(id, value);
      }
      stats.writes += 1;
    } catch (error) {
      stats.failedWrites += 1;
      // The row may or may not hold the failed write's value: leave it out of the ledger check.
      if (key) uncertain.push(key);
      noteError('write', error);
    }
    stats.maxWriteMs = Math.max(stats.maxWriteMs, Date.now() - startedAt);
  });
}

async function readLoop(loop: number): Promise<void> {
  await paced((settings.readLoops * 1000) / settings.readsPerSecond, async (i) => {
    const startedAt = Date.now();
    try {
      const user = randomUser();
      if (i % 3 === 0) await db.selectFrom('users').select(['id', 'email']).where('id', '=', String(user)).execute();
      else if (i % 3 === 1) await db.selectFrom('email_aliases').select(['id', 'alias', 'verified_at']).where('user_id', '=', user).execute();
      else await db.selectFrom('sessions').select(['id', 'user_agent']).where('user_id', '=', user).limit(5).execute();
      stats.reads += 1;
    } catch (error) {
      stats.failedReads += 1;
      noteError(`read ${loop}`, error);
    }
    stats.maxReadMs = Math.max(stats.maxReadMs, Date.now() - startedAt);
  });
}

print({ type: 'ready', routerId: dialect.router.routerId });
process.on('SIGUSR2', () => print({ type: 'stats', ...stats }));
const stopped = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
const loops = [
  ...Array.from({ length: settings.writeLoops }, (_, i) => writeLoop(i)),
  ...Array.from({ length: settings.readLoops }, (_, i) => readLoop(i)),
];
await stopped;
stopping = true;
await Promise.all(loops);
await db.destroy();
await closeRouter();
await pools.end();
rmSync(journalDir, { recursive: true, force: true });
for (const key of uncertain) (key.startsWith('a') ? aliases : sessions).delete(key.slice(1));
print({ type: 'final', ...stats, ledger: { email_aliases: Object.fromEntries(aliases), sessions: Object.fromEntries(sessions) }, uncertain: uncertain.length });
process.exit(0);
