import { createHash } from 'node:crypto';

/**
 * The normalised form of one SQL statement, as performance_schema would show it: literals
 * (strings, numbers, hex, bit values) replaced by `?`, lists of `?` in `IN (...)` and
 * multi-row `VALUES` collapsed, comments dropped, whitespace collapsed. Statements that differ
 * only in their values get the same fingerprint.
 *
 * @example
 * fingerprintSql("SELECT * FROM users WHERE id IN (1, 2, 3) AND email = 'a@b'");
 * // 'SELECT * FROM users WHERE id IN (?) AND email = ?'
 */
export function fingerprintSql(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  let pendingSpace = false;
  const emit = (text: string) => {
    if (pendingSpace && out.length > 0) out += ' ';
    pendingSpace = false;
    out += text;
  };
  while (i < n) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      pendingSpace = true;
      i += 1;
    } else if (ch === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      pendingSpace = true;
    } else if ((ch === '-' && next === '-' && (sql[i + 2] === ' ' || sql[i + 2] === '\t' || sql[i + 2] === undefined)) || ch === '#') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
      pendingSpace = true;
    } else if (ch === "'" || ch === '"') {
      i = skipQuoted(sql, i, ch);
      emit('?');
    } else if (ch === '`') {
      const end = skipQuoted(sql, i, '`');
      emit(sql.slice(i, end));
      i = end;
    } else if ((ch === 'x' || ch === 'X' || ch === 'b' || ch === 'B') && next === "'" && !isWordChar(sql[i - 1])) {
      i = skipQuoted(sql, i + 1, "'");
      emit('?');
    } else if (isDigit(ch) || (ch === '.' && isDigit(next))) {
      if (isWordChar(sql[i - 1]) && !isDigit(sql[i - 1])) {
        // part of an identifier such as t1
        let j = i;
        while (j < n && isWordChar(sql[j])) j += 1;
        out += sql.slice(i, j);
        i = j;
        continue;
      }
      let j = i;
      if (ch === '0' && (next === 'x' || next === 'X')) {
        j += 2;
        while (j < n && /[0-9a-fA-F]/.test(sql[j]!)) j += 1;
      } else {
        while (j < n && (isDigit(sql[j]) || sql[j] === '.')) j += 1;
        if ((sql[j] === 'e' || sql[j] === 'E') && (isDigit(sql[j + 1]) || ((sql[j + 1] === '+' || sql[j + 1] === '-') && isDigit(sql[j + 2])))) {
          j += 2;
          while (j < n && isDigit(sql[j])) j += 1;
        }
      }
      if (isWordChar(sql[j])) {
        // identifier starting with digits (1abc)
        while (j < n && isWordChar(sql[j])) j += 1;
        emit(sql.slice(i, j));
      } else {
        emit('?');
      }
      i = j;
    } else if (isWordChar(ch)) {
      let j = i;
      while (j < n && isWordChar(sql[j])) j += 1;
      emit(sql.slice(i, j));
      i = j;
    } else {
      emit(ch);
      i += 1;
    }
  }
  return collapseLists(out.replace(/;\s*$/, '').trim());
}

function skipQuoted(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (c === '\\' && quote !== '`') {
      i += 2;
    } else if (c === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i += 1;
    }
  }
  return sql.length;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && (/[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) > 127);
}

/** `IN (?, ?, ?)` -> `IN (?)`, and repeated `VALUES` tuples -> one tuple. */
function collapseLists(text: string): string {
  return text
    .replace(/\b(IN)\s*\(\s*\?(?:\s*,\s*\?)*\s*\)/gi, '$1 (?)')
    .replace(/(\((?:[^()]|\([^()]*\))*\))(?:\s*,\s*\1)+/g, '$1');
}

/** A stable 32-hex-digit hash of a fingerprint (the digest of statements read from logs). */
export function fingerprintDigest(fingerprint: string): string {
  return createHash('sha256').update(fingerprint).digest('hex').slice(0, 32);
}
