// A LinkService without HTTP, for tests of its flows: no cache unless given, clicks buffered in memory
// (never flushed during a test), target URLs checked by syntax only, and a code source that only
// a test's own overrides make useful.
import type { CodeSource } from '../../src/kgs-client/types.ts';
import { noLinkCache } from '../../src/storage/link-cache.ts';
import { createClickCounter } from '../../src/url/click-counter.ts';
import type { LinkServiceOptions } from '../../src/url/link-service.ts';
import { testLogger } from './log.ts';
import { testVisitors } from './visitors.ts';

/** A CodeSource that hands out nothing: takeCode fails, claims and returns succeed; override what a test needs. */
export function stubCodeSource(overrides: Partial<CodeSource> = {}): CodeSource {
  return {
    takeCode: () => Promise.reject(new Error('not used')),
    claimCode: (code) => Promise.resolve(code),
    returnCodes: (returned) => Promise.resolve(returned.length),
    buffered: () => 0,
    close: () => Promise.resolve(),
    ...overrides,
  };
}

export function linkServiceOptions(label: string, parts: Pick<LinkServiceOptions, 'store'> & Partial<LinkServiceOptions>): LinkServiceOptions {
  const log = parts.log ?? testLogger(label);
  const visitors = testVisitors();
  return {
    cache: noLinkCache,
    codes: stubCodeSource(),
    clicks: createClickCounter({ store: parts.store, log, visitors, flushIntervalMs: 60_000, bufferMax: 100 }),
    visitors,
    log,
    urlPolicy: { ownHosts: [], blockedDomains: [] },
    cacheTtlS: 60,
    negativeCacheTtlS: 30,
    allowAnonymous: true,
    ...parts,
  };
}
