import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { CleaveError } from '@cleave/core';
import type { CliContext, GlobalOptions } from './cli-context.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { emit, fmtTime } from './output.js';
import type { PlanCommandOptions } from './commands/plan-command.js';

// Each command's modules (and the database, Redis and queue clients they use) load when that
// command runs: `cleave --help`, `--version` and a usage error start without them.

const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  the operation failed, or verification left differences
  2  bad input (plan, config or arguments); nothing was changed
  3  refused (plan does not fit the schema, precondition failed, conflict)
  4  not found (a migration, or a database on a server)
  5  a server could not be reached, or refused cleave's login (wrong user or password)

Configuration: servers by name in cleave.config.json ("servers": {"source": "mysql://user:pass@host:3306"})
or CLEAVE_SERVER_<NAME>=mysql://…; CLEAVE_REDIS_URL; CLEAVE_CONTROL_SERVER / CLEAVE_CONTROL_DATABASE.
Passwords are never printed.`;

/** Runs an action with a context, printing one clear sentence (and a hint) on failure. */
async function run(globals: GlobalOptions, action: (ctx: CliContext) => Promise<number | void>): Promise<void> {
  let ctx: CliContext | undefined;
  try {
    const { CliContext } = await import('./cli-context.js');
    ctx = new CliContext(globals);
    process.exitCode = (await action(ctx)) ?? EXIT.ok;
  } catch (thrown) {
    // A driver error that names no server gets the server named; every error gets a code.
    const { asCleaveError } = await import('./cli-errors.js');
    const error = asCleaveError(ctx === undefined ? thrown : await ctx.nameUnreachable(thrown));
    process.exitCode = exitCodeOf(error);
    if (globals.json) {
      process.stdout.write(`${JSON.stringify({ error: error.toJSON() })}\n`);
    } else {
      process.stderr.write(`cleave: ${error.message}\n`);
      if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    }
    if (globals.debug) process.stderr.write(`${(thrown as Error).stack ?? ''}\n`);
  } finally {
    await ctx?.close().catch(() => undefined);
  }
}

/** This package's version (package.json sits one level above both src/ and the built dist/). */
const CLI_VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export function buildProgram(): Command {
  const program = new Command('cleave')
    .description('Split a busy MySQL/MariaDB database online: plan, backfill, verify, cut over.')
    .version(CLI_VERSION, '-V, --version', 'print the version of cleave')
    .option('-c, --config <file>', 'config file with servers, Redis and control store (default ./cleave.config.json)')
    .option('--json', 'print machine-readable JSON')
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError()
    .addHelpText('after', EXIT_CODES_HELP);

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();

  const collect = (value: string, previous: string[]) => [...previous, value];
  program
    .command('plan')
    .description('plan a split from the source schema and workload (or a split you already know); writes a validated plan file')
    .option('-d, --database <db>', 'source database to split')
    .addOption(new Option('--source <server>', 'source server name').default('source'))
    .option('--name <name>', 'migration name (default split-<database>)')
    .option('--target <spec>', 'a target: NAME=SERVER[/DATABASE] or SERVER (repeatable; groups go to targets in this order)', collect, [])
    .option('--groups <k>', 'servers after the split, the source included (default: source + every target)')
    .option('--capacity <share>', 'most share (0..1) of today\'s load one server may carry: the fewest servers that fit')
    .option('--keep <tables>', 'tables that stay on the source (comma list, repeatable)', collect, [])
    .option('--together <tables>', 'tables that must stay together (comma list, repeatable)', collect, [])
    .option('--allow-fk-split', 'let foreign-key-connected tables land apart; the crossing keys are dropped on the target')
    .option('--move <tables>', 'known split: tables that move together (comma list; pair each with --to)', collect, [])
    .option('--to <target>', 'target of the matching --move: NAME=SERVER[/DATABASE] or SERVER', collect, [])
    .option('--shard <spec>', 'shard a table by key ranges: TABLE[.COLUMN][:TARGET,TARGET…] (repeatable)', collect, [])
    .option('--slow-log <file>', 'read the workload from a slow-query log (long_query_time = 0)')
    .option('--general-log <file>', 'read the workload from a general-query log (shows transactions)')
    .option('--workload <origin>', 'performance_schema (default for computed splits) or none (default with --move)')
    .option('--window <seconds>', 'with performance_schema: plan on the statements of the next N seconds only')
    .option('--allow-thin-workload', 'compute a split from a workload under 1,000 executions anyway (refused otherwise: a few statements would decide every table)')
    .option('-o, --output <file>', 'where to write the plan (default ./<name>.json)')
    .addHelpText(
      'after',
      '\nExamples:\n  cleave plan -d accounts --target target1 --target target2\n  cleave plan -d accounts --target mail=target1 --capacity 0.6 --keep users\n' +
        '  cleave plan -d accounts --move users,addresses --to target1 --allow-fk-split\n  cleave plan -d accounts --shard invoices.user_id:target1,target2 --json',
    )
    .action((opts: PlanCommandOptions) =>
      run(globals(), async (ctx) => {
        const { formatPlanOutput, planCommand, planJson } = await import('./commands/plan-command.js');
        const { result, file } = await planCommand(ctx, opts, (line) => {
          if (!globals().json && process.stderr.isTTY) process.stderr.write(`${line}\n`);
        });
        emit(Boolean(globals().json), planJson(result, file), () => formatPlanOutput(result, file));
      }),
    );

  program
    .command('start')
    .description('register a migration from a plan and enqueue its backfill')
    .argument('<plan.json>', 'plan file (see `cleave plan`)')
    .option('--no-capture', 'do not capture changes from the source binlog: writes made outside @cleave/router are then caught only by verification passes')
    .addHelpText(
      'after',
      '\nChanges are captured from the source\'s ROW binlog from before the first chunk is copied; start refuses a source\n' +
        'without a ROW binlog or without REPLICATION SLAVE/CLIENT for cleave\'s account, naming each fix.\n' +
        '\nExample:\n  cleave start split-mail.json\n  cleave start split-mail.json --json | jq -r .id',
    )
    .action((planFile: string, options: { capture: boolean }) =>
      run(globals(), async (ctx) => {
        const { DUAL_WRITE_ACK_TIMEOUT_MS, startMigration } = await import('./commands/start-command.js');
        const { migration: m, lateRouters, resumed } = await startMigration(ctx, planFile, { capture: options.capture });
        emit(Boolean(globals().json), { id: m.id, name: m.name, phase: m.phase, epoch: m.epoch, capture: m.capture, lateRouters, resumed }, () =>
          [
            resumed ? `resumed migration ${m.name} (id ${m.id}): an earlier start stopped before queuing the copy; it is queued now` : `started migration ${m.name} (id ${m.id}), phase ${m.phase}`,
            m.capture ? 'changes are captured from the source binlog' : 'WARNING: no binlog capture: writes made outside @cleave/router reach the target only through verification passes',
            ...(lateRouters.length > 0
              ? [`WARNING: routers ${lateRouters.join(', ')} did not acknowledge dual writes within ${DUAL_WRITE_ACK_TIMEOUT_MS} ms; the copy started anyway: rows they change before they reload may differ until a verification pass repairs them`]
              : []),
            `watch it: cleave status ${m.id}`,
            'workers copy it: cleave worker',
          ].join('\n'),
        );
      }),
    );

  program
    .command('status')
    .description('show a migration (phase, backfill progress, throttling, verification, events), or list them')
    .argument('[id]', 'migration id or name; omit to list all')
    .option('-w, --watch', 'live progress per table (percent, rows/s, ETA) and throttle state until copied and verified; redrawn in place on a terminal, appended lines otherwise; exit 1 on --timeout or differences')
    .addOption(new Option('--interval <seconds>', 'refresh interval of --watch').default('2'))
    .addOption(new Option('--timeout <seconds>', 'stop --watch after this long (0: until done)').default('0'))
    .addHelpText('after', '\nExamples:\n  cleave status\n  cleave status split-mail --json\n  cleave status split-mail --watch')
    .action((id: string | undefined, opts: { watch?: boolean; interval: string; timeout: string }) =>
      run(globals(), async (ctx) => {
        const { formatStatus, listMigrations, migrationStatus } = await import('./commands/status-command.js');
        if (id === undefined) {
          const all = await listMigrations(ctx);
          emit(Boolean(globals().json), all.map((m) => ({ id: m.id, name: m.name, phase: m.phase, epoch: m.epoch, cancelled: m.cancelledAt !== null, createdAt: m.createdAt })), () =>
            all.length === 0 ? 'no migrations' : all.map((m) => `${m.id}  ${m.name.padEnd(24)} ${(m.cancelledAt === null ? m.phase : 'cancelled').padEnd(16)} ${fmtTime(m.createdAt)}`).join('\n'),
          );
          return;
        }
        await ctx.requireRedis(); // routers, shadow reads and queues live there
        if (opts.watch) {
          const intervalMs = Number(opts.interval) * 1000;
          const timeoutMs = Number(opts.timeout) * 1000;
          if (!(intervalMs > 0) || !(timeoutMs >= 0)) throw new CleaveError('INVALID_ARGUMENT', '--interval must be a positive number of seconds and --timeout a non-negative one');
          const { watchFinished, watchStatus } = await import('./commands/watch-status.js');
          const last = await watchStatus(ctx, id, { intervalMs, timeoutMs });
          if (globals().json) emit(true, last, () => '');
          if (!watchFinished(last)) {
            // --timeout ran out first: not a success for a script waiting on it.
            process.stderr.write(`--timeout ${opts.timeout} s ran out before the migration was copied and verified\n`);
            return EXIT.failed;
          }
          const verification = last.verification.at(-1);
          if (verification?.clean === false) {
            process.stderr.write(`verification run ${verification.id} left differences: cleave verify ${last.migration.name} --repair\n`);
            return EXIT.failed;
          }
          return;
        }
        const status = await migrationStatus(ctx, id);
        emit(Boolean(globals().json), status, () => formatStatus(status));
      }),
    );

  program
    .command('verify')
    .description('compare every row of every moved table (checksums per chunk, row diff where they differ); exit 1 while differences remain')
    .argument('<id>', 'migration id or name')
    .option('--repair', 'repair differences from the primary until a full pass is clean')
    .addOption(new Option('--max-passes <n>', 'most full passes with --repair').default('5'))
    .addHelpText('after', '\nExamples:\n  cleave verify split-mail\n  cleave verify split-mail --repair --json')
    .action((id: string, opts: { repair?: boolean; maxPasses: string }) =>
      run(globals(), async (ctx) => {
        const maxPasses = Number(opts.maxPasses);
        if (!Number.isInteger(maxPasses) || maxPasses < 1) throw new CleaveError('INVALID_ARGUMENT', `--max-passes must be a positive integer, got "${opts.maxPasses}"`);
        const { formatVerification, verifyCommand } = await import('./commands/verify-command.js');
        const report = await verifyCommand(ctx, id, { repair: Boolean(opts.repair), maxPasses }, globals().json ? undefined : process.stderr);
        emit(Boolean(globals().json), report, () => formatVerification(report));
        return report.clean ? EXIT.ok : EXIT.failed;
      }),
    );

  program
    .command('worker')
    .description('run a backfill/verify worker (BullMQ) with its dashboard, /health and /metrics, until SIGTERM')
    .addOption(new Option('--port <port>', 'dashboard/health/metrics HTTP port').default('8787'))
    .argument('[worker-options...]', 'worker options after --, e.g. -- --concurrency 4 --nice-ratio 0')
    .addHelpText(
      'after',
      '\nThe defaults protect the source (one copy lane, a nice ratio of 4, throttle decisions held 2 s, CPU niceness 10: the copy runs slowly); see `npm run worker -- --help`.\n' +
        'Example:\n  CLEAVE_SERVER_SOURCE=mysql://… CLEAVE_REDIS_URL=redis://… cleave worker -- --concurrency 4',
    )
    .action(async (passThrough: string[], opts: { port: string }) => {
      const { runWorkerProcess } = await import('./commands/worker-command.js');
      process.exitCode = await runWorkerProcess({ ...globals(), ...opts, passThrough });
    });

  program
    .command('cutover')
    .description('move a migration one phase forward (or to --to): named preconditions, fenced switch of the write primary; --dry-run prints the exact steps')
    .argument('<id>', 'migration id or name')
    .option('--to <phase>', 'target phase (one step: the next phase, or the previous one)')
    .option('--dry-run', 'print the checks and the exact steps; change nothing')
    .option('--reason <text>', 'why (recorded with the event)')
    .option('--accept-uncaptured-writes', 'switch a migration without binlog capture and with no router registered: writes made since the last verification pass are lost')
    .addHelpText('after', '\nExamples:\n  cleave cutover split-mail --dry-run\n  cleave cutover split-mail --to reads_switched --reason "soak ok"')
    .action((id: string, opts: { to?: string; dryRun?: boolean; reason?: string; acceptUncapturedWrites?: boolean }) =>
      run(globals(), async (ctx) => {
        await ctx.requireRedis(); // the lease and the routing channel live there
        const { exitCodeOfResult, formatCutover, openCutover, parsePhase } = await import('./commands/cutover-command.js');
        const { cutover, close } = await openCutover(ctx);
        try {
          const to = parsePhase(opts.to);
          const result = await cutover.change(id, {
            ...(to === undefined ? {} : { to }),
            dryRun: Boolean(opts.dryRun),
            acceptUncapturedWrites: Boolean(opts.acceptUncapturedWrites),
            reason: opts.reason ?? `cleave cutover${to ? ` --to ${to}` : ''}`,
          });
          emit(Boolean(globals().json), result, () => formatCutover(result));
          return exitCodeOfResult(result);
        } finally {
          await close();
        }
      }),
    );

  program
    .command('rollback')
    .description('move a migration one phase back (every phase but planned and finalized)')
    .argument('<id>', 'migration id or name')
    .option('--dry-run', 'print the checks and the exact steps; change nothing')
    .option('--reason <text>', 'why (recorded with the event)')
    .addHelpText('after', '\nExample:\n  cleave rollback split-mail --reason "p99 latency up on the target"')
    .action((id: string, opts: { dryRun?: boolean; reason?: string }) =>
      run(globals(), async (ctx) => {
        await ctx.requireRedis(); // the lease and the routing channel live there
        const { rollbackCommand } = await import('./commands/rollback-command.js');
        const { exitCodeOfResult, formatCutover } = await import('./commands/cutover-command.js');
        const result = await rollbackCommand(ctx, id, { dryRun: Boolean(opts.dryRun), ...(opts.reason === undefined ? {} : { reason: opts.reason }) });
        emit(Boolean(globals().json), result, () => formatCutover(result));
        return exitCodeOfResult(result);
      }),
    );

  program
    .command('capture-reset')
    .description('restart the binlog capture of a migration at the binlog end (after a purged checkpoint or DDL on a moved table); run `cleave verify <id> --repair` next')
    .argument('<id>', 'migration id or name')
    .addHelpText('after', '\nExample:\n  cleave capture-reset split-mail && cleave verify split-mail --repair')
    .action((id: string) =>
      run(globals(), async (ctx) => {
        const { captureResetCommand } = await import('./commands/capture-reset-command.js');
        const result = await captureResetCommand(ctx, id);
        emit(Boolean(globals().json), result, () =>
          [
            ...result.streams.map((s) => `capture stream ${s.stream} restarts on ${s.server} at ${s.from}`),
            `changes before that position and after the old checkpoint were not captured: run cleave verify ${id} --repair now`,
          ].join('\n'),
        );
      }),
    );

  program
    .command('finalize')
    .description('IRREVERSIBLE: stop writes to the source and rename its moved tables to _cleave_archived_* (not dropped); needs --approve')
    .argument('<id>', 'migration id or name')
    .option('--approve', 'approve the irreversible step')
    .option('--dry-run', 'print the checks and the exact steps; change nothing')
    .option('--accept-uncaptured-writes', 'finalize a migration without binlog capture and with no router registered: writes made since the last verification pass are lost')
    .addHelpText('after', '\nExample:\n  cleave finalize split-mail --dry-run\n  cleave finalize split-mail --approve')
    .action((id: string, opts: { approve?: boolean; dryRun?: boolean; acceptUncapturedWrites?: boolean }) =>
      run(globals(), async (ctx) => {
        await ctx.requireRedis(); // the lease and the routing channel live there
        const { finalizeCommand } = await import('./commands/finalize-command.js');
        const { exitCodeOfResult, formatCutover } = await import('./commands/cutover-command.js');
        const result = await finalizeCommand(ctx, id, { approve: Boolean(opts.approve), dryRun: Boolean(opts.dryRun), acceptUncapturedWrites: Boolean(opts.acceptUncapturedWrites) });
        emit(Boolean(globals().json), result, () => formatCutover(result));
        return exitCodeOfResult(result);
      }),
    );

  program
    .command('drop-archive')
    .description('IRREVERSIBLE: drop the _cleave_archived_* tables a finalized migration left on the source; needs --approve')
    .argument('<id>', 'migration id or name')
    .option('--approve', 'approve dropping the archived tables')
    .option('--dry-run', 'list the archived tables it would drop; change nothing')
    .option('--reason <text>', 'why (recorded with the event)')
    .addHelpText(
      'after',
      '\nOnly for a finalized migration; drops only the archives finalize recorded that still exist, records an event; a re-run finds nothing to drop.\n' +
        'Example:\n  cleave drop-archive split-mail --dry-run\n  cleave drop-archive split-mail --approve',
    )
    .action((id: string, opts: { approve?: boolean; dryRun?: boolean; reason?: string }) =>
      run(globals(), async (ctx) => {
        await ctx.requireRedis(); // the lease and the routing channel live there
        const { dropArchiveCommand, formatDropArchive } = await import('./commands/drop-archive-command.js');
        const { output, exitCode } = await dropArchiveCommand(ctx, id, { approve: Boolean(opts.approve), dryRun: Boolean(opts.dryRun), ...(opts.reason === undefined ? {} : { reason: opts.reason }) });
        emit(Boolean(globals().json), output, () => formatDropArchive(output));
        return exitCode;
      }),
    );

  program
    .command('cancel')
    .description('end a migration before its writes switch: roll back to planned, remove its jobs, drop the target tables cleave start created; needs --approve')
    .argument('<id>', 'migration id or name')
    .option('--approve', 'do it (without: list what it would do, change nothing)')
    .option('--reason <text>', 'why (recorded with the event)')
    .addHelpText('after', '\nTarget tables that existed before cleave start are kept. After writes_switched, roll back first.\nExample:\n  cleave cancel split-mail\n  cleave cancel split-mail --approve')
    .action((id: string, opts: { approve?: boolean; reason?: string }) =>
      run(globals(), async (ctx) => {
        await ctx.requireRedis(); // the lease and the routing channel live there
        const { cancelCommand, formatCancel } = await import('./commands/cancel-command.js');
        const outcome = await cancelCommand(ctx, id, { approve: Boolean(opts.approve), ...(opts.reason === undefined ? {} : { reason: opts.reason }) });
        emit(Boolean(globals().json), outcome, () => formatCancel(outcome));
        return outcome.outcome === 'approval-required' ? EXIT.refused : EXIT.ok;
      }),
    );

  program
    .command('demo')
    .description('the demo: local services, a sample account database and a live routed service, split end to end with every write checked (npm run demo)')
    .argument('[demo-options...]', 'demo options after --, e.g. -- --users 20000 --keep-running')
    .addHelpText('after', '\nExample:\n  cleave demo -- --users 50000 --keep-running\nOptions: cleave demo -- --help')
    .action(async (passThrough: string[]) => {
      const { runDemoProcess } = await import('./commands/demo-command.js');
      process.exitCode = await runDemoProcess(passThrough);
    });

  program
    .command('coordinator')
    .description('run the coordinator service: finishes or aborts changes whose coordinator died, until SIGTERM')
    .addHelpText('after', '\nExample:\n  CLEAVE_SERVER_SOURCE=mysql://… CLEAVE_REDIS_URL=redis://… cleave coordinator')
    .action(async () => {
      const { config } = globals();
      const { runCoordinatorProcess } = await import('./commands/coordinator-command.js');
      process.exitCode = await runCoordinatorProcess(config === undefined ? {} : { config });
    });

  // Usage errors (an unknown option, a missing argument) of every subcommand too: main() maps them to exit 2.
  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Parses argv and runs; usage errors exit 2 with commander's message. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.badInput;
      return;
    }
    throw error;
  }
}
