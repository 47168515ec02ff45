/** A generated workload on the sample account schema: statement templates with frequencies. */
export interface WorkloadStep {
  readonly sql: string;
  readonly params: (i: number) => unknown[];
  /** The tables it touches (to route it in the replay). */
  readonly tables: readonly string[];
}

const USERS = 2000;
const uid = (i: number) => 1 + ((i * 7919) % USERS);

/** Templates and how many times each runs (sessions + keys are the busiest pair). */
export const ACCOUNT_WORKLOAD: readonly (WorkloadStep & { readonly times: number })[] = [
  {
    times: 500,
    tables: ['sessions', 'user_keys'],
    sql: 'SELECT k.fingerprint, s.expires_at FROM sessions s JOIN user_keys k ON k.user_id = s.user_id WHERE s.id = ?',
    params: (i) => [1 + ((i * 31) % (USERS * 3))],
  },
  { times: 500, tables: ['sessions'], sql: 'SELECT user_id, expires_at FROM sessions WHERE id = ?', params: (i) => [1 + ((i * 13) % (USERS * 3))] },
  { times: 250, tables: ['sessions'], sql: 'UPDATE sessions SET revoked_at = NULL WHERE id = ?', params: (i) => [1 + ((i * 17) % (USERS * 3))] },
  { times: 250, tables: ['user_keys'], sql: 'SELECT public_key FROM user_keys WHERE user_id = ?', params: (i) => [uid(i)] },
  {
    times: 300,
    tables: ['users', 'addresses'],
    sql: 'SELECT u.email, a.city FROM users u JOIN addresses a ON a.user_id = u.id WHERE u.id = ?',
    params: (i) => [uid(i)],
  },
  { times: 300, tables: ['users'], sql: 'SELECT id, status FROM users WHERE email = ?', params: (i) => [`user${uid(i)}@example.com`] },
  { times: 150, tables: ['email_aliases'], sql: 'SELECT user_id FROM email_aliases WHERE alias = ?', params: (i) => [`alias${1 + (i % (USERS * 2))}@mail.example`] },
  { times: 200, tables: ['invoices'], sql: 'SELECT SUM(amount) FROM invoices WHERE user_id = ? AND state = ?', params: (i) => [uid(i), 'paid'] },
  { times: 200, tables: ['user_settings'], sql: 'SELECT locale, time_zone FROM user_settings WHERE user_id = ?', params: (i) => [uid(i)] },
];

export const WORKLOAD_USERS = USERS;

/** Each template runs `times * REPEAT` times: long enough that time shares are stable. */
export const REPEAT = 2;

/** Every execution in a fixed interleaved order (deterministic). */
export function workloadExecutions(): { step: WorkloadStep; params: unknown[] }[] {
  const out: { step: WorkloadStep; params: unknown[] }[] = [];
  const max = Math.max(...ACCOUNT_WORKLOAD.map((s) => s.times * REPEAT));
  for (let i = 0; i < max; i += 1) for (const step of ACCOUNT_WORKLOAD) if (i < step.times * REPEAT) out.push({ step, params: step.params(i) });
  return out;
}
