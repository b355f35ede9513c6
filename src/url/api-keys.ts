// API keys: 192-bit random strings shown once; only their SHA-256 is stored. Lookups are cached in
// memory briefly, so authentication costs no database round trip on most requests. A revoked key
// must stop working at once on every replica: the revoking replica tells the others over the
// revocation bus (Redis pub/sub, see docs/architecture.md) and waits for them to drop it, and a
// replica that cannot hear the bus does not cache at all.
import { createHash, randomBytes } from 'node:crypto';
import { keyPrefixOf } from '../client/api-key.ts';
import { DependencyDown, Forbidden, NotFound, Unauthorized } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { ApiKeyRecord, ApiKeyStore } from '../storage/link-store.ts';
import type { InvalidationBus } from '../storage/tiered-link-cache.ts';
import type { Principal } from './link-service.ts';

const KEY_PREFIX = 'curt_';
const CACHE_MS = 30_000;
const UNKNOWN_CACHE_MS = 1_000;
const CACHE_MAX = 10_000;
const UNCONFIRMED_DETAIL = 'The key is revoked, but not every replica has confirmed it yet; try again shortly (revoking it again is harmless).';

export const hashApiKey = (key: string): Buffer => createHash('sha256').update(key).digest();

export interface ApiKeyService {
  /** The caller behind an Authorization header: null when there is none; 401 when it is not a valid key. */
  authenticate(authorization: string | undefined): Promise<Principal>;
  /**
   * authenticate() answered from memory, without a promise: the principal, or undefined when the key
   * must be read from the database first (then call authenticate()); throws what it would reject with.
   */
  authenticateNow(authorization: string | undefined): Principal | undefined;
  createKey(principal: Principal, options: { name: string | null; isAdmin: boolean }): Promise<{ record: ApiKeyRecord; key: string }>;
  /**
   * Stores this value as an admin key unless a key with it is stored already (ADMIN_API_KEY bootstrap),
   * and returns the stored record: one stored before is returned as it is, revoked or not an admin
   * key included, and a revoked one stays refused.
   */
  ensureAdminKey(key: string, name: string): Promise<ApiKeyRecord>;
  /** Every key for an admin key (revoked ones too); a key that is not an admin key sees only itself. */
  listKeys(principal: Principal): Promise<ApiKeyRecord[]>;
  /**
   * Revokes key `id`: an admin key may revoke any key, another key only itself. Resolves once no
   * replica that can be told still accepts it; 503 `redis_unavailable` when that is not confirmed
   * (the revocation is stored all the same). Revoking a revoked key again changes nothing.
   */
  revokeKey(principal: Principal, id: number): Promise<ApiKeyRecord>;
}

export interface ApiKeyServiceOptions {
  /** Carries revocations to the other replicas (the key's id); none: this process is the only one. */
  revocations?: InvalidationBus | null;
  now?: () => number;
}

/**
 * What a start says of the key ADMIN_API_KEY names (the URL service's and `curt serve`'s): a key once
 * revoked stays refused whatever the variable says (revoking it was the decision), and a key that is
 * not an admin key stays one.
 */
export function reportConfiguredAdminKey(record: ApiKeyRecord, log: Logger): void {
  if (record.revokedAt !== null) {
    log.warn({ keyId: record.id, revokedAt: record.revokedAt }, `ADMIN_API_KEY is API key ${record.id}, revoked at ${record.revokedAt.toISOString()}: it stays refused. Create another admin key (\`curt keys create --admin\` with an admin key) and unset ADMIN_API_KEY, or set it to a new value`);
  } else if (!record.isAdmin) {
    log.warn({ keyId: record.id }, `ADMIN_API_KEY is API key ${record.id}, which is not an admin key: it stays one. Set ADMIN_API_KEY to a new value for an admin key`);
  } else {
    log.info({ keyId: record.id }, 'admin API key from ADMIN_API_KEY is in place');
  }
}

export function generateApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
}

/** The key an Authorization header carries; null for none. A header of another form is 401. */
function keyOf(authorization: string | undefined): string | null {
  if (authorization === undefined || authorization === '') return null;
  const match = /^Bearer\s+(\S{1,200})$/i.exec(authorization.trim());
  if (!match?.[1]) throw new Unauthorized('Authorization must be "Bearer <api key>".');
  return match[1];
}

