/** Settings the demo passes to the account service (JSON in argv[2]). */
export interface ServiceSettings {
  /** Server name -> mysql:// URL whose database is the one the plan names on that server. */
  readonly servers: Record<string, string>;
  /** cleave.config.json of the demo (control store, Redis, queue prefix): what the CLI uses. */
  readonly configFile: string;
  /** Users in the sample data (ids 1..users). */
  readonly users: number;
  readonly writesPerSecond: number;
  readonly readsPerSecond: number;
  readonly writeLoops: number;
  readonly readLoops: number;
}

export interface ServiceStats {
  writes: number;
  failedWrites: number;
  reads: number;
  failedReads: number;
  maxWriteMs: number;
  maxReadMs: number;
  errors: string[];
}

/** The account service's last line: its stats and, per table, row id -> value last written. */
export interface ServiceFinal extends ServiceStats {
  readonly type: 'final';
  readonly ledger: { readonly email_aliases: Record<string, string | null>; readonly sessions: Record<string, string | null> };
  readonly uncertain: number;
}
