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
