// One scenario, measured as the bench reports it: wrk drives it for a number of rounds and each round
// reads the server's CPU time (all its processes) and its dependencies' (Redis, PostgreSQL) before
// and after, so that every figure comes with the server's own cost per request. The row is the
// median of the rounds.
import { cpuSpent, readCpu, readSyscalls, syscallsSpent } from './process-cpu.ts';
import { runWrk, type WrkOptions, type WrkResult } from './wrk.ts';

export interface Round extends WrkResult {
  /** Server CPU µs per answered request. */
  cpuUs: number;
  /** Dependencies' CPU µs per answered request (Redis + PostgreSQL; null where there are none). */
  depsCpuUs: number | null;
  /** Server read- and write-like system calls per answered request (/proc/<pid>/io). */
  readsPerReq: number;
  writesPerReq: number;
}

export interface Row {
  scenario: string;
  rounds: Round[];
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUs: number;
  depsCpuUs: number | null;
  /** Summed over the rounds. */
  requests: number;
  errors: number;
  wrong: number;
  statuses: Record<string, number>;
  /** A cold round ran out of codes before its time (and ended then). */
  stopped: boolean;
  /**
   * With a reference measured after every round: the median over rounds of this row's CPU per
   * request divided by the reference's in the round just after it (load that comes and goes during
   * a run then moves both alike).
   */
  vsReference?: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export interface Measured {
  /** The processes whose CPU is the server's (a service and, where it has them, its children). */
  server: number[];
  /** Redis and PostgreSQL processes, read afresh each round (PostgreSQL starts a process per connection). */
  deps?: () => number[];
  /**
   * Resolves once the work a round leaves behind is done: the URL service's counted clicks written.
   * The round's CPU is read after it, so each request pays for writing its click, and a service whose
   * flushes are slower does not look cheaper by leaving them after the round.
   */
  settle?: () => Promise<void>;
}

export async function measureRound(wrk: WrkOptions, target: Measured): Promise<Round> {
  const deps = target.deps?.() ?? [];
  const before = readCpu(target.server);
  const callsBefore = readSyscalls(target.server);
  const depsBefore = readCpu(deps);
  const result = await runWrk(wrk);
  await target.settle?.();
  const serverCpu = cpuSpent(before, readCpu(target.server));
  const calls = syscallsSpent(callsBefore, readSyscalls(target.server));
  const depsCpu = cpuSpent(depsBefore, readCpu(new Set([...deps, ...(target.deps?.() ?? [])])));
  const answered = Math.max(1, result.requests);
  return {
    ...result,
    cpuUs: serverCpu / answered,
    depsCpuUs: target.deps === undefined ? null : depsCpu / answered,
    readsPerReq: calls.reads / answered,
    writesPerReq: calls.writes / answered,
  };
}

export function summarize(scenario: string, rounds: Round[]): Row {
  const statuses: Record<string, number> = {};
  for (const round of rounds) for (const [status, n] of Object.entries(round.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
  const deps = rounds.flatMap((r) => (r.depsCpuUs === null ? [] : [r.depsCpuUs]));
  return {
    scenario,
    rounds,
    rps: median(rounds.map((r) => r.rps)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    cpuUs: median(rounds.map((r) => r.cpuUs)),
    depsCpuUs: deps.length === 0 ? null : median(deps),
    requests: rounds.reduce((sum, r) => sum + r.requests, 0),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    wrong: rounds.reduce((sum, r) => sum + r.wrong, 0),
    statuses,
    stopped: rounds.some((r) => r.stopped > 0),
  };
}

export interface Reference {
  wrk: WrkOptions;
  target: Measured;
}

/**
 * `rounds` rounds of the same wrk run (or of `wrkFor(round)`, for cold runs on fresh codes each
 * round), each followed by a round of `reference` when one is given.
 */
export async function measure(
  scenario: string,
  rounds: number,
  wrkFor: (round: number) => WrkOptions,
  target: Measured,
  options: { reference?: Reference; log?: (line: string) => void } = {},
): Promise<Row> {
  const log = options.log ?? console.error;
  const done: Round[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const result = await measureRound(wrkFor(round), target);
    done.push(result);
    let versus = '';
    if (options.reference !== undefined) {
      const reference = await measureRound(options.reference.wrk, options.reference.target);
      ratios.push(result.cpuUs / reference.cpuUs);
      versus = ` (reference ${reference.cpuUs.toFixed(1)} µs: ×${(result.cpuUs / reference.cpuUs).toFixed(2)})`;
    }
    log(`  ${scenario} [${round + 1}/${rounds}]: ${Math.round(result.rps)} req/s, ${result.cpuUs.toFixed(1)} µs CPU/req${versus}, p99 ${result.p99Ms} ms, errors ${result.errors}, wrong ${result.wrong}`);
  }
  const row = summarize(scenario, done);
  return ratios.length > 0 ? { ...row, vsReference: median(ratios) } : row;
}

/**
 * A Markdown table; ratios are of server CPU per request to the references' in the same run: to
 * node:http, the median of the per-round ratios where the row has them (vsReference).
 */
export function formatTable(rows: Row[], references: { nodeHttp: number; fastify: number | null }): string {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', '× node:http', '× Fastify', 'Redis+PG µs/req', 'errors'];
  const body = rows.map((r) => [
    r.scenario,
    Math.round(r.rps).toLocaleString('en-US'),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.cpuUs.toFixed(1),
    (r.vsReference ?? r.cpuUs / references.nodeHttp).toFixed(2),
    references.fastify === null ? '-' : (r.cpuUs / references.fastify).toFixed(2),
    r.depsCpuUs === null ? '-' : r.depsCpuUs.toFixed(1),
    String(r.errors + r.wrong),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`, ...body.map(line)].join('\n');
}
