import ZongJi from '@vlasky/zongji';
import { CleaveError } from '@cleave/core';
import type { BinlogCoordinate } from '@cleave/control';
import type { ConnectionUrl } from '@cleave/mysql';
import type { DecodedRow } from './row-keys.js';
import type { TemporalType } from './stream-plan.js';

/** What a capture stream reads from a binlog. */
export type BinlogChange =
  /** Rows of one table changed: inserts have `after`, deletes `before`, updates both. */
  | { readonly kind: 'rows'; readonly database: string; readonly table: string; readonly rows: ReadonlyArray<{ readonly before?: DecodedRow; readonly after?: DecodedRow }> }
  /** A transaction ended; `at` is where a resumed stream starts after it. */
  | { readonly kind: 'commit'; readonly at: BinlogCoordinate; readonly timestamp: number }
  /** A statement-logged change (DDL, or anything else not row-logged). */
  | { readonly kind: 'statement'; readonly database: string; readonly statement: string; readonly at: BinlogCoordinate; readonly timestamp: number };

/** Construction settings of {@link BinlogReader}. */
export interface BinlogReaderConfig {
  readonly url: ConnectionUrl;
  /** The replication server id announced to the server (unique among its replicas). */
  readonly serverId: number;
  readonly from: BinlogCoordinate;
  /** database -> tables whose row changes are wanted. */
  readonly tables: Readonly<Record<string, readonly string[]>>;
  /** Changes buffered before the reader pauses the server's stream. @defaultValue 10000 */
  readonly highWater?: number;
  /**
   * The temporal types decoded as the server's text (microseconds included); the others come as
   * Dates, which cost the decoder far less, for columns whose values the caller does not read.
   * @defaultValue all of them
   */
  readonly temporalAsText?: readonly TemporalType[];
}

const ROW_EVENTS: Record<string, true> = { writerows: true, updaterows: true, deleterows: true };
const TRANSACTION_STATEMENTS = /^\s*(BEGIN|COMMIT|ROLLBACK|XA\s|SAVEPOINT|RELEASE\s+SAVEPOINT)/i;
/** Could not find the first log file / the position: the server no longer has it. */
const PURGED_ERRNO = 1236;

interface ZongJiEvent {
  getEventName(): string;
  timestamp: number;
  tableId?: number;
  tableMap?: Record<number, { parentSchema: string; tableName: string }>;
  rows?: unknown[];
  query?: string;
  schema?: string;
}

type Waiter = (value: BinlogChange | Error | undefined) => void;

/**
 * Reads one server's binlog from a coordinate with `@vlasky/zongji` (a replication client on
 * mysql2; MariaDB GTID, checksum and annotate events, rotation): row changes of the wanted tables,
 * transaction ends with their resume coordinates, and statements. Dates come as the server's text
 * (microseconds included; only those of `temporalAsText` when it is given), big integers and
 * decimals as exact text. The server's stream is paused while `highWater` changes wait to be
 * taken, so a slow apply never buffers without bound.
 */
export class BinlogReader {
  readonly #config: BinlogReaderConfig;
  readonly #zongji: ZongJi;
  readonly #queue: Array<BinlogChange | Error> = [];
  #waiter: Waiter | undefined;
  #paused = false;
  #stopped = false;

