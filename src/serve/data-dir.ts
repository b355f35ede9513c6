// One process owns a data folder: PGlite is a single-process database, and two processes writing the
// same files would corrupt it. A pid file, created exclusively, claims the folder. One left behind by
// a killed process is taken over, and that takeover is itself exclusive (see takeOver below), so two
// processes that find the same stale pid file at once cannot both end up owning the folder.
//
// A pid alone does not name a process: the image's node is pid 1 on every start, so a pid file left
// by a killed container holds the pid of the next start, and after a reboot any live process may have
// the pid. So the file also holds the process's start time (Linux: /proc/<pid>/stat, where there is
// one) and a token of this process: a claim is held only by the process with that pid, start time and,
// for this very process, token. A process in another pid namespace (another container on the same
// volume, each with its node as pid 1) cannot be asked at all: the file names its namespace, and the
// owner touches the file every HEARTBEAT_MS, so a claim from elsewhere holds while it is touched and
// lapses once left untouched for STALE_AFTER_MS.
//
// The folder holds the database: it is created private (0700, files 0600), and a folder that other
// users can write is refused, since they could replace the database under the server.
import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { chmod, link, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const PID_FILE = 'curt.pid';
/** How often the owner touches its pid file. */
export const HEARTBEAT_MS = 5000;
/** How long a claim from another pid namespace lasts untouched: three missed heartbeats. */
export const STALE_AFTER_MS = 3 * HEARTBEAT_MS;

export interface ClaimOptions {
  heartbeatMs?: number;
  staleAfterMs?: number;
}

export class DataDirInUse extends Error {
  constructor(dir: string, pid: number) {
    super(`${dir} is in use by process ${pid} (another \`curt serve\`?); stop it, or set DATA_DIR to another folder`);
    this.name = 'DataDirInUse';
  }
}

/** A data folder that is not safe to keep a database in; its message is one line for the operator. */
export class DataDirUnsafe extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirUnsafe';
  }
}

/** Written into this process's claims: one with this pid and another token was an earlier process's. */
const OWN_TOKEN = randomUUID();

/** What a pid file says; null where it says nothing readable (an empty file, an earlier release's). */
interface Claim {
  pid: number | null;
  startedAt: string | null;
  token: string | null;
  /** The pid namespace the claimant ran in (Linux: `pid:[…]`). */
  namespace: string | null;
}

/** This process's pid namespace; null where there is no /proc. */
function pidNamespace(): string | null {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

/** A process's state and start time (clock ticks since boot) from /proc/<pid>/stat; null where there is none. */
function procStat(pid: number): { state: string; startedAt: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command, which may hold spaces and parentheses: state is the 3rd, starttime the 22nd.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startedAt = fields[19];
  return state === undefined || startedAt === undefined ? null : { state, startedAt };
}

function claimText(): string {
  return `${process.pid}\nstarted ${procStat(process.pid)?.startedAt ?? '-'}\ntoken ${OWN_TOKEN}\nnamespace ${pidNamespace() ?? '-'}\n`;
}

function claimIn(text: string): Claim {
  const [first = '', ...rest] = text.split('\n');
  const field = (name: string): string | null => {
    const value = rest.find((line) => line.startsWith(`${name} `))?.slice(name.length + 1).trim();
    return value === undefined || value === '' || value === '-' ? null : value;
  };
  return { pid: pidIn(first), startedAt: field('started'), token: field('token'), namespace: field('namespace') };
}

function isAlive(claim: Claim & { pid: number }): boolean {
  const { pid } = claim;
  // This process's own claim is as much in the way of a second claim from it as another's; a claim
  // with its pid and not its token was left by an earlier process that had the same pid.
  if (pid === process.pid) return claim.token === OWN_TOKEN;
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const now = procStat(pid);
  // Without /proc (macOS), a live process with the pid is taken as the owner.
  if (now === null) return true;
  // A killed process not yet reaped by its parent still exists, as a zombie (Linux: state Z).
  if (now.state === 'Z') return false;
  // Another process that has the pid since (after a reboot, or in another container).
  return claim.startedAt === null || claim.startedAt === now.startedAt;
}

/**
 * Makes `dir` (mode 0700) or checks the one that exists: refused when another user owns it or when
 * group or others may write it. One readable by others (made by an earlier version, 0755) is narrowed
 * to 0700: the database files inside are not theirs to read.
 */
export async function preparePrivateDir(dir: string): Promise<void> {
  // mkdir fails with EEXIST on a file of that name (or a folder's link to one): said below, in one line.
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const info = await stat(dir);
  if (!info.isDirectory()) throw new DataDirUnsafe(`DATA_DIR ${dir} is not a folder`);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw new DataDirUnsafe(`refusing to use DATA_DIR ${dir}: it belongs to another user (uid ${info.uid}); use a folder of your own`);
  }
  if ((info.mode & 0o022) !== 0) {
    throw new DataDirUnsafe(`refusing to use DATA_DIR ${dir}: other users can write to it (mode ${(info.mode & 0o777).toString(8)}); run \`chmod 700 ${dir}\``);
  }
  if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/**
 * Narrows everything under `dir` to this user (folders 0700, files 0600). PGlite creates its files
 * 0666 whatever the umask, so the embedded database is swept when it opens and when it closes; a file
 * it creates in between is still out of other users' reach, inside folders that are 0700.
 */
export async function makePrivate(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  await chmod(dir, 0o700);
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isDirectory()) await chmod(path, 0o700);
    else if (entry.isFile()) await chmod(path, 0o600).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // a temporary file removed meanwhile
    });
  }
}

