// CPU time a set of processes has spent (user + system, all threads), per thread from
// /proc/<pid>/task/<tid>/schedstat in nanoseconds (/proc/<pid>/stat counts in clock ticks of 10 ms:
// 0.53 µs a request, about 1 %, in a cold round of 18,750 requests). A benchmark
// reads it before and after a scenario and divides by the requests answered: the server's own cost
// per request, whatever the load generator or the machine's noise does to req/s.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;

function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** utime + stime of one process in µs, or null when it has exited. */
function processCpuMicros(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, so 11 and 12 after the name and state.
  return ((Number(fields[11]) + Number(fields[12])) / clockTicks()) * 1e6;
}

/** Every process whose command name is `name` (e.g. the PostgreSQL server and its backends). */
export function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/**
 * Each live thread's time on CPU in µs by thread id, from its schedstat; null when the kernel keeps
 * no schedstat (or the process is gone).
 */
function threadCpuMicros(pid: number): Map<number, number> | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const threads = new Map<number, number>();
  for (const tid of tids) {
    let schedstat: string;
    try {
      schedstat = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(`/proc/${pid}/task/${tid}`)) return null;
      continue; // exited meanwhile
    }
    threads.set(Number(tid), Number(schedstat.slice(0, schedstat.indexOf(' '))) / 1000);
  }
  return threads;
}

/**
 * One process's CPU in µs: from its clock ticks for the whole process (its exited threads included),
 * and per live thread from schedstat, read to the nanosecond (null without schedstat).
 */
export interface ProcessCpu {
  ticksUs: number;
  threads: Map<number, number> | null;
}

/** A reading of some processes' CPU, per pid, so that processes started in between count from zero. */
export type CpuReading = Map<number, ProcessCpu>;

/** Processes that have exited are left out of the reading. */
export function readCpu(pids: Iterable<number>): CpuReading {
  const reading: CpuReading = new Map();
  for (const pid of pids) {
    const threads = threadCpuMicros(pid);
    const ticksUs = processCpuMicros(pid);
    if (ticksUs !== null) reading.set(pid, { ticksUs, threads });
  }
  return reading;
}

/**
 * What one process spent between two readings (`before` undefined: since it started): per thread, to
 * the nanosecond. A thread that exited took its time with it (read before and gone after, or started
 * and gone in between); the ticks keep it, truncated to 10 ms. So when the ticks are ahead of the
 * threads' sum by more than a tick, they count: wrk, read once as it prints its summary, after its
 * worker thread exited, is read that way.
 */
function processSpent(before: ProcessCpu | undefined, after: ProcessCpu): number {
  const ticks = after.ticksUs - (before?.ticksUs ?? 0);
  if (after.threads === null || before?.threads === null) return ticks;
  let spent = 0;
  for (const [tid, micros] of after.threads) spent += micros - (before?.threads.get(tid) ?? 0);
  return ticks - spent > 1e6 / clockTicks() ? ticks : spent;
}

/**
 * CPU µs spent between two readings; pids only in `after` started meanwhile and count whole. A pid
 * only in `before` exited meanwhile: what it spent after `before` is lost (see `exitedBetween`), so
 * the total is then short, where it used to go negative by all it had spent before.
 */
export function cpuSpent(before: CpuReading, after: CpuReading): number {
  let total = 0;
  for (const [pid, cpu] of after) total += processSpent(before.get(pid), cpu);
  return total;
}

/** Read and write system calls (`syscr`, `syscw` of /proc/<pid>/io) made by some processes, summed. */
export interface SyscallReading {
  reads: number;
  writes: number;
}

/**
 * The read- and write-like system calls (read, recv, write, writev, send...) some processes have made.
 * On this machine a write to a loopback socket costs about as much CPU as the rest of a warm redirect
 * (the kernel's TCP work is charged to the writer), so how many a request makes explains its cost.
 */
export function readSyscalls(pids: Iterable<number>): Map<number, SyscallReading> {
  const reading = new Map<number, SyscallReading>();
  for (const pid of pids) {
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'utf8');
      reading.set(pid, { reads: Number(/^syscr: (\d+)/m.exec(io)?.[1] ?? 0), writes: Number(/^syscw: (\d+)/m.exec(io)?.[1] ?? 0) });
    } catch {
      // exited meanwhile
    }
  }
  return reading;
}

/** System calls made between two readings (a pid only in `after` counts whole, as in `cpuSpent`). */
export function syscallsSpent(before: Map<number, SyscallReading>, after: Map<number, SyscallReading>): SyscallReading {
  const total = { reads: 0, writes: 0 };
  for (const [pid, now] of after) {
    total.reads += now.reads - (before.get(pid)?.reads ?? 0);
    total.writes += now.writes - (before.get(pid)?.writes ?? 0);
  }
  return total;
}

/** Processes read in `before` and gone by `after`: a reading of their CPU between the two is missing. */
export function exitedBetween(before: CpuReading, after: CpuReading): number {
  let exited = 0;
  for (const pid of before.keys()) if (!after.has(pid)) exited += 1;
  return exited;
}

/** `pid` and every process below it (a service's helpers, e.g. the esbuild service tsx starts). */
export function withDescendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const found = [pid];
  for (let i = 0; i < found.length; i++) {
    for (const [child, parent] of parentOf) if (parent === found[i]) found.push(child);
  }
  return found;
}
