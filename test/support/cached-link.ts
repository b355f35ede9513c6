// The cache entry of a plain link (active, no limit, no expiry, no password), for the link-cache tests.
import type { CachedLink } from '../../src/storage/link-cache.ts';

export function cachedLink(id: number, extra: Partial<CachedLink> = {}): CachedLink {
  return { id, url: `https://example.com/${id}`, expiresAt: null, limited: false, isActive: true, consumed: false, forwardQuery: false, hasPassword: false, ...extra };
}
