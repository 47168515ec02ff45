import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import { isCleaveError } from '@cleave/core';
import { readMigrationStatus, type ControlStore, type MigrationRecord, type RouterStatus, type ShadowReadStats } from '@cleave/control';
import { DASHBOARD_HTML } from './dashboard-page.js';
import { ProgressHistory } from './progress-history.js';
import { shadowReadView } from './shadow-read-view.js';

/** Phase changes the dashboard may trigger (implemented by the cutover coordinator). */
export interface PhaseActions {
  advance(migrationId: string, actor: string): Promise<MigrationRecord>;
  rollback(migrationId: string, actor: string): Promise<MigrationRecord>;
  finalize(migrationId: string, actor: string): Promise<MigrationRecord>;
}

export interface DashboardConfig {
  readonly port: number;
  readonly host?: string;
  readonly store: ControlStore;
  readonly queues: readonly Queue[];
  readonly health: () => Record<string, unknown>;
  readonly metrics: () => Promise<{ contentType: string; body: string }>;
  /** Without a token the dashboard is read-only. */
  readonly actionToken?: string;
  readonly actions?: PhaseActions;
  /** Live routers and the epoch each acknowledged for a migration. */
  readonly routers?: (migrationId: string) => Promise<RouterStatus[]>;
  /** The routers' shadow reads of a migration, summed (the routing channel). */
  readonly shadowReads?: (migrationId: string) => Promise<ShadowReadStats>;
}


function tokenMatches(expected: string | undefined, header: string | undefined): boolean {
  if (!expected || !header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}

const STATUS_BY_CODE: Record<string, number> = { NOT_FOUND: 404, PRECONDITION_FAILED: 409, CONFLICT: 409, PHASE_TRANSITION_INVALID: 409, APPROVAL_REQUIRED: 400, INVALID_ARGUMENT: 400 };

/**
 * The worker's web server: the migration dashboard (`/`), its JSON API, bull-board (`/queues`),
 * `/health` and Prometheus `/metrics`. Actions need the token; finalize also needs the
 * migration's name typed as confirmation. Nothing served carries a credential: plans name
 * servers, never URLs.
 */
export async function startDashboard(config: DashboardConfig): Promise<{ app: FastifyInstance; port: number; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  const history = new ProgressHistory();

  const board = new FastifyAdapter();
  createBullBoard({ queues: config.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })), serverAdapter: board });
  board.setBasePath('/queues');
  await app.register(board.registerPlugin(), { prefix: '/queues' });

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(DASHBOARD_HTML));
  app.get('/health', async (_req, reply) => {
    const body = config.health();
    return reply.code(body['status'] === 'ok' ? 200 : 503).send(body);
  });
  app.get('/metrics', async (_req, reply) => {
    const m = await config.metrics();
    return reply.type(m.contentType).send(m.body);
  });
  app.get('/api/migrations', async () =>
    (await config.store.listMigrations()).map((m) => ({ id: m.id, name: m.name, phase: m.phase, epoch: m.epoch, createdAt: m.createdAt })),
  );
  app.get<{ Params: { id: string } }>('/api/migrations/:id', async (req, reply) => {
    try {
      const status = await readMigrationStatus(config.store, req.params.id);
      history.record(status.migration.id, { at: Date.now(), rowsCopied: Object.fromEntries(status.backfill.tables.map((t) => [t.table, t.rowsCopied])) });
      const [routers, shadowReads] = await Promise.all([
        config.routers ? config.routers(status.migration.id) : [],
        config.shadowReads ? config.shadowReads(status.migration.id).then((s) => shadowReadView(s, status.migration.epoch)) : null,
      ]);
      return { ...status, routers, shadowReads, rates: history.rates(status.migration.id) };
    } catch (error) {
      return sendError(reply, error);
    }
  });

  const action = (name: keyof PhaseActions) => async (req: FastifyRequest<{ Params: { id: string }; Body: { confirm?: string } | undefined }>, reply: FastifyReply) => {
    if (!tokenMatches(config.actionToken, req.headers.authorization)) {
      return reply.code(401).send({ error: config.actionToken ? 'a valid action token is required' : 'this dashboard is read-only (no action token configured)' });
    }
    if (!config.actions) return reply.code(503).send({ error: 'phase changes need the cutover coordinator, which this worker does not run' });
    try {
      const migration = await config.store.getMigration(req.params.id);
      if (name === 'finalize' && req.body?.confirm !== migration.name) {
        return reply.code(400).send({ error: `finalize is irreversible: type the migration's name (${migration.name}) to confirm` });
      }
      const after = await config.actions[name](migration.id, 'ui');
      return { id: after.id, phase: after.phase, epoch: after.epoch };
    } catch (error) {
      return sendError(reply, error);
    }
  };
  app.post('/api/migrations/:id/advance', action('advance'));
  app.post('/api/migrations/:id/rollback', action('rollback'));
  app.post('/api/migrations/:id/finalize', action('finalize'));

  await app.listen({ port: config.port, host: config.host ?? '127.0.0.1' });
  const address = app.server.address();
  return { app, port: typeof address === 'object' && address ? address.port : config.port, close: () => app.close() };
}

function sendError(reply: FastifyReply, error: unknown) {
  if (isCleaveError(error)) return reply.code(STATUS_BY_CODE[error.code] ?? 500).send({ error: error.message, code: error.code, hint: error.hint });
  return reply.code(500).send({ error: 'internal error' });
}
