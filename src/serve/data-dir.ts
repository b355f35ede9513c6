// One process owns a data folder: PGlite is a single-process database, and two processes writing the
// same files would corrupt it. A pid file claims the folder; one left behind by a killed process is
// taken over, since its process is gone.
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const PID_FILE = 'curt.pid';

export class DataDirInUse extends Error {
  constructor(dir: string, pid: number) {
    super(`${dir} is in use by process ${pid} (another \`curt serve\`?); stop it, or set DATA_DIR to another folder`);
    this.name = 'DataDirInUse';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process not yet reaped by its parent still exists, as a zombie (Linux: state Z).
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Claims `dir` for this process; resolves to the function that gives it up. */
export async function claimDataDir(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, PID_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) throw new DataDirInUse(dir, pid);
    await rm(file, { force: true });
  }
  throw new Error(`could not claim ${dir}: ${file} keeps coming back`);
}
