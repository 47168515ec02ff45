import { describe, expect, it } from 'vitest';
import { parseGeneralLog } from './general-log-parser.js';
import { parseSlowLog } from './slow-log-parser.js';

const SLOW = `/usr/sbin/mariadbd, Version: 10.11.14-MariaDB (Debian). started with:
Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock
Time                Id Command  Argument
# Time: 251125 23:00:00
# User@Host: app[app] @ localhost []
# Thread_id: 7  Schema: accounts  QC_hit: No
# Query_time: 0.002000  Lock_time: 0.000010  Rows_sent: 1  Rows_examined: 10
# Rows_affected: 0  Bytes_sent: 90
use accounts;
SET timestamp=1764111600;
SELECT * FROM users WHERE id = 1;
# User@Host: app[app] @ localhost []
# Query_time: 0.004000  Lock_time: 0.000010  Rows_sent: 1  Rows_examined: 30
SET timestamp=1764111601;
SELECT * FROM users
  WHERE id = 2;
# Query_time: 0.001000  Lock_time: 0  Rows_sent: 0  Rows_examined: 0
use other;
SELECT 1 FROM elsewhere;
`;

describe('parseSlowLog', () => {
  it('sums time and rows per fingerprint, following use and Schema:, filtering the database', () => {
    const w = parseSlowLog(SLOW, { database: 'accounts' });
    expect(w.origin).toBe('slow-log');
    expect(w.statements).toHaveLength(1);
    expect(w.statements[0]).toMatchObject({ text: 'SELECT * FROM users WHERE id = ?', schema: 'accounts', executions: 2, rowsExamined: 40, rowsSent: 2 });
    expect(w.statements[0]!.totalTimeMs).toBeCloseTo(6);
  });
});

const GENERAL = `/usr/sbin/mariadbd, Version: 10.11.14-MariaDB (Debian). started with:
Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock
Time\t\t    Id Command\tArgument
251125 23:06:01\t     5 Connect\tapp@localhost on accounts using TCP/IP
\t\t     5 Query\tBEGIN
\t\t     5 Query\tINSERT INTO users (email) VALUES ('a@b')
\t\t     5 Query\tINSERT INTO user_settings (user_id) VALUES (7)
\t\t     5 Query\tCOMMIT
\t\t     6 Connect\tapp@localhost on accounts using TCP/IP
\t\t     6 Query\tSET autocommit=0
\t\t     6 Query\tINSERT INTO users (email) VALUES ('c@d')
\t\t     6 Query\tINSERT INTO user_settings (user_id) VALUES (8)
\t\t     6 Query\tCOMMIT
\t\t     6 Query\tSELECT *
FROM sessions WHERE id = 3
\t\t     6 Quit\t
`;

describe('parseGeneralLog', () => {
  it('counts executions and groups statements of one transaction per connection', () => {
    const w = parseGeneralLog(GENERAL, { database: 'accounts' });
    expect(w.timed).toBe(false);
    expect(w.statements.map((s) => [s.text, s.executions]).sort()).toEqual([
      ['INSERT INTO user_settings (user_id) VALUES (?)', 2],
      ['INSERT INTO users (email) VALUES (?)', 2],
      ['SELECT * FROM sessions WHERE id = ?', 1],
    ]);
    expect(w.transactions).toHaveLength(1);
    expect(w.transactions[0]!.count).toBe(2);
    expect(w.transactions[0]!.digests).toHaveLength(2);
  });
});
