/**
 * Detection and redaction of credentials inside free text (URLs with a password, `password=...`
 * pairs). Used to keep secrets out of plans and out of serialised errors. This is a safety net,
 * not a parser: `@cleave/mysql` owns real DSN parsing.
 */

/** `scheme://user:password@` — a URL whose user info carries a password. */
const URL_WITH_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]*):([^\s/@]+)@/gi;

/** `password=...` style pairs as found in DSNs and query strings (`?` placeholders are not secrets). */
const SECRET_PAIR = /\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)=(?!\?|&|$)([^\s&;,'")]+)/gi;

/** Object keys that name a credential (matched case-insensitively against the whole key). */
const SECRET_KEY = /^(password|passwd|pwd|pass|secret|token|credentials?|auth|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|[a-z0-9_-]*(password|passwd|secret|token))$/i;

/**
 * Whether `text` appears to carry a credential: a URL with `user:password@`, or a
 * `password=...`-style pair.
 *
 * @example
 * containsCredentials('mysql://app:s3cret@db1:3306/account'); // true
 * containsCredentials('mysql://db1:3306/account'); // false
 */
export function containsCredentials(text: string): boolean {
  URL_WITH_PASSWORD.lastIndex = 0;
  SECRET_PAIR.lastIndex = 0;
  return URL_WITH_PASSWORD.test(text) || SECRET_PAIR.test(text);
}

/**
 * Whether an object key names a credential (`password`, `secret`, `token`, `apiKey`,
 * `dbPassword`…). Keys like `tokens_table` or `secretary` do not match.
 *
 * @example
 * isCredentialKey('password'); // true
 * isCredentialKey('server'); // false
 */
export function isCredentialKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * Replaces the secret part of every credential found in `text` with `***`.
 *
 * @example
 * redactCredentials('mysql://app:s3cret@db1/account'); // 'mysql://app:***@db1/account'
 */
export function redactCredentials(text: string): string {
  return text
    .replace(URL_WITH_PASSWORD, (_m, scheme: string, user: string) => `${scheme}${user}:***@`)
    .replace(SECRET_PAIR, (_m, key: string) => `${key}=***`);
}