/** A key that was found: a key that is not (or revoked) is 401. */
function valid(principal: Principal): Principal {
  if (principal === null) throw new Unauthorized('This API key is not valid.');
  return principal;
}

export function createApiKeyService(store: ApiKeyStore, options: ApiKeyServiceOptions = {}): ApiKeyService {
  const now = options.now ?? Date.now;
  const revocations = options.revocations ?? null;
  const cache = new Map<string, { principal: Principal; until: number }>();
  // Bumped by every revocation heard: a lookup that read the database before it must not cache
  // what it read, or the revoked key would live on here until its entry expires.
  let generation = 0;

  function forget(keyId: number | null): void {
    generation += 1;
    if (keyId === null) return cache.clear();
    for (const [key, entry] of cache) if (entry.principal?.keyId === keyId) cache.delete(key);
  }
  revocations?.subscribe(
    (id) => forget(/^\d+$/.test(id) ? Number(id) : null),
    () => forget(null),
  );
  /** Without the bus, revocations on other replicas would go unheard: then every request asks the database. */
  const mayCache = (): boolean => revocations === null || revocations.subscribed();

  /** The key's cached entry while it may be used: undefined when it must be read. */
  function cached(key: string): { principal: Principal } | undefined {
    const hit = cache.get(key);
    return hit && hit.until > now() && mayCache() ? hit : undefined;
  }

  async function lookup(key: string): Promise<Principal> {
    const hit = cached(key);
    if (hit) return hit.principal;
    const readAt = generation;
    const record = await store.findByHash(hashApiKey(key));
    const principal = record && record.revokedAt === null ? { keyId: record.id, isAdmin: record.isAdmin } : null;
    if (readAt !== generation || !mayCache()) return principal;
    // Bounded: a flood of random keys evicts the oldest entries instead of growing the map.
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    // An unknown key is remembered only briefly: it may be about to be stored (ADMIN_API_KEY at
    // start-up, a key just created on another replica). Known keys for longer.
    cache.set(key, { principal, until: now() + (principal === null ? UNKNOWN_CACHE_MS : CACHE_MS) });
    return principal;
  }

  return {
    async authenticate(authorization) {
      const key = keyOf(authorization);
      return key === null ? null : valid(await lookup(key));
    },

    authenticateNow(authorization) {
      const key = keyOf(authorization);
      if (key === null) return null;
      const hit = cached(key);
      return hit === undefined ? undefined : valid(hit.principal);
    },

    async createKey(principal, { name, isAdmin }) {
      if (principal === null) throw new Unauthorized('An admin API key is required.');
      if (!principal.isAdmin) throw new Forbidden('Only an admin key can create API keys.');
      const key = generateApiKey();
      const record = await store.insert({ hash: hashApiKey(key), keyPrefix: keyPrefixOf(key), name, isAdmin });
      return { record, key };
    },

    ensureAdminKey(key, name) {
      return store.ensure({ hash: hashApiKey(key), keyPrefix: keyPrefixOf(key), name, isAdmin: true });
    },

    async listKeys(principal) {
      if (principal === null) throw new Unauthorized('An API key is required.');
      if (principal.isAdmin) return store.list();
      const own = await store.findById(principal.keyId);
      return own === null ? [] : [own];
    },

    async revokeKey(principal, id) {
      if (principal === null) throw new Unauthorized('An API key is required.');
      if (!principal.isAdmin && principal.keyId !== id) throw new Forbidden('A key that is not an admin key can revoke only itself.');
      const record = await store.revoke(id);
      if (record === null) throw new NotFound('No API key has this id.', 'api_key_not_found');
      forget(id);
      if (revocations === null) return record;
      // Answering 204 without every ack would break the promise: a replica that cached the key
      // would accept it until its entry expires. The revocation is stored, so a retry is harmless.
      const published = await revocations.publish(String(id), { confirm: true });
      if (!published.delivered) {
        throw new DependencyDown('redis', UNCONFIRMED_DETAIL, 1, { cause: new Error(`API key ${id} revoked but not confirmed by every replica: ${published.reason ?? 'unknown'}`) });
      }
      return record;
    },
  };
}
