import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import { isCleaveError, redactCredentials } from '@cleave/core';
import type { ControlStore, MigrationRecord, RouterStatus, ShadowReadStats } from '@cleave/control';
import { DASHBOARD_HTML } from './dashboard-page.js';
import { migrationView } from './migration-view.js';
import { phaseStepper } from './phase-stepper.js';
import { PreconditionWatch, type EvaluateStep } from './precondition-watch.js';
import { ProgressSampler } from './progress-sampler.js';
import type { GateThrottling } from './worker-metrics.js';

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
  /** A step's named preconditions, evaluated as `cleave cutover --dry-run` does (the stepper's checks). */
  readonly evaluate?: EvaluateStep;
  /** This worker's throttle gates now (throttled now: reason, value against threshold). */
  readonly throttling?: () => readonly GateThrottling[];
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
  // The rows/s history (and the capture streams' changes/s) is sampled here, page open or not: a page opened late shows the whole copy.
  const sampler = new ProgressSampler(config.store);
  const preconditions = config.evaluate ? new PreconditionWatch(config.evaluate) : undefined;
  const workersAlive = async () => Math.max(0, ...(await Promise.all(config.queues.map(async (q) => (await q.getWorkers()).length))));
  const tokenSet = Boolean(config.actionToken) && config.actions !== undefined;

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
    (await config.store.listMigrations()).map((m) => ({ id: m.id, name: m.name, phase: m.phase, epoch: m.epoch, cancelled: m.cancelledAt !== null, createdAt: m.createdAt })),
  );
  app.get<{ Params: { id: string } }>('/api/migrations/:id', async (req, reply) => {
    try {
      const view = await migrationView(
        {
          store: config.store,
          history: sampler.history,
          captureRates: sampler.captureRates,
          tokenSet,
          workersAlive,
          ...(preconditions ? { preconditions } : {}),
          ...(config.routers ? { routers: config.routers } : {}),
          ...(config.shadowReads ? { shadowReads: config.shadowReads } : {}),
          ...(config.throttling ? { throttling: config.throttling } : {}),
        },
        req.params.id,
      );
      // A safety net: error texts from servers (capture, backfill) could quote a URL with its password.
      return reply.type('application/json; charset=utf-8').send(redactCredentials(JSON.stringify(view)));
    } catch (error) {
      return sendError(reply, error);
    }
  });

  const action = (name: keyof PhaseActions) => async (req: FastifyRequest<{ Params: { id: string }; Body: { confirm?: string; from?: string } | undefined }>, reply: FastifyReply) => {
    if (!tokenMatches(config.actionToken, req.headers.authorization)) {
      return reply.code(401).send({ error: config.actionToken ? 'a valid action token is required' : 'this dashboard is read-only (no action token configured)' });
    }
    if (!config.actions) return reply.code(503).send({ error: 'phase changes need the cutover coordinator, which this worker does not run' });
    try {
      const migration = await config.store.getMigration(req.params.id);
      // The page says which phase it acted on: a change made meanwhile (another page, the CLI) is not stepped over.
      if (req.body?.from !== undefined && req.body.from !== migration.phase) {
        return reply.code(409).send({ error: `migration ${migration.name} is in phase ${migration.phase} now, not ${req.body.from}: look again before acting`, code: 'CONFLICT' });
      }
      // Only what the page offers (the phase table, less the steps left to the CLI); the cutover checks the rest.
      const offered = phaseStepper(migration, null, true).actions;
      if ((name === 'advance' && offered.advance === null) || (name === 'rollback' && offered.rollback === null) || (name === 'finalize' && !offered.finalize)) {
        const why = migration.cancelledAt !== null ? 'it is cancelled' : migration.phase === 'planned' && name === 'advance' ? '`cleave start` moves it out of planned and queues its copy' : name === 'advance' && migration.phase === 'writes_switched' ? 'the step from writes_switched is finalize' : `there is no ${name} from ${migration.phase}`;
        return reply.code(409).send({ error: `${name} is not possible for migration ${migration.name} in phase ${migration.phase}: ${why}`, code: 'PHASE_TRANSITION_INVALID' });
      }
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
  sampler.start();
  const address = app.server.address();
  return {
    app,
    port: typeof address === 'object' && address ? address.port : config.port,
    async close() {
      await sampler.stop();
      await app.close();
    },
  };
}

function sendError(reply: FastifyReply, error: unknown) {
  if (isCleaveError(error)) return reply.code(STATUS_BY_CODE[error.code] ?? 500).send({ error: error.message, code: error.code, hint: error.hint });
  return reply.code(500).send({ error: 'internal error' });
}
