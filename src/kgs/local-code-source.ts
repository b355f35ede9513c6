// A CodeSource served by a key pool in the same process (the one-machine mode, and tests): the same
// guarantees as the KGS over HTTP, without the network hop. Codes are taken `batchSize` at a time
// (each take is a statement on the pool's store, so one per creation would be the bottleneck) and
// kept in memory; close() gives the unused ones back. A SIGKILL loses at most one batch of codes:
// they stay used, never handed out twice.
import { DependencyDown } from '../core/errors.ts';
import type { CodeSource } from '../kgs-client/types.ts';
import type { KeyPool } from './key-pool.ts';

export function createLocalCodeSource(pool: KeyPool, options: { batchSize?: number } = {}): CodeSource {
  const batchSize = options.batchSize ?? 1;
  const buffer: string[] = [];
  let refilling: Promise<void> | null = null;
  let closed = false;

  // One take in flight at a time: concurrent creations wait for the same batch.
  function refill(): Promise<void> {
    refilling ??= pool
      .takeCodes(batchSize)
      .then((codes) => {
        if (codes.length === 0) throw new DependencyDown('kgs', 'The key pool gave no code.', 1);
        buffer.push(...codes);
      })
      .finally(() => {
        refilling = null;
      });
    return refilling;
  }

  return {
    async takeCode() {
      for (;;) {
        if (closed) throw new DependencyDown('kgs', 'The service is shutting down.', 1);
        const code = buffer.pop();
        if (code !== undefined) return code;
        await refill();
      }
    },
    claimCode: (code) => pool.claimCode(code),
    returnCodes: (codes, _context, options) => pool.returnCodes(codes, options),
    buffered: () => buffer.length,
    async close() {
      closed = true;
      await refilling?.catch(() => undefined);
      const unused = buffer.splice(0);
      if (unused.length > 0) await pool.returnCodes(unused, { unused: true });
    },
  };
}
