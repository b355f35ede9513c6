// A CodeSource served by a key pool in the same process (the one-machine mode, and tests): the same
// guarantees as the KGS over HTTP, without the network hop or a local buffer.
import type { CodeSource } from '../kgs-client/types.ts';
import type { KeyPool } from './key-pool.ts';

export function createLocalCodeSource(pool: KeyPool): CodeSource {
  let closed = false;
  return {
    async takeCode() {
      if (closed) throw new Error('code source is closed');
      const [code] = await pool.takeCodes(1);
      if (code === undefined) throw new Error('key pool returned no code');
      return code;
    },
    claimCode: (code) => pool.claimCode(code),
    returnCodes: (codes) => pool.returnCodes(codes),
    buffered: () => 0,
    async close() {
      closed = true;
    },
  };
}
