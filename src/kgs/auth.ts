// Only holders of the internal service token may call `/codes*`. Both sides are hashed first so the
// comparison is constant-time whatever the lengths.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Unauthorized } from '../core/errors.ts';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

export function createTokenCheck(token: string): (authorization: string | undefined) => void {
  const expected = digest(token);
  return (authorization) => {
    const match = authorization === undefined ? null : /^Bearer ([^\s]+)$/i.exec(authorization.trim());
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) throw new Unauthorized('A valid KGS token is required.');
  };
}

export const MIN_TOKEN_LENGTH = 24;

/** Values people put in a token "for now"; compared without case, separators or trailing digits. */
const PLACEHOLDERS = new Set(['changeme', 'replaceme', 'secret', 'token', 'password', 'test', 'testtoken', 'kgstoken', 'example', 'default', 'dev', 'admin', 'xxx', 'todo', 'fixme', 'yourtoken', 'mytoken', 'setme', 'notsecret', 'insecure']);

/**
 * Why the KGS token looks unsafe, or null. A guessable token lets anyone who reaches the KGS drain or
 * poison the code pool; the KGS still starts (a test set-up may want exactly that), but says so.
 */
export function weakTokenReason(token: string): string | null {
  const bare = token.toLowerCase().replace(/[^a-z0-9]/g, '').replace(/\d+$/, '');
  if (PLACEHOLDERS.has(bare)) return `KGS_TOKEN looks like a placeholder: set it to a long random string, e.g. \`openssl rand -hex 32\``;
  if (token.length < MIN_TOKEN_LENGTH) return `KGS_TOKEN is shorter than ${MIN_TOKEN_LENGTH} characters: set it to a long random string, e.g. \`openssl rand -hex 32\``;
  return null;
}
