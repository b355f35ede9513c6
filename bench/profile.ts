// `npm run bench:profile`: where a redirect's or a creation's CPU goes. Starts a KGS and a URL service (on the
// PostgreSQL and Redis at DATABASE_URL / REDIS_URL, in a database and key prefix of its own) with
// V8's sampling profiler (--cpu-prof), or `curt serve` with PROFILE_MODE=serve, loads PROFILE_LINKS
// links, requests every code once, then drives a Zipf mix with wrk for PROFILE_DURATION_S seconds
// (PROFILE_SCENARIO=cold: each code once instead, none requested before; =create: POST /urls).
// Only the samples taken during that run are counted. Prints the server's CPU per request (from
// /proc), its system calls and the Redis commands per request (INFO commandstats), and how the CPU
// divides: by part (Node's HTTP, Fastify, Curt's own modules, GC...) and by function.
// PROFILE_ENTRY=dist/url/main.js (after `npm run build`) profiles the compiled service: tsx runs the
// sources with their whitespace removed, so a function's line is always about 1; tsc keeps lines.
// PROFILE_RATE: requests per second, paced (wrk's RATE, bench/wrk/common.lua): the cost below saturation.
// PROFILE_WARMUP_S (default 10): the same scenario first runs that long unmeasured (cold: over a third of
// the codes, kept apart from the profiled run's), so that V8 has compiled the path before the profile
// starts: a profile of a service's first seconds is mostly V8's compilers (docs/performance.md).
// PROFILE_PERF=1 samples with Linux `perf` instead (on-CPU time only, the kernel's share included):
// V8's sampler charged the loopback writes to Redis with more time than perf found in the whole
// kernel (docs/performance.md, "Which profiler to read").
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { migrate } from '../src/core/migrate.ts';
import { createLogger } from '../src/core/logger.ts';
import { E2E_ADMIN_KEY, ROOT, startKgs, startService, startUrlService, type ServiceProcess } from '../test/support/processes.ts';
import { measureRound } from './lib/measure.ts';
import { loadLinks, serverOf, withDatabase, writeLines, zipfSequence , tearDown } from './lib/setup.ts';
import { pacing, runWrk, WRK_MISSING, wrkInstalled, type WrkOptions } from './lib/wrk.ts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MODE = process.env.PROFILE_MODE === 'serve' ? 'serve' : 'url-service';
/** warm: a Zipf mix over codes all requested before; cold: each code once, none before; create: POST /urls. */
const SCENARIO = (['warm', 'cold', 'create'] as const).find((s) => s === process.env.PROFILE_SCENARIO) ?? 'warm';
/** A cold run uses each code once: enough for its warm-up and about 10 s at 20,000 redirects/s. */
const LINKS = Number(process.env.PROFILE_LINKS ?? (SCENARIO === 'cold' ? 300_000 : 20_000));
const DURATION_S = Number(process.env.PROFILE_DURATION_S ?? 10);
const WARMUP_S = Number(process.env.PROFILE_WARMUP_S ?? 10);
const CONNECTIONS = 50;
const PERF = process.env.PROFILE_PERF === '1';
const RATE = Number(process.env.PROFILE_RATE ?? 0);
const PACING = pacing(RATE);
/** How the run was driven, for its result lines. */
const PACED = RATE > 0 ? `, paced at ${RATE} req/s` : '';
const SERVE_ADMIN_KEY = 'curt_bench-admin-key-0123456789abcdef';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Which part of the stack a frame belongs to, from its script's URL (first rule that matches). */
const PARTS: [string, (url: string, fn: string) => boolean][] = [
  ['garbage collection', (_u, fn) => fn === '(garbage collector)'],
  ['idle (event loop waiting)', (_u, fn) => fn === '(idle)'],
  ['V8/native, unattributed', (u, fn) => u === '' && (fn === '(program)' || fn === '(root)')],
  ['Curt: request id, metrics, logging hooks (core/http-app)', (u) => u.includes('/src/core/http-app.ts')],
  ['Curt: graceful-close bookkeeping', (u) => u.includes('/src/core/graceful-close.ts')],
  ['Curt: redirect route', (u) => u.includes('/src/url/routes/redirect.ts')],
  ['Curt: link service', (u) => u.includes('/src/url/link-service.ts')],
  ['Curt: cache tiers', (u) => u.includes('link-cache') || u.includes('/src/storage/')],
  ['Curt: click counter', (u) => u.includes('/src/url/click-counter.ts')],
  ['Curt: other modules', (u) => u.includes('/src/')],
  ['prom-client (metrics)', (u) => u.includes('/node_modules/prom-client/')],
  ['pino (logging)', (u) => u.includes('/node_modules/pino')],
  ['Fastify and its modules', (u) => /\/node_modules\/(fastify|@fastify|find-my-way|avvio|light-my-request|fast-json-stringify|process-warning|abstract-logging|toad-cache|rfdc|fast-content-type-parse|fast-querystring|safe-regex2|ret)\//.test(u)],
  ['ioredis', (u) => u.includes('/node_modules/ioredis/') || u.includes('/node_modules/@ioredis/') || u.includes('/node_modules/redis-')],
  ['other packages', (u) => u.includes('/node_modules/')],
  ['Node: HTTP server (parse, write)', (u) => /node:(_http|http)/.test(u) || u.includes('node:internal/http')],
  ['Node: net, streams, timers', (u) => /node:(net|stream|internal\/(stream|streams|net|timers|perf|async_hooks|process\/task_queues))/.test(u) || u.startsWith('node:internal/stream')],
  ['Node: crypto', (u) => u.includes('crypto')],
  ['Node: other', (u) => u.startsWith('node:')],
  ['native (no script)', () => true],
];

function partOf(url: string, fn: string): string {
  // A compiled service (PROFILE_ENTRY=dist/url/main.js) counts as its sources do.
  const source = url.replace(/\/dist\/(.*)\.js$/, '/src/$1.ts');
  return (PARTS.find(([, test]) => test(source, fn)) ?? ['?'])[0];
}

function frameKey(node: ProfileNode): string {
  const { url, functionName, lineNumber } = node.callFrame;
  const where = url === '' ? '' : ` ${url.replace(/^file:\/\/.*?\/(node_modules|src|dist)\//, '$1/')}:${lineNumber + 1}`;
  return `${functionName || '(anonymous)'}${where}`;
}

interface Analysis {
  parts: Map<string, number>;
  /** Samples by the function that was running (self time). */
  functions: Map<string, number>;
  /** Samples by every function of Curt's or of a package on the stack (inclusive time, once per sample). */
  within: Map<string, number>;
  total: number;
}

function analyse(profile: CpuProfile, fromUs: number, toUs: number): Analysis {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  // A frame's name, made once per node of the tree rather than once per sample that has it on its stack.
  const keys = new Map<number, string>();
  const keyOf = (node: ProfileNode): string => {
    let key = keys.get(node.id);
    if (key === undefined) keys.set(node.id, (key = frameKey(node)));
    return key;
  };
  const parts = new Map<string, number>();
  const functions = new Map<string, number>();
  const within = new Map<string, number>();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    const node = byId.get(profile.samples[i] ?? -1);
    if (!node) continue;
    const { url, functionName } = node.callFrame;
    const part = partOf(url, functionName);
    if (part === 'idle (event loop waiting)') continue;
    total++;
    parts.set(part, (parts.get(part) ?? 0) + 1);
    const key = keyOf(node);
    functions.set(key, (functions.get(key) ?? 0) + 1);
    const seen = new Set<string>();
    for (let frame: ProfileNode | undefined = node; frame !== undefined; frame = parentOf.get(frame.id)) {
      if (!/\/(src|node_modules)\//.test(frame.callFrame.url)) continue;
      seen.add(keyOf(frame));
    }
    for (const fn of seen) within.set(fn, (within.get(fn) ?? 0) + 1);
  }
  return { parts, functions, within, total };
}

async function main(): Promise<void> {
  if (!(await wrkInstalled())) throw new Error(WRK_MISSING);
  const id = randomUUID().slice(0, 8);
  const prefix = `bench:profile:${id}:`;
  const work = mkdtempSync(join(tmpdir(), 'curt-profile-'));
  const profileDir = join(work, 'profile');
  const perfData = join(work, 'perf.data');
  // PROFILE_NODE_ARGS: more flags for the profiled service (e.g. V8's --log-deopt --logfile=…).
  // --perf-basic-prof has V8 log code events too, by default into an isolate-…-v8.log per isolate
  // (curt serve's PGlite thread is a second one) in the working directory: one file for all, in the
  // run's own folder, removed with it. The perf maps (/tmp/perf-<pid>.map) are apart from it.
  const perfArgs = ['--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${join(work, 'v8.log')}`];
  const nodeArgs = [...(PERF ? perfArgs : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]), ...(process.env.PROFILE_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '')];
  const database = await withDatabase(DATABASE_URL, `curt_profile_${id}`);
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  const processes: ServiceProcess[] = [];
  try {
    let service: ServiceProcess;
    let links: [string, string][];
    if (MODE === 'serve') {
      service = await startService(join(ROOT, 'bin/curt.mjs'), { ADMIN_API_KEY: SERVE_ADMIN_KEY, RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_KEY: '0' }, { args: ['serve', '--data-dir', join(work, 'data')], timeoutMs: 60_000, nodeArgs });
      processes.push(service);
      const recorded = join(work, 'created');
      await runWrk({ url: service.url, script: 'create', connections: 20, durationS: 5, env: { BODY_TEMPLATE: '{"url":"https://example.com/p/{n}"}', RECORD_FILE: recorded } });
      links = readFileSync(`${recorded}.0`, 'utf8').trim().split('\n').map((line) => line.split('\t') as [string, string]);
    } else {
      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      await migrate(db, createLogger({ service: 'bench', level: 'warn' }));
      const kgs = await startKgs({ REDIS_URL, REDIS_KEY_PREFIX: prefix, KGS_POOL_TARGET: String(LINKS + 100_000), KGS_REUSE_COOLDOWN_S: '0' });
      processes.push(kgs);
      links = await loadLinks(db, kgs, LINKS);
      await db.end();
      // PROFILE_CHECKOUT: profile another checkout's URL service (e.g. a worktree of main) on the same
      // setup; PROFILE_ENTRY: another entry file (the compiled service).
      const checkout = process.env.PROFILE_CHECKOUT;
      const entryFile = process.env.PROFILE_ENTRY ?? (checkout === undefined ? undefined : join(checkout, 'src/url/main.ts'));
      const entry = entryFile === undefined ? {} : { entry: entryFile };
      service = await startUrlService({ DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: prefix, KGS_URL: kgs.url }, { nodeArgs, ...entry });
      processes.push(service);
    }
    const codes = links.map(([code]) => code);
    const all = writeLines(join(work, 'all.txt'), codes);
    if (SCENARIO === 'warm') await runWrk({ url: service.url, script: 'redirect', connections: CONNECTIONS, durationS: 300, env: { PATHS_FILE: all, ONCE: '1' } });
    const zipf = writeLines(join(work, 'zipf.txt'), Array.from(zipfSequence(codes.length, 1_000_000), (rank) => codes[rank] ?? ''));
    // A cold warm-up takes the first third of the codes and the profiled run the rest, so that neither
    // requests a code the other did.
    const coldSplit = WARMUP_S > 0 ? Math.floor(codes.length / 3) : 0;
    const run = (durationS: number, part: 'warm-up' | 'profiled'): WrkOptions =>
      SCENARIO === 'create'
        ? { url: service.url, script: 'create', connections: CONNECTIONS, durationS, env: { BODY_TEMPLATE: `{"url":"https://example.com/${part}/{n}"}`, AUTHORIZATION: `Bearer ${MODE === 'serve' ? SERVE_ADMIN_KEY : E2E_ADMIN_KEY}`, ...PACING } }
        : SCENARIO === 'cold'
          ? { url: service.url, script: 'redirect', connections: CONNECTIONS, durationS, env: { PATHS_FILE: writeLines(join(work, `${part}.txt`), part === 'warm-up' ? codes.slice(0, coldSplit) : codes.slice(coldSplit)), ONCE: '1', ...PACING } }
          : { url: service.url, script: 'redirect', connections: CONNECTIONS, durationS, env: { PATHS_FILE: zipf, ...PACING } };
    if (WARMUP_S > 0) {
      const warmed = await runWrk(run(WARMUP_S, 'warm-up'));
      if (warmed.errors + warmed.wrong > 0) throw new Error(`the warm-up had ${warmed.errors} errors and ${warmed.wrong} wrong answers`);
    }
    const scenario = run(DURATION_S, 'profiled');
    // V8's profile clock is the monotonic clock, as process.hrtime is: the window is comparable.
    const commandsBefore = parseCommandStats(await redis.info('commandstats'));
    const from = Number(process.hrtime.bigint() / 1000n);
    const pid = service.child.pid ?? 0;
    const perf = PERF ? await startPerf(pid, perfData) : undefined;
    const round = await measureRound(scenario, serverOf(service));
    const to = Number(process.hrtime.bigint() / 1000n);
    const ranFor = SCENARIO === 'cold' && round.stopped > 0 ? `; it ran out of codes after ${round.durationS.toFixed(1)} s of ${DURATION_S} (set PROFILE_LINKS higher)` : '';
    const warmedFor = `${WARMUP_S > 0 ? `warmed up for ${WARMUP_S} s first` : 'no warm-up (its first seconds include V8 compiling)'}${ranFor}`;
    if (perf !== undefined) await perf.stop();
    const commandsAfter = parseCommandStats(await redis.info('commandstats'));
    await service.stop();
    // The Redis server is shared: another client's commands in the window would count here too.
    const perCommand = [...commandsAfter].map(([command, calls]) => [command, (calls - (commandsBefore.get(command) ?? 0)) / round.requests] as const).filter(([, n]) => n >= 0.001);
    const commandsLine = `Redis commands per request: ${perCommand.sort((a, b) => b[1] - a[1]).map(([command, n]) => `${command} ${n.toFixed(3)}`).join(', ') || 'none'}\n`;
    if (perf !== undefined) {
      printPerf(perfData, round.cpuUs, `${Math.round(round.rps)} req/s${PACED}, ${round.cpuUs.toFixed(1)} µs CPU/req (from /proc); ${warmedFor}`);
      console.log(`\n${commandsLine}`);
      // PROFILE_SAVE with PROFILE_PERF=1: perf's data (with call graphs) kept for `perf report --children -i <file>`; its JIT map stays in /tmp.
      // Inclusive shares of native and kernel frames hold; JIT frames may be misnamed (the map keeps an address after V8 moves or frees its code).
      if (process.env.PROFILE_SAVE !== undefined) {
        copyFileSync(perfData, process.env.PROFILE_SAVE);
        console.log(`perf data: ${process.env.PROFILE_SAVE} (symbols of JIT code: /tmp/perf-${pid}.map, remove it when done)`);
      } else rmSync(`/tmp/perf-${pid}.map`, { force: true });
      return;
    }
    const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('no profile written');
    // PROFILE_SAVE=<file>.cpuprofile keeps the whole profile (Chrome DevTools opens it) for the call tree.
    if (process.env.PROFILE_SAVE !== undefined) copyFileSync(join(profileDir, file), process.env.PROFILE_SAVE);
    const { parts, functions, within, total } = analyse(JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile, from, to);
    const perRequest = (samples: number): string => ((round.cpuUs * samples) / total).toFixed(1);
    console.log(`\n${SCENARIO === 'create' ? 'creations' : `${SCENARIO} redirects`}, ${MODE}, ${LINKS.toLocaleString('en-US')} links: ${Math.round(round.rps)} req/s${PACED}, ${round.cpuUs.toFixed(1)} µs CPU/req (from /proc), system calls per request: ${round.writesPerReq.toFixed(2)} writes, ${round.readsPerReq.toFixed(2)} reads; ${total} samples (idle excluded); ${warmedFor}\n`);
    console.log(commandsLine);
    console.log('| part | share | µs/req |\n| --- | ---: | ---: |');
    for (const [part, n] of [...parts].sort((a, b) => b[1] - a[1])) console.log(`| ${part} | ${((100 * n) / total).toFixed(1)} % | ${perRequest(n)} |`);
    const topFunctions = (title: string, samples: Map<string, number>): void => {
      console.log(`\n| ${title} | share | µs/req |\n| --- | ---: | ---: |`);
      for (const [fn, n] of [...samples].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP ?? 30))) console.log(`| \`${fn}\` | ${((100 * n) / total).toFixed(1)} % | ${perRequest(n)} |`);
    };
    topFunctions('function (self time)', functions);
    topFunctions("function of Curt's or a package, with what it calls (inclusive)", within);
  } finally {
    await tearDown({ processes, redis, prefixes: [prefix], database, work });
  }
}

