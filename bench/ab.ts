// `npm run bench:ab -- <dir A> <dir B>`: an alternating A/B of two checkouts of Curt (e.g. a worktree
// of main and the working tree), the way docs/performance.md asks a claimed gain to be shown. Both
// URL services run side by side on one PostgreSQL server, one KGS and one Redis, each side with its
// own database, migrated by its own checkout's migrations (so a change of schema is measured too), and
// its own Redis key prefix (neither warms the other's cache); both hold the same links. Each round
// measures A then B, the next B then A, and so on, and the table gives every round's server CPU µs per request and the medians, beside a bare node:http
// server measured in every round too (the floor, and the ratio docs/performance.md's targets use),
// and for creations a bare Fastify route with Curt's schemas and no storage (the framework's floor).
//
//   AB_SCENARIO=warm|cold|create   (default warm)   AB_ROUNDS (default 6)   AB_DURATION_S (default 5)
//   AB_LINKS (default 100,000)     AB_MODE=url-service|serve (serve: `curt serve`, its links made through
//   POST /urls: 10 s of creations, 40 s for cold rounds, which then share what the sides made)
//   AB_ENV_A, AB_ENV_B: settings of one side only, e.g. AB_ENV_B="CLICK_FLUSH_INTERVAL_MS=10000 CACHE_NEAR_MAX=200000"
//   AB_NODE_ARGS_A, AB_NODE_ARGS_B: Node's or V8's flags for one side's URL service, e.g. AB_NODE_ARGS_B="--single-threaded-gc"
//     (most V8 flags are refused in NODE_OPTIONS)
//   AB_RATE: requests per second of every measured run (both sides and the references; wrk's RATE,
//     bench/wrk/common.lua), below what either side can serve: both then do the same work in the same
//     time, so neither's CPU per request moves with how much the other processes left it. Unset:
//     as fast as each goes (docs/performance.md, "How to measure").
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { migrate } from '../src/core/migrate.ts';
import { createLogger } from '../src/core/logger.ts';
import { E2E_ADMIN_KEY, ROOT, startKgs, startService, startUrlService, type ServiceProcess } from '../test/support/processes.ts';
import { clickCounters } from './lib/click-counters.ts';
import { measureRound, median, type Round } from './lib/measure.ts';
import { clicksWritten, dependencyPids, loadLinks, serverOf, withDatabase, writeLines, zipfSequence , tearDown } from './lib/setup.ts';
import { pacing, runWrk, WRK_MISSING, wrkInstalled, type WrkOptions } from './lib/wrk.ts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCENARIO = (['warm', 'cold', 'create'] as const).find((s) => s === process.env.AB_SCENARIO) ?? 'warm';
const MODE = process.env.AB_MODE === 'serve' ? 'serve' : 'url-service';
const ROUNDS = Number(process.env.AB_ROUNDS ?? 6);
const DURATION_S = Number(process.env.AB_DURATION_S ?? 5);
const LINKS = Number(process.env.AB_LINKS ?? 100_000);
const CONNECTIONS = 50;
const RATE = Number(process.env.AB_RATE ?? 0);
/** For the measured runs only: the warm-up passes go as fast as they can. */
const PACING = pacing(RATE);
/** `NAME=value NAME=value`: what one side runs with beyond the bench's own settings. */
const sideEnv = (spec: string | undefined): Record<string, string> =>
  Object.fromEntries((spec ?? '').split(/\s+/).filter((pair) => pair.includes('=')).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
const SIDE_ENV: Record<string, Record<string, string>> = { A: sideEnv(process.env.AB_ENV_A), B: sideEnv(process.env.AB_ENV_B) };
const sideArgs = (spec: string | undefined): string[] => (spec ?? '').split(/\s+/).filter((arg) => arg !== '');
const SIDE_NODE_ARGS: Record<string, string[]> = { A: sideArgs(process.env.AB_NODE_ARGS_A), B: sideArgs(process.env.AB_NODE_ARGS_B) };
const SERVE_ADMIN_KEY = 'curt_bench-admin-key-0123456789abcdef';

async function main(): Promise<void> {
  const [dirA, dirB] = process.argv.slice(2).map((d) => resolve(d));
  if (dirA === undefined || dirB === undefined) throw new Error('usage: npm run bench:ab -- <checkout A> <checkout B>');
  if (!(await wrkInstalled())) throw new Error(WRK_MISSING);
  const id = randomUUID().slice(0, 8);
  const work = mkdtempSync(join(tmpdir(), 'curt-ab-'));
  const databases = { A: await withDatabase(DATABASE_URL, `curt_ab_${id}_a`), B: await withDatabase(DATABASE_URL, `curt_ab_${id}_b`) };
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  const deps = await dependencyPids(redis);
  const processes: ServiceProcess[] = [];
  const prefixes = [`bench:ab:${id}:kgs:`, `bench:ab:${id}:a:`, `bench:ab:${id}:b:`];
  try {
    const sides: { name: string; service: ServiceProcess; codes: string[] }[] = [];
    if (MODE === 'serve') {
      for (const [name, dir] of [['A', dirA], ['B', dirB]] as const) {
        const service = await startService(join(dir, 'bin/curt.mjs'), { ADMIN_API_KEY: SERVE_ADMIN_KEY, RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_KEY: '0', ...SIDE_ENV[name] }, { args: ['serve', '--data-dir', join(work, `data-${name}`)], timeoutMs: 60_000, nodeArgs: SIDE_NODE_ARGS[name] ?? [] });
        processes.push(service);
        const file = join(work, `created-${name}`);
        // Cold rounds each take codes nobody requested: a side needs enough links for its half of them.
        await runWrk({ url: service.url, script: 'create', connections: 20, durationS: SCENARIO === 'cold' ? 40 : 10, env: { BODY_TEMPLATE: '{"url":"https://example.com/ab/{n}"}', RECORD_FILE: file } });
        sides.push({ name, service, codes: readFileSync(`${file}.0`, 'utf8').trim().split('\n').map((line) => line.split('\t')[0] ?? '') });
      }
    } else {
      const kgs = await startKgs({ REDIS_URL, REDIS_KEY_PREFIX: prefixes[0] ?? '', KGS_POOL_TARGET: String(LINKS + 200_000), KGS_REUSE_COOLDOWN_S: '0' });
      processes.push(kgs);
      let links: [string, string][] = [];
      for (const [name, dir] of [['A', dirA], ['B', dirB]] as const) {
        const db = new pg.Client({ connectionString: databases[name].url });
        await db.connect();
        await migrate(db, createLogger({ service: 'bench', level: 'warn' }), join(dir, 'migrations'));
        if (name === 'A') links = await loadLinks(db, kgs, LINKS);
        else {
          for (let i = 0; i < links.length; i += 10_000) {
            const slice = links.slice(i, i + 10_000);
            await db.query('INSERT INTO urls (short_code, original_url) SELECT * FROM unnest($1::text[], $2::text[])', [slice.map(([c]) => c), slice.map(([, u]) => u)]);
          }
        }
        await db.query('VACUUM ANALYZE');
        await db.end();
      }
      const codes = links.map(([code]) => code);
      for (const [name, dir, prefix] of [['A', dirA, prefixes[1]], ['B', dirB, prefixes[2]]] as const) {
        const env = { DATABASE_URL: databases[name].url, REDIS_URL, REDIS_KEY_PREFIX: prefix ?? '', KGS_URL: kgs.url, ...SIDE_ENV[name] };
        const service = await startUrlService(env, { entry: join(dir, 'src/url/main.ts'), nodeArgs: SIDE_NODE_ARGS[name] ?? [] });
        processes.push(service);
        sides.push({ name, service, codes });
      }
    }
    const floor = await startService(join(ROOT, 'bench/baseline-server.ts'), { BASELINE_MODE: 'redirect' });
    processes.push(floor);
    const floorRounds: Round[] = [];
    // Creations: also the framework's floor, a bare Fastify route with Curt's schemas and nothing else.
    const framework = SCENARIO === 'create' ? await startService(join(ROOT, 'bench/baseline-server.ts'), { BASELINE_MODE: 'fastify-create' }) : null;
    if (framework !== null) processes.push(framework);
    const frameworkRounds: Round[] = [];
    const files = new Map<string, string>();
    for (const side of sides) {
      if (SCENARIO === 'warm') {
        writeLines(join(work, `all-${side.name}.txt`), side.codes);
        files.set(side.name, writeLines(join(work, `zipf-${side.name}.txt`), Array.from(zipfSequence(side.codes.length, 1_000_000), (rank) => side.codes[rank] ?? '')));
      }
    }
    /**
     * Warm: every code once, unmeasured, right before each measured round of that side. In-process
     * entries live CACHE_NEAR_TTL_S; warmed once at the start, the side warmed first would meet its
     * expiries in other rounds than the other side (a bias of up to 20 % seen between two identical
     * checkouts).
     */
    const warmUp = async (side: (typeof sides)[number]): Promise<void> => {
      if (SCENARIO !== 'warm') return;
      await runWrk({ url: side.service.url, script: 'redirect', connections: CONNECTIONS, durationS: 600, env: { PATHS_FILE: join(work, `all-${side.name}.txt`), ONCE: '1' } });
    };
    // Cold: every round of every side requests codes nobody requested before.
    const share = Math.floor(Math.min(LINKS, ...sides.map((s) => s.codes.length)) / (2 * ROUNDS));
    let slice = 0;
    const wrkFor = (side: (typeof sides)[number], round: number): WrkOptions => {
      const base = { url: side.service.url, connections: CONNECTIONS, durationS: DURATION_S };
      if (SCENARIO === 'create') {
        const auth = MODE === 'serve' ? SERVE_ADMIN_KEY : E2E_ADMIN_KEY;
        return { ...base, script: 'create', env: { BODY_TEMPLATE: `{"url":"https://example.com/ab/${side.name}${round}-{n}"}`, AUTHORIZATION: `Bearer ${auth}`, ...PACING } };
      }
      if (SCENARIO === 'cold') {
        const codes = side.codes.slice(slice * share, (slice + 1) * share);
        slice += 1;
        return { ...base, script: 'redirect', env: { PATHS_FILE: writeLines(join(work, `cold-${slice}.txt`), codes), ONCE: '1', ...PACING } };
      }
      return { ...base, script: 'redirect', env: { PATHS_FILE: files.get(side.name) ?? '', ...PACING } };
    };
    const results = new Map<string, Round[]>(sides.map((s) => [s.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        await warmUp(side);
        // A round starts when both sides' counted clicks are written (else the flush of the warm-up's
        // 100,000 links, or of the other side's last round, falls into it) and ends when its own are
        // (measureRound's settle): each request pays for writing its click.
        await clicksWritten(sides.map((s) => s.service));
        const result = await measureRound(wrkFor(side, round), serverOf(side.service, MODE === 'serve' ? undefined : deps, () => clicksWritten([side.service])));
        results.get(side.name)?.push(result);
        console.error(`  round ${round + 1} ${side.name}: ${result.cpuUs.toFixed(1)} µs CPU/req, Redis+PostgreSQL ${result.depsCpuUs?.toFixed(1) ?? '-'} µs/req, ${Math.round(result.rps)} req/s, errors ${result.errors}, wrong ${result.wrong}${result.wrong > 0 ? ` (answers by status: ${JSON.stringify(result.statuses)})` : ''}`);
      }
      floorRounds.push(await measureRound({ url: floor.url, script: 'redirect', connections: CONNECTIONS, durationS: DURATION_S, env: { FIXED_PATH: 'x', ...PACING } }, serverOf(floor)));
      if (framework !== null) {
        const body = `{"url":"https://example.com/ab/F${round}-{n}"}`;
        frameworkRounds.push(await measureRound({ url: framework.url, script: 'create', connections: CONNECTIONS, durationS: DURATION_S, env: { BODY_TEMPLATE: body, ...PACING } }, serverOf(framework)));
      }
    }
    const a = results.get('A') ?? [];
    const b = results.get('B') ?? [];
    const settings = (name: string): string => {
      const given = [process.env[`AB_ENV_${name}`]?.trim(), (SIDE_NODE_ARGS[name] ?? []).join(' ')].filter((what) => what !== undefined && what !== '');
      return given.length === 0 ? '' : ` (${given.join('; ')})`;
    };
    console.log(`\nA/B ${SCENARIO} (${MODE}), ${ROUNDS} rounds × ${DURATION_S} s${RATE > 0 ? ` paced at ${RATE} req/s` : ''}, alternating; A = ${dirA}${settings('A')}, B = ${dirB}${settings('B')}\n`);
    // Redis + PostgreSQL: the CPU both servers spent in the round (every process of them, the other side's connections included) per request answered.
    const depsOf = (r: Round | undefined): string => (r?.depsCpuUs === null || r?.depsCpuUs === undefined ? '-' : r.depsCpuUs.toFixed(1));
    const depsMedian = (rounds: Round[]): string => (rounds.some((r) => r.depsCpuUs === null) ? '-' : median(rounds.map((r) => r.depsCpuUs ?? 0)).toFixed(1));
    console.log('| round | A CPU µs/req | B CPU µs/req | node:http µs/req | A Redis+PG µs/req | B Redis+PG µs/req | A req/s | B req/s | A p99 ms | B p99 ms |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (let i = 0; i < ROUNDS; i++) {
      console.log(
        `| ${i + 1} | ${a[i]?.cpuUs.toFixed(1)} | ${b[i]?.cpuUs.toFixed(1)} | ${floorRounds[i]?.cpuUs.toFixed(1)} | ${depsOf(a[i])} | ${depsOf(b[i])} | ${Math.round(a[i]?.rps ?? 0)} | ${Math.round(b[i]?.rps ?? 0)} | ${a[i]?.p99Ms.toFixed(1)} | ${b[i]?.p99Ms.toFixed(1)} |`,
      );
    }
    const ma = median(a.map((r) => r.cpuUs));
    const mb = median(b.map((r) => r.cpuUs));
    const mf = median(floorRounds.map((r) => r.cpuUs));
    console.log(
      `| **median** | **${ma.toFixed(1)}** | **${mb.toFixed(1)}** | **${mf.toFixed(1)}** | ${depsMedian(a)} | ${depsMedian(b)} | ${Math.round(median(a.map((r) => r.rps)))} | ${Math.round(median(b.map((r) => r.rps)))} | ${median(a.map((r) => r.p99Ms)).toFixed(1)} | ${median(b.map((r) => r.p99Ms)).toFixed(1)} |`,
    );
    console.log(`\nB / A, CPU per request: ${(mb / ma).toFixed(3)} (${Math.abs((1 - mb / ma) * 100).toFixed(1)} % ${mb <= ma ? 'less' : 'more'}); A ${(ma / mf).toFixed(2)}× and B ${(mb / mf).toFixed(2)}× bare node:http`);
    // A round's A and B run one after the other: their own ratio leaves out what the machine's speed
    // did between rounds. When it and the ratio of the medians disagree, the rounds swung more than
    // the difference (docs/performance.md, "How to measure").
    const paired = a.map((r, i) => (b[i]?.cpuUs ?? NaN) / r.cpuUs).filter((x) => Number.isFinite(x));
    const lower = paired.filter((x) => x < 1).length;
    console.log(`the rounds' own B / A: median ${median(paired).toFixed(3)} (${Math.min(...paired).toFixed(3)}–${Math.max(...paired).toFixed(3)}); B lower in ${lower} of ${paired.length}`);
    if (frameworkRounds.length > 0) {
      const mw = median(frameworkRounds.map((r) => r.cpuUs));
      console.log(`bare Fastify creation (Curt's schemas, no storage), per round: ${frameworkRounds.map((r) => r.cpuUs.toFixed(1)).join(', ')} µs; median ${mw.toFixed(1)}: A ${(ma / mw).toFixed(2)}× and B ${(mb / mw).toFixed(2)}× it`);
    }
    if (RATE > 0) {
      // Below the rate, a side did less in the same time: its CPU per request is not the other's.
      const short = [...a.map((r, i) => ['A', i, r] as const), ...b.map((r, i) => ['B', i, r] as const)].filter(([, , r]) => r.rps < 0.97 * RATE);
      console.log(short.length === 0 ? `every round reached ${RATE} req/s (within 3 %)` : `BELOW ${RATE} req/s: ${short.map(([side, i, r]) => `${side} round ${i + 1} ${Math.round(r.rps)}`).join(', ')}`);
    }
    const failures = [...a, ...b].reduce((sum, r) => sum + r.errors + r.wrong, 0);
    console.log(`errors or wrong answers: ${failures}`);
    // A side that drops clicks, or sheds their detail, writes less: its CPU per request is not the other's.
    for (const side of sides) {
      const c = await clickCounters(side.service);
      console.log(`${side.name}: redirected ${c.redirected}, clicks written ${c.flushed}, dropped ${c.dropped}, detail shed ${c.shed}`);
    }
    if (failures > 0) {
      process.exitCode = 1;
      // What the services logged (warn and up) says why, e.g. a dependency that timed out.
      for (const side of sides) console.log(`\n${side.name} logged, last lines:\n${side.service.output().trim().split('\n').slice(-20).join('\n')}`);
    }
  } finally {
    await tearDown({ processes, redis, prefixes, database: databases.A, work });
    await databases.B.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
