// Live memory for the tests that bound it: the heap in use right after a full collection, so that
// garbage not yet collected does not count (a million-row CSV once read 64.9 MB of it).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/** heapUsed after a full garbage collection (gc exposed on first use, as node --expose-gc would). */
export function liveHeapUsed(): number {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  return process.memoryUsage().heapUsed;
}
