import { CleaveError } from '@cleave/core';
import { decodeKey, encodeKey, type KeyTuple } from '@cleave/mysql';

/**
 * The `keyValues` text of a shadow-failure record: a JSON array of keys, each in
 * `encodeKey` form (`[["42"],["43"]]`; byte keys as `{"$hex":"…"}`).
 *
 * @example
 * encodeShadowKeys([['42'], ['43']]); // '[["42"],["43"]]'
 */
export function encodeShadowKeys(keys: readonly KeyTuple[]): string {
  return `[${keys.map(encodeKey).join(',')}]`;
}

/** The inverse of {@link encodeShadowKeys}. Throws `INVALID_ARGUMENT` on anything else. */
export function decodeShadowKeys(text: string): KeyTuple[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CleaveError('INVALID_ARGUMENT', `Not an encoded key list (invalid JSON): ${text.slice(0, 80)}`, { cause: error });
  }
  if (!Array.isArray(parsed)) throw new CleaveError('INVALID_ARGUMENT', `Not an encoded key list: ${text.slice(0, 80)}`);
  return parsed.map((key) => decodeKey(JSON.stringify(key)));
}
