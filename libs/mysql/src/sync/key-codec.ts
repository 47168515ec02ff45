import { CleaveError } from '@cleave/core';

/**
 * One value of a key column: a string for numeric and temporal columns (integers as decimal text,
 * so BIGINT UNSIGNED past 2^53 stays exact), a Buffer with the stored bytes for character and
 * binary columns (a plain string is also accepted there and means its UTF-8 text).
 */
export type KeyPart = string | Buffer;

/** A key value: one part per key column, in key order. */
export type KeyTuple = readonly KeyPart[];

/**
 * Encodes a key as JSON text: strings as JSON strings, Buffers as `{"$hex":"..."}`. Stable, so it
 * can be a checkpoint, a job id component or a map key.
 *
 * @example
 * ```ts
 * encodeKey(['42', Buffer.from([0, 255])]); // '["42",{"$hex":"00ff"}]'
 * ```
 */
export function encodeKey(key: KeyTuple): string {
  return JSON.stringify(key.map((part) => (typeof part === 'string' ? part : { $hex: part.toString('hex') })));
}

const HEX = /^(?:[0-9a-f]{2})*$/;

/** The inverse of {@link encodeKey}. Throws `INVALID_ARGUMENT` on anything else. */
export function decodeKey(text: string): KeyTuple {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CleaveError('INVALID_ARGUMENT', `Not an encoded key (invalid JSON): ${text.slice(0, 80)}`, { cause: error });
  }
  if (!Array.isArray(parsed)) throw new CleaveError('INVALID_ARGUMENT', `Not an encoded key (not an array): ${text.slice(0, 80)}`);
  return parsed.map((part: unknown) => {
    if (typeof part === 'string') return part;
    if (typeof part === 'object' && part !== null && Object.keys(part).length === 1) {
      const hex = (part as { $hex?: unknown }).$hex;
      if (typeof hex === 'string' && HEX.test(hex)) return Buffer.from(hex, 'hex');
    }
    throw new CleaveError('INVALID_ARGUMENT', `Not an encoded key part: ${JSON.stringify(part)?.slice(0, 80) ?? 'undefined'}`);
  });
}

/**
 * An identity for exact-byte comparison of keys read from the server (hex of each part): two
 * keys that a case-insensitive collation calls equal but whose bytes differ get different ids.
 */
export function keyId(parts: readonly (Buffer | null)[]): string {
  let id = '';
  for (let i = 0; i < parts.length; i += 1) {
    if (i > 0) id += ',';
    id += parts[i]?.toString('hex') ?? '~';
  }
  return id;
}

/** The keys without duplicates (by exact encoding), first occurrence kept. */
export function distinctKeys(keys: readonly KeyTuple[]): KeyTuple[] {
  const unique = new Map<string, KeyTuple>();
  for (const key of keys) if (!unique.has(encodeKey(key))) unique.set(encodeKey(key), key);
  return [...unique.values()];
}
