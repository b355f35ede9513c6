// API keys: 192-bit random strings shown once; only their SHA-256 is stored. Lookups are cached in
// memory briefly, so authentication costs no database round trip on most requests.
import { createHash, randomBytes } from 'node:crypto';
import { Forbidden, Unauthorized } from '../core/errors.ts';
import type { ApiKeyRecord, ApiKeyStore } from '../storage/link-store.ts';
import type { Principal } from './link-service.ts';

const KEY_PREFIX = 'curt_';
const CACHE_MS = 30_000;
const UNKNOWN_CACHE_MS = 1_000;
const CACHE_MAX = 10_000;

export const hashApiKey = (key: string): Buffer => createHash('sha256').update(key).digest();

export interface ApiKeyService {
  /** The caller behind an Authorization header: null when there is none; 401 when it is not a valid key. */
  authenticate(authorization: string | undefined): Promise<Principal>;
  createKey(principal: Principal, options: { name: string | null; isAdmin: boolean }): Promise<{ record: ApiKeyRecord; key: string }>;
  /** Makes sure a key with this value exists as an admin key (ADMIN_API_KEY bootstrap). */
  ensureAdminKey(key: string, name: string): Promise<ApiKeyRecord>;
}

export function generateApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
}

export function createApiKeyService(store: ApiKeyStore, now: () => number = Date.now): ApiKeyService {
  const cache = new Map<string, { principal: Principal; until: number }>();

  async function lookup(key: string): Promise<Principal> {
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.principal;
    const record = await store.findByHash(hashApiKey(key));
    const principal = record && record.revokedAt === null ? { keyId: record.id, isAdmin: record.isAdmin } : null;
    // Bounded: a flood of random keys evicts the oldest entries instead of growing the map.
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    // An unknown key is remembered only briefly: it may be about to be stored (ADMIN_API_KEY at
    // start-up, a key just created on another replica). Known keys for longer.
    cache.set(key, { principal, until: now() + (principal === null ? UNKNOWN_CACHE_MS : CACHE_MS) });
    return principal;
  }

  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization === '') return null;
      const match = /^Bearer\s+(\S{1,200})$/i.exec(authorization.trim());
      if (!match?.[1]) throw new Unauthorized('Authorization must be "Bearer <api key>".');
      const principal = await lookup(match[1]);
      if (principal === null) throw new Unauthorized('This API key is not valid.');
      return principal;
    },

    async createKey(principal, { name, isAdmin }) {
      if (principal === null) throw new Unauthorized('An admin API key is required.');
      if (!principal.isAdmin) throw new Forbidden('Only an admin key can create API keys.');
      const key = generateApiKey();
      const record = await store.insert({ hash: hashApiKey(key), keyPrefix: key.slice(0, 12), name, isAdmin });
      return { record, key };
    },

    ensureAdminKey(key, name) {
      return store.ensure({ hash: hashApiKey(key), keyPrefix: key.slice(0, 12), name, isAdmin: true });
    },
  };
}
