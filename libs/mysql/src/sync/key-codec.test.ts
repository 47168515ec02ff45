import { describe, expect, it } from 'vitest';
import { decodeKey, encodeKey, keyId } from './key-codec.js';

describe('encodeKey / decodeKey', () => {
  it('round-trips strings (big integers exact) and buffers', () => {
    const key = ['18446744073709551615', Buffer.from([0, 9, 10, 0x5c, 0xff]), 'é😀', ''];
    const text = encodeKey(key);
    expect(text).toBe('["18446744073709551615",{"$hex":"00090a5cff"},"é😀",""]');
    expect(decodeKey(text)).toEqual(key);
  });

  it('refuses what it did not encode', () => {
    expect(() => decodeKey('{')).toThrow(/invalid JSON/);
    expect(() => decodeKey('{"a":1}')).toThrow(/not an array/);
    expect(() => decodeKey('[1]')).toThrow(/Not an encoded key part: 1/);
    expect(() => decodeKey('[{"$hex":"0"}]')).toThrow(/Not an encoded key part/);
  });

  it('keyId tells apart keys that differ only in bytes', () => {
    expect(keyId([Buffer.from('abc')])).not.toBe(keyId([Buffer.from('ABC')]));
    expect(keyId([Buffer.from('a'), Buffer.from('b')])).not.toBe(keyId([Buffer.from('ab'), Buffer.from('')]));
  });
});
