// Runs wrk (a C load generator: on two cores it outpaces any Node server, where autocannon, itself a
// Node process, needed a core of its own) with one of the scripts in bench/wrk/, and reads the JSON
// line the script prints at the end.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpuSpent, readCpu } from './process-cpu.ts';

const SCRIPTS = fileURLToPath(new URL('../wrk/', import.meta.url));

export interface WrkOptions {
  url: string;
  script: 'redirect' | 'create';
  /** Passed to the script (see its header). */
  env: Record<string, string>;
  connections: number;
  durationS: number;
  threads?: number;
}

export interface WrkResult {
  requests: number;
  /** The run's wall time; with ONCE=1 a thread may have stopped before it. */
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Answers with another status than expected, or a wrong Location. */
  wrong: number;
  /** Threads that ran out of paths (ONCE=1) before the duration; when all did, the run ended then. */
  stopped: number;
  statuses: Record<string, number>;
  /** wrk's own CPU per request, µs, and its CPU time over the run's wall time (1 = one core busy). */
  generatorCpuUs: number;
  generatorBusy: number;
  /**
   * With UA_FILE (redirect.lua): requests written, and those written with a bot's User-Agent. Counted
   * when sent, not when answered: at the end of a run a few are still in flight.
   */
  agents: { sent: number; bots: number } | null;
}

export function wrkInstalled(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('wrk', ['--version'], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('exit', () => resolve(true));
  });
}

/**
 * The scripts' environment for `rate` requests a second in all (none: as fast as wrk goes). wrk's RATE
 * is per thread (bench/wrk/common.lua): this is for runs of one thread, runWrk's default.
 */
export const pacing = (rate: number): Record<string, string> => (rate > 0 ? { RATE: String(rate) } : {});

export const WRK_MISSING = 'wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk` (macOS).';

export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const threads = options.threads ?? 1;
  const args = ['-t', String(threads), '-c', String(options.connections), '-d', `${options.durationS}s`, '--timeout', '10s', '-s', `${SCRIPTS}${options.script}.lua`, options.url];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { env: { PATH: process.env.PATH ?? '', ...options.env, THREADS: String(threads), WRK_SCRIPTS: SCRIPTS }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let threadsDone = 0;
    // wrk's CPU, read when it prints its result (its threads have ended, the process has not).
    let generatorCpu: number | null = null;
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      out += text;
      if (generatorCpu === null && text.includes('WRK_JSON ')) generatorCpu = cpuSpent(new Map(), readCpu([child.pid ?? 0]));
      // Every thread has run out of paths: end the run now rather than at its duration.
      threadsDone += text.split('WRK_THREAD_DONE').length - 1;
      if (threadsDone >= threads) child.kill('SIGINT');
    });
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
      if (code !== 0 || line === undefined) {
        reject(new Error(`wrk exited with ${code}:\n${out}`));
        return;
      }
      const raw = JSON.parse(line.slice('WRK_JSON '.length)) as { requests: number; durationUs: number; p50Us: number; p99Us: number; errors: number; wrong: number; stopped: number; statuses: Record<string, number>; agents?: { sent: number; bots: number } };
      const durationS = raw.durationUs / 1e6;
      resolve({
        requests: raw.requests,
        durationS,
        rps: raw.requests / durationS,
        p50Ms: raw.p50Us / 1000,
        p99Ms: raw.p99Us / 1000,
        errors: raw.errors,
        wrong: raw.wrong,
        stopped: raw.stopped,
        statuses: raw.statuses,
        generatorCpuUs: (generatorCpu ?? 0) / Math.max(1, raw.requests),
        generatorBusy: (generatorCpu ?? 0) / raw.durationUs,
        agents: raw.agents ?? null,
      });
    });
  });
}