/** The pid file's text, or null when there is none. */
const readPidFile = (file: string): Promise<string | null> => readFile(file, 'utf8').catch(() => null);

function pidIn(text: string): number | null {
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Removes a stale pid file (a dead process's pid, or text that is no pid at all, e.g. one left empty
 * by a crash), if it still holds exactly `stale`. Only the process that creates the marker
 * `curt.pid.takeover-<pid>` exclusively may remove it, and it reads the pid file again once it holds
 * the marker: a file holding `stale` can then change only by its own hand. Without the marker, a slow
 * process that also saw `stale` could remove the pid file the faster one has just written, and both
 * would own the folder. Returns false when the marker is held by another process.
 */
async function takeOver(dir: string, file: string, stale: string): Promise<boolean> {
  const marker = join(dir, `${PID_FILE}.takeover-${claimIn(stale).pid ?? 'unreadable'}`);
  try {
    await writeFile(marker, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  }
  try {
    if ((await readPidFile(file)) === stale) await rm(file, { force: true });
  } finally {
    await rm(marker, { force: true });
  }
  return true;
}

/** How often a claim looks again while another process is taking a stale pid file over. */
const RETRY_MS = 20;
const ATTEMPTS = 100;

/**
 * Creates `file` holding this process's claim, or fails with EEXIST; returns the text written.
 * Written aside and linked into place, so the pid file is never seen empty: an empty one would look
 * stale to a racing process.
 */
async function createPidFile(dir: string, file: string): Promise<string> {
  const aside = join(dir, `${PID_FILE}.${process.pid}-${randomUUID()}.new`);
  const text = claimText();
  await writeFile(aside, text, { mode: 0o600 });
  try {
    await link(aside, file);
  } finally {
    await rm(aside, { force: true });
  }
  return text;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Whether a claim from another pid namespace is held: its file is touched while this waits (true), or
 * has been left untouched for `staleAfterMs` (false). Gone or replaced meanwhile: false, and the
 * caller looks again.
 */
async function touchedElsewhere(file: string, text: string, staleAfterMs: number): Promise<boolean> {
  const first = await stat(file).catch(() => null);
  for (;;) {
    const now = await stat(file).catch(() => null);
    if (first === null || now === null || (await readPidFile(file)) !== text) return false;
    if (now.mtimeMs !== first.mtimeMs) return true;
    if (Date.now() - now.mtimeMs > staleAfterMs) return false;
    await sleep(Math.max(10, Math.min(1000, staleAfterMs / 8)));
  }
}

/** Claims `dir` for this process; resolves to the function that gives it up. */
export async function claimDataDir(dir: string, options: ClaimOptions = {}): Promise<() => Promise<void>> {
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  const staleAfterMs = options.staleAfterMs ?? STALE_AFTER_MS;
  await preparePrivateDir(dir);
  const file = join(dir, PID_FILE);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      const own = await createPidFile(dir, file);
      const heartbeat = setInterval(() => {
        const now = new Date();
        utimes(file, now, now).catch(() => undefined);
      }, heartbeatMs);
      heartbeat.unref();
      return async () => {
        clearInterval(heartbeat);
        // Only its own: a claim that is not (taken over after this process stopped touching it) stays.
        if ((await readPidFile(file)) === own) await rm(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const text = await readPidFile(file);
    if (text === null) continue; // gone meanwhile: try again at once
    const claim = claimIn(text);
    const { pid } = claim;
    const here = pidNamespace();
    const elsewhere = claim.namespace !== null && here !== null && claim.namespace !== here;
    if (pid !== null && (elsewhere ? await touchedElsewhere(file, text, staleAfterMs) : isAlive({ ...claim, pid }))) throw new DataDirInUse(dir, pid);
    // Stale, or without a pid (empty after a crash, or not one of ours): take it over, then try again.
    if (!(await takeOver(dir, file, text))) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  throw new Error(`could not claim ${dir}: ${file} keeps coming back (a leftover ${PID_FILE}.takeover-* file there can be removed once no \`curt serve\` runs)`);
}