/** `perf record` of one process, running once this resolves; throws (with perf's words) when it could not start. */
async function startPerf(pid: number, file: string): Promise<{ stop(): Promise<void> }> {
  if (pid === 0) throw new Error('the profiled service has no pid');
  const perf = spawn('perf', ['record', '-F', '2999', ...(process.env.PROFILE_SAVE === undefined ? [] : ['-g']), '-p', String(pid), '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  perf.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
  const ended = new Promise<void>((resolve, reject) => {
    perf.once('error', reject);
    perf.once('exit', () => resolve());
  });
  // Attaching takes a moment; an early exit is a failure (no permission, no such process).
  const early = await Promise.race([ended.then(() => 'exited' as const), sleep(500).then(() => 'running' as const)]);
  if (early === 'exited') throw new Error(`perf record exited at once: ${said.trim()}`);
  return {
    async stop() {
      perf.kill('SIGINT');
      await ended;
    },
  };
}

/** `perf report`'s self time by binary and by symbol, as µs per request of the /proc CPU figure. */
function printPerf(file: string, cpuUs: number, heading: string): void {
  const report = (sort: string): [number, string][] => {
    const run = spawnSync('perf', ['report', '-i', file, '--no-children', '-g', 'none', '--sort', sort, '--stdio'], { encoding: 'utf8', maxBuffer: 256 << 20 });
    if (run.status !== 0) throw new Error(`perf report failed: ${run.stderr}`);
    return run.stdout.split('\n').flatMap((line) => {
      const match = /^\s+([\d.]+)%\s+(.*)$/.exec(line);
      return match === null ? [] : [[Number(match[1]), (match[2] ?? '').replace(/\s+/g, ' ').trim()] as [number, string]];
    });
  };
  const row = ([share, what]: [number, string]): string => `| ${share.toFixed(1)} % | ${((cpuUs * share) / 100).toFixed(1)} | \`${what.slice(0, 110)}\` |`;
  console.log(`\n${SCENARIO}, ${MODE}, perf (on-CPU samples): ${heading}\n`);
  console.log('| share | µs/req | binary (JIT code: perf-<pid>.map) |\n| ---: | ---: | --- |');
  for (const line of report('dso')) console.log(row(line));
  const symbols = report('dso,sym');
  const kinds = new Map<string, number>();
  for (const [share, what] of symbols) {
    const kind = kindOf(what);
    kinds.set(kind, (kinds.get(kind) ?? 0) + share);
  }
  console.log('\n| share | µs/req | kind of work |\n| ---: | ---: | --- |');
  for (const line of [...kinds].map(([kind, share]) => [share, kind] as [number, string]).sort((a, b) => b[0] - a[0])) console.log(row(line));
  // perf prints shares to two decimals: thousands of JIT symbols under 0.005 % each show as 0.00 %.
  const listed = [...kinds.values()].reduce((sum, share) => sum + share, 0);
  console.log(row([Math.max(0, 100 - listed), 'symbols too small for perf report to show (under 0.005 % each)']));
  console.log('\n| share | µs/req | binary, symbol |\n| ---: | ---: | --- |');
  for (const line of symbols.slice(0, Number(process.env.PROFILE_TOP ?? 60))) console.log(row(line));
}

/** What a `perf report` line's symbol does, by its binary and name (first rule that matches). */
function kindOf(what: string): string {
  if (what.startsWith('[kernel.kallsyms]')) return 'kernel (system calls, network, scheduling)';
  if (/\[JIT\]|perf-\d+\.map/.test(what)) return /JS:\*/.test(what) ? 'JavaScript, optimised (TurboFan/Maglev)' : 'JavaScript, baseline or interpreted; regular expressions';
  if (/Scaveng|Sweep|Mark|Heap::|GCTracer|Evacuat|Compactor|ConcurrentMarking|MemoryAllocator|RememberedSet|Ephemeron/.test(what)) return 'garbage collection';
  // V8's own parser and compilers; not JSON.parse (JsonParser) nor Node's HTTP parser (node::…::Parser).
  if (/v8::internal::(compiler::|maglev::|baseline::|Compiler|Parser(Base)?[<:]|PreParser|ScopeInfo|BytecodeGenerator|interpreter::BytecodeArrayBuilder)|Builtins_CompileLazy/.test(what)) return 'V8 compiling';
  if (/Builtins_/.test(what)) return 'V8 builtins (property access, calls, promises, strings, Map)';
  if (/llhttp|node::/.test(what)) return "Node's native code (HTTP parser, streams, bindings)";
  if (/libc\.so|libstdc\+\+|libm\.so|libgcc/.test(what)) return 'C library (memory, copying)';
  if (/uv_|libuv/.test(what)) return 'libuv';
  return 'V8 runtime, other';
}

/** Calls per command from INFO commandstats (`cmdstat_get:calls=12,usec=…`). */
function parseCommandStats(info: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1] ?? '', Number(match[2]));
  return calls;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
