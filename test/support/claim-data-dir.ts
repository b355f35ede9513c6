// A process that claims the data folder argv[2] once its parent writes a line to stdin (so that
// several of them start their claims together), prints `claimed` or `in use`, and then holds the
// claim until it is killed.
import { createInterface } from 'node:readline';
import { claimDataDir, DataDirInUse } from '../../src/serve/data-dir.ts';

const [dir = ''] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const _line of lines) break;
try {
  await claimDataDir(dir);
  process.stdout.write('claimed\n');
} catch (err) {
  if (!(err instanceof DataDirInUse)) throw err;
  process.stdout.write('in use\n');
}
setInterval(() => undefined, 60_000);
