import { describe, expect, it } from 'vitest';
import { isCleaveError } from '@cleave/core';
import { privilegeDenied } from './account-privileges.js';

// The server's own messages (MariaDB 10.11), as the driver reports them.
const denied = (errno: number, message: string) => Object.assign(new Error(message), { errno });

describe('privilegeDenied', () => {
  it.each([
    [1142, "INSERT command denied to user 'lp'@'127.0.0.1' for table `accounts`.`sessions`", 'GRANT INSERT ON `accounts`.* TO <the account of user \'lp\'>;'],
    [1142, "TRIGGER command denied to user 'lp'@'127.0.0.1' for table `accounts`.`users`", 'GRANT TRIGGER ON `accounts`.* TO <the account of user \'lp\'>;'],
    [1227, 'Access denied; you need (at least one of) the SUPER, SLAVE MONITOR privilege(s) for this operation', "GRANT SLAVE MONITOR ON *.* TO <cleave's account>;"],
    [1227, 'Access denied; you need (at least one of) the SUPER, BINLOG MONITOR privilege(s) for this operation', "GRANT BINLOG MONITOR ON *.* TO <cleave's account>;"],
    [1044, "Access denied for user 'lp'@'%' to database 'cleave_control'", "GRANT ... ON `cleave_control`.* TO 'lp'@'%'"],
  ])('errno %i: names the grant to add', (errno, message, grant) => {
    const error = privilegeDenied(denied(errno, message), 'target1');
    expect(isCleaveError(error, 'PRECONDITION_FAILED')).toBe(true);
    expect(error!.message).toBe(`server target1 refused cleave's account: ${message}`);
    expect(error!.hint).toContain(grant);
  });

  it('leaves other errors alone', () => {
    expect(privilegeDenied(denied(1146, "Table 'accounts.nope' doesn't exist"))).toBeNull();
    expect(privilegeDenied(new Error('connect ECONNREFUSED'))).toBeNull();
  });
});
