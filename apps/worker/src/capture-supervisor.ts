import type { Logger } from '@cleave/logging';
import type { Pool } from 'mysql2/promise';
import { runCaptureStream, type CaptureProgressEvent } from '@cleave/capture';
import { streamsForPhase, type ControlStore, type MigrationRecord } from '@cleave/control';
import type { ConnectionUrl } from '@cleave/mysql';

/** What {@link CaptureSupervisor} needs from its worker. */
export interface CaptureSupervisorDeps {
  readonly store: ControlStore;
  readonly servers: (name: string) => Pool;
  readonly urls: (name: string) => ConnectionUrl;
  readonly owner: string;
  readonly log: Logger;
  /** Each checkpoint's progress, with the migration's name (the `migration` label of the metrics). */
  readonly onProgress?: (event: CaptureProgressEvent, migrationName: string) => void;
  /** A stream this worker ran ended (phase change, error, shutdown): its lag is no longer this worker's to report. */
  readonly onStreamEnd?: (migrationName: string, stream: string) => void;
  /** How often it looks for streams to run. @defaultValue 1000 */
  readonly pollMs?: number;
}

/**
 * Runs the binlog capture streams of every migration whose phase has one (forward while the source
 * is the primary, reverse after the writes switch), each in at most one worker: a stream's lease
 * is taken in the control store, so a second worker's attempt returns at once and it tries again
 * on a later look (taking over within the lease's TTL when the holder died).
 */
export class CaptureSupervisor {
  readonly #deps: CaptureSupervisorDeps;
  readonly #running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  #timer: NodeJS.Timeout | undefined;
  #looking = false;
  #stopped = false;

  constructor(deps: CaptureSupervisorDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#timer = setInterval(() => void this.look(), this.#deps.pollMs ?? 1_000);
    this.#timer.unref();
    void this.look();
  }

  /** Stream keys (`migration/stream`) this worker runs now. */
  get running(): string[] {
    return [...this.#running.keys()];
  }

  /** One look: start every active stream of a live migration that this worker does not run yet. */
  async look(): Promise<void> {
    if (this.#looking || this.#stopped) return;
    this.#looking = true;
    try {
      const streams = this.#deps.store.captureStreams();
      const live = new Set<string>();
      for (const migration of await this.#deps.store.listMigrations()) {
        const wanted = new Set(streamsForPhase(migration.plan, migration.phase));
        for (const stream of wanted) live.add(`${migration.id}/${stream}`);
        if (wanted.size === 0) continue;
        for (const record of await streams.list(migration.id)) {
          if (record.state !== 'active' || !wanted.has(record.stream)) continue;
          const key = `${migration.id}/${record.stream}`;
          if (this.#running.has(key)) continue;
          if (record.owner !== null && record.leaseUntil !== null && record.leaseUntil.getTime() > Date.now()) continue; // held elsewhere
          this.#run(key, migration, record.stream);
        }
      }
      // A phase change ended a stream's direction (a rollback to planned, finalize): stop it here.
      for (const [key, running] of this.#running) if (!live.has(key)) running.abort.abort();
    } catch (error) {
      this.#deps.log.warn({ err: (error as Error).message }, 'looking for capture streams failed');
    } finally {
      this.#looking = false;
    }
  }

  #run(key: string, migration: MigrationRecord, stream: string): void {
    const abort = new AbortController();
    const log = this.#deps.log.child({ migrationId: migration.id, stream });
    const done = runCaptureStream({
      migration,
      stream,
      streams: this.#deps.store.captureStreams(),
      owner: this.#deps.owner,
      servers: this.#deps.servers,
      urls: this.#deps.urls,
      signal: abort.signal,
      log: (level, message, details) => log[level](details ?? {}, message),
      ...(this.#deps.onProgress === undefined ? {} : { onProgress: (event: CaptureProgressEvent) => this.#deps.onProgress?.(event, migration.name) }),
    })
      .then((end) => {
        if (end !== 'busy') log.info({ end }, `capture stream ${stream} ended: ${end}`);
      })
      .catch((error: unknown) => log.warn({ err: (error as Error).message }, `capture stream ${stream} stopped on an error; it is restarted from its checkpoint`))
      .finally(() => {
        this.#running.delete(key);
        this.#deps.onStreamEnd?.(migration.name, stream);
      });
    this.#running.set(key, { abort, done });
  }

  /** Stops every stream (each applies what it read and checkpoints) and waits for them. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    const running = [...this.#running.values()];
    for (const r of running) r.abort.abort();
    await Promise.all(running.map((r) => r.done));
  }
}