  constructor(config: BinlogReaderConfig) {
    this.#config = config;
    const url = config.url;
    this.#zongji = new ZongJi({
      host: url.host,
      port: url.port,
      user: url.user,
      password: url.password(),
      // mysql2's form: true, false or the types decoded as text.
      dateStrings: config.temporalAsText === undefined ? true : config.temporalAsText.length === 0 ? false : [...config.temporalAsText],
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: true,
    } as ConstructorParameters<typeof ZongJi>[0]);
    this.#zongji.on('binlog', (event: ZongJiEvent) => this.#onEvent(event));
    this.#zongji.on('error', (error: Error & { errno?: number }) => this.#push(this.#translate(error)));
  }

  /** Connects and starts the dump at the configured coordinate; resolves once the server streams. */
  async start(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      this.#zongji.once('ready', () => resolve());
      this.#zongji.once('error', reject);
    });
    this.#zongji.start({
      serverId: this.#config.serverId,
      filename: this.#config.from.file,
      position: this.#config.from.position,
      includeEvents: ['tablemap', 'writerows', 'updaterows', 'deleterows', 'query', 'xid'],
      includeSchema: Object.fromEntries(Object.entries(this.#config.tables).map(([db, tables]) => [db, [...tables]])),
    });
    try {
      await ready;
    } catch (error) {
      throw this.#translate(error as Error & { errno?: number });
    }
  }

  /** Changes read from the server and not yet taken with {@link next}. */
  get buffered(): number {
    return this.#queue.length;
  }

  /** The next change already read, or `undefined` when none is buffered. Throws what the stream failed with. */
  poll(): BinlogChange | undefined {
    const item = this.#queue.shift();
    return item === undefined ? undefined : this.#taken(item);
  }

  /** The next change, or `undefined` when none arrived within `waitMs`. Throws what the stream failed with. */
  async next(waitMs: number): Promise<BinlogChange | undefined> {
    let item = this.#queue.shift();
    if (item === undefined) {
      item = await new Promise<BinlogChange | Error | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.#waiter = undefined;
          resolve(undefined);
        }, waitMs);
        this.#waiter = (value) => {
          clearTimeout(timer);
          this.#waiter = undefined;
          resolve(value);
        };
      });
    }
    return item === undefined ? undefined : this.#taken(item);
  }

  /** A change taken from the buffer: the server's stream resumes once half of it is free again. */
  #taken(item: BinlogChange | Error): BinlogChange {
    if (this.#paused && this.#queue.length < (this.#config.highWater ?? 10_000) / 2) this.#setPaused(false);
    if (item instanceof Error) throw item;
    return item;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      this.#zongji.once('stopped', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#zongji.stop();
    });
  }

  #position(): BinlogCoordinate {
    const options = (this.#zongji as unknown as { options: { filename: string; position: number } }).options;
    return { file: options.filename, position: Number(options.position) };
  }

  #onEvent(event: ZongJiEvent): void {
    const name = event.getEventName();
    if (ROW_EVENTS[name] === true) {
      const map = event.tableMap?.[event.tableId ?? -1];
      if (map === undefined) return;
      const rows = (event.rows ?? []).map((row) => (name === 'updaterows' ? (row as { before: DecodedRow; after: DecodedRow }) : name === 'writerows' ? { after: row as DecodedRow } : { before: row as DecodedRow }));
      this.#push({ kind: 'rows', database: map.parentSchema, table: map.tableName, rows });
    } else if (name === 'xid') {
      this.#push({ kind: 'commit', at: this.#position(), timestamp: event.timestamp });
    } else if (name === 'query') {
      const statement = event.query ?? '';
      if (/^\s*COMMIT\b/i.test(statement)) this.#push({ kind: 'commit', at: this.#position(), timestamp: event.timestamp });
      else if (!TRANSACTION_STATEMENTS.test(statement)) {
        this.#push({ kind: 'statement', database: event.schema ?? '', statement, at: this.#position(), timestamp: event.timestamp });
      }
    }
  }

  #push(item: BinlogChange | Error): void {
    if (this.#stopped) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      waiter(item);
      return;
    }
    this.#queue.push(item);
    if (!this.#paused && this.#queue.length >= (this.#config.highWater ?? 10_000)) this.#setPaused(true);
  }

  #setPaused(paused: boolean): void {
    const connection = (this.#zongji as unknown as { connection?: { pause(): void; resume(): void } }).connection;
    if (connection === undefined) return;
    this.#paused = paused;
    if (paused) connection.pause();
    else connection.resume();
  }

  #translate(error: Error & { errno?: number }): Error {
    if (error instanceof CleaveError) return error;
    const from = `${this.#config.from.file}:${this.#config.from.position}`;
    if (error.errno === PURGED_ERRNO || /could not find first log file|binlog truncated|position.*(?:larger|beyond)/i.test(error.message)) {
      return purgedError(this.#config.url.host, from, error);
    }
    return new CleaveError('CONNECTION_FAILED', `binlog stream from ${this.#config.url.host}:${this.#config.url.port} failed: ${error.message}`, { cause: error });
  }
}

/** The error of a checkpoint the server no longer has, with the documented recovery. */
export function purgedError(server: string, from: string, cause?: unknown): CleaveError {
  return new CleaveError('CAPTURE_POSITION_PURGED', `the binlog at the capture checkpoint ${from} is no longer on server ${server} (purged or expired)`, {
    hint: 'Changes after the checkpoint cannot be read. Run `cleave capture-reset <id>` (a new position at the binlog end), then `cleave verify <id> --repair` for a full pass before any switch; keep binlogs longer (binlog_expire_logs_seconds) than a worker can be down.',
    ...(cause === undefined ? {} : { cause }),
  });
}
