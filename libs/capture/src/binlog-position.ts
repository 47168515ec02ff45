import { CleaveError } from '@cleave/core';
import type { BinlogCoordinate } from '@cleave/control';

const NUMBERED = /^(.*)\.(\d+)$/;

/** `binlog.000002:381`. */
export function formatCoordinate(at: BinlogCoordinate): string {
  return `${at.file}:${at.position}`;
}

/**
 * Orders two coordinates of one server's binlog: by the file's sequence number (`binlog.000002`
 * after `binlog.000001`), then by offset.
 */
export function compareCoordinates(a: BinlogCoordinate, b: BinlogCoordinate): number {
  if (a.file !== b.file) {
    const x = NUMBERED.exec(a.file);
    const y = NUMBERED.exec(b.file);
    if (x === null || y === null || x[1] !== y[1]) {
      throw new CleaveError('INVALID_ARGUMENT', `binlog files ${a.file} and ${b.file} are not of one series: compare coordinates of one server only`);
    }
    return Number(x[2]) - Number(y[2]);
  }
  return a.position - b.position;
}
