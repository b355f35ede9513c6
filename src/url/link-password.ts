// Link passwords: hashed with scrypt (memory-hard, Node's own crypto), stored as a PHC-like string,
// verified in constant time. Both run scrypt's async form, which works in libuv's thread pool: a
// hash never blocks the event loop, and the pool's size (4 by default) bounds how many run at once,
// so how much memory they take (32 MiB each at these parameters).
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * N = 2^15, r = 8, p = 1: the parameters OWASP's password storage cheat sheet gives as scrypt's
 * minimum. 32 MiB and about 50-100 ms of one core per hash (docs/architecture.md gives the cost
 * measured); an attacker with the stored hash pays the same per guess.
 */
export const SCRYPT_PARAMS = { logN: 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
export const PASSWORD_MIN_CHARS = 8;
export const PASSWORD_MAX_CHARS = 128;
/**
 * Bounds on parameters read back from a stored string: the stored value decides how much work a
 * verification does, so a row edited by hand (or a future default) cannot make one take gigabytes.
 */
const MAX_LOG_N = 20;
const MAX_R = 16;
const MAX_P = 4;

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Characters as people count them (code points), after NFC: what the 8..128 rule is about. */
export function passwordLength(password: string): number {
  return [...password.normalize('NFC')].length;
}

export function isAcceptablePassword(password: string): boolean {
  const length = passwordLength(password);
  return length >= PASSWORD_MIN_CHARS && length <= PASSWORD_MAX_CHARS;
}

function derive(password: string, salt: Buffer, params: { logN: number; r: number; p: number }): Promise<Buffer> {
  const N = 2 ** params.logN;
  // Node refuses when 128·N·r reaches maxmem (32 MiB by default, exactly this N and r): twice that.
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r };
  // NFC: the same password typed on two systems (composed or decomposed accents) is the same password.
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');

/** `$scrypt$ln=15,r=8,p=1$<salt>$<key>` (unpadded base64, as PHC strings have it), with a fresh random salt. */
export async function hashLinkPassword(password: string): Promise<string> {
  if (!isAcceptablePassword(password)) throw new RangeError(`a password is ${PASSWORD_MIN_CHARS} to ${PASSWORD_MAX_CHARS} characters`);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, SCRYPT_PARAMS);
  return `$scrypt$ln=${SCRYPT_PARAMS.logN},r=${SCRYPT_PARAMS.r},p=${SCRYPT_PARAMS.p}$${b64(salt)}$${b64(key)}`;
}

/**
 * Whether `password` is the one `stored` was made from. A password no link can have (outside
 * 8..128 characters) is false without hashing: that reveals only the public length rule. The keys
 * are compared in constant time. A stored string that is not one of ours is an error, not a "no".
 */
export async function verifyLinkPassword(password: string, stored: string): Promise<boolean> {
  const match = PHC.exec(stored);
  if (match === null) throw new Error('stored password hash is not a scrypt PHC string');
  const [, ln, r, p, salt, key] = match as unknown as [string, string, string, string, string, string];
  const params = { logN: Number(ln), r: Number(r), p: Number(p) };
  if (params.logN < 10 || params.logN > MAX_LOG_N || params.r < 1 || params.r > MAX_R || params.p < 1 || params.p > MAX_P) {
    throw new Error('stored password hash has parameters out of bounds');
  }
  if (!isAcceptablePassword(password)) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), params);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
