// The container image's behaviour test, without a Docker engine: the Dockerfile is read, its build
// stage is replayed (the files it copies, `npm run build`), and its runtime stage is assembled in a
// temporary /app from exactly the files it copies, with its own `npm ci --omit=dev --ignore-scripts`.
// Then every role the Dockerfile names runs there as its ENTRYPOINT + role, with the stage's ENV:
// `migrate` on a fresh database, two `kgs` and a `url-service` on the real PostgreSQL and Redis
// (a link made and followed, SIGTERM, exit 0, the click in PostgreSQL), and `serve` on a temporary
// DATA_DIR (a link made and followed with the copy's `curt` client verbs, SIGTERM, exit 0). No TypeScript tooling is installed in that copy, and no source is there to compile.
//
// The one stand-in: the build stage's `npm ci` (the dev dependencies) is the repository's
// node_modules, linked; the runtime stage's install is the real one (`--prefer-offline` uses npm's
// cache; the npm registry is reachable from the test machines).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parseCommand } from '../../src/cli/args.ts';
import { copies, execForm, instructions, pairs, parseCopy, readDockerfile, stage } from '../support/dockerfile.ts';
import { untilValue } from '../support/fault-probes.ts';
import { freePort, ROOT, stopChild } from '../support/processes.ts';

import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';
import { PERSON } from '../support/user-agents.ts';

const run = promisify(execFile);
const dockerfile = readDockerfile();
const buildStage = stage(dockerfile, 'build');
const runtimeStage = stage(dockerfile, 'runtime');
const WORKDIR = instructions(runtimeStage, 'WORKDIR').at(-1) ?? '/';
const ENTRYPOINT = execForm(runtimeStage, 'ENTRYPOINT');
const DEFAULT_ROLE = execForm(runtimeStage, 'CMD');
const ROLES = (/^\s*roles: (.+)$/m.exec(dockerfile.comments.join('\n'))?.[1] ?? '').split(/\s+/);
const TOKEN = 'production-build-token';
const ADMIN_KEY = 'curt_production-build-admin-0123456789';

/** What the test ran, role by role, to compare with what the Dockerfile names. */
const ran = new Set<string>();

interface RoleProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** SIGTERM (or `signal`), then the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Only what a process needs from the parent, plus the runtime stage's ENV: nothing of this checkout. */
function imageEnv(env: Record<string, string>): Record<string, string> {
  const keep = Object.fromEntries(['PATH', 'HOME', 'TMPDIR', 'LANG'].flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]]])));
  return { ...keep, ...pairs(runtimeStage, 'ENV'), LOG_LEVEL: 'warn', ...env };
}

/** ENTRYPOINT + role as the container runs it: `node` is this Node, /app the assembled copy. */
function commandFor(app: string, verb: string): [string, string[]] {
  const [program, ...args] = [...ENTRYPOINT, verb].map((part) => part.replace(new RegExp(`^${WORKDIR}/`), `${app}/`));
  assert.equal(program, 'node');
  return [process.execPath, args];
}

async function startRole(app: string, role: string, env: Record<string, string>, readyPath: string): Promise<RoleProcess> {
  ran.add(role);
  const port = await freePort();
  const [file, args] = commandFor(app, role);
  // METRICS_PORT 0: any free port, where a version of the code has a metrics listener (two KGS here).
  const child = spawn(file, args, { cwd: app, env: imageEnv({ METRICS_PORT: '0', ...env, PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  // PGlite's first start (migrations, the key pool filled) is slow on a loaded machine.
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${role} exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${url}${readyPath}`).then((res) => res.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${role} did not answer ${readyPath}:\n${output}`);
    }
    await sleep(100);
  }
  return {
    child,
    url,
    output: () => output,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => stopChild(child, signal),
  };
}

/** A command that runs to completion (migrate, the client verbs) as `curt <argv>`: its exit code and output. */
async function runCurt(app: string, argv: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const [verb = '', ...rest] = argv;
  const [file, args] = commandFor(app, verb);
  try {
    const { stdout, stderr } = await run(file, [...args, ...rest], { cwd: app, env: imageEnv(env) });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}


/** Copies a COPY instruction's sources from `from` into `app`, where the destination is relative to WORKDIR. */
async function copyInto(app: string, from: string, sources: string[], destination: string): Promise<string[]> {
  const relative = (path: string): string => path.replace(new RegExp(`^${WORKDIR}/?`), '').replace(/^\.\//, '');
  const copied: string[] = [];
  for (const source of sources) {
    const target = destination.endsWith('/') ? join(app, relative(destination), relative(source).split('/').at(-1) ?? '') : join(app, relative(destination));
    await cp(join(from, relative(source)), target, { recursive: true });
    copied.push(relative(target.slice(app.length + 1)));
  }
  return copied;
}

describe('the production build, assembled as the Dockerfile does, runs every role', () => {
  let work: string;
  let app: string;
  const copied: string[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'curt-production-build-'));
    // Build stage: its COPYs from this checkout, the dev dependencies linked, then its build.
    const build = join(work, 'build');
    const built = (async () => {
      await mkdir(build);
      for (const copy of copies(buildStage)) {
        assert.equal(copy.from, null, 'the build stage copies from the build context only');
        await copyInto(build, ROOT, copy.sources, copy.destination);
      }
      await symlink(join(ROOT, 'node_modules'), join(build, 'node_modules'));
      const builds = instructions(buildStage, 'RUN').filter((r) => !r.startsWith('npm ci'));
      assert.deepEqual(builds, ['npm run build']);
      await run('npm', ['run', 'build', '--silent'], { cwd: build });
    })();
    // Awaited below; this only keeps a failure from being reported as unhandled meanwhile.
    built.catch(() => undefined);

    // Runtime stage, instruction by instruction: its COPYs (from the build context, or from the build
    // stage once it is done) and its install, which runs while the build stage builds, as BuildKit
    // runs independent stages at once.
    app = join(work, 'app');
    await mkdir(app);
    let installed: Promise<unknown> | null = null;
    for (const { keyword, args } of runtimeStage.instructions) {
      if (keyword === 'COPY') {
        const copy = parseCopy(args);
        assert.ok(copy.from === null || copy.from === 'build', `COPY --from=${copy.from}`);
        if (copy.from === 'build') await built;
        copied.push(...(await copyInto(app, copy.from === null ? ROOT : build, copy.sources, copy.destination)));
      } else if (keyword === 'RUN' && args.includes('npm ci')) {
        assert.equal(installed, null, 'one install in the runtime stage');
        const install = args.split('&&').map((part) => part.trim()).find((part) => part.startsWith('npm ci')) ?? '';
        // Its `npm cache clean` is left out: here the cache is this machine's.
        installed = run('npm', [...install.split(/\s+/).slice(1), '--prefer-offline'], { cwd: app });
        installed.catch(() => undefined);
      }
    }
    assert.ok(installed, 'the runtime stage installs with npm ci');
    await Promise.all([built, installed]);
  });

  after(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  test('the copy holds the compiled code, the migrations and production dependencies only: no sources, no tsx, no TypeScript', async () => {
    assert.deepEqual(copied.sort(), ['bin', 'dist', 'migrations', 'package-lock.json', 'package.json']);
    const entries = await readdir(app);
    assert.ok(!entries.includes('src') && !entries.includes('tsconfig.json'), entries.join(' '));
    for (const devOnly of ['tsx', 'typescript', 'esbuild', 'eslint', '@types/node']) {
      assert.ok(!existsSync(join(app, 'node_modules', devOnly)), `${devOnly} is installed in the production copy`);
    }
    for (const runtime of ['fastify', 'pg', 'ioredis', '@electric-sql/pglite']) assert.ok(existsSync(join(app, 'node_modules', runtime)), `${runtime} is missing`);
    assert.ok(existsSync(join(app, 'dist/storage/redis/lua/take.lua')), 'the Lua scripts sit beside the compiled Redis adapters');
    // package.json is read from the compiled CLI as from the sources.
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const version = await runCurt(app, ['--version'], {});
    assert.deepEqual([version.code, version.stdout], [0, `${pkg.version}\n`]);
  });

  describe('migrate, two kgs and a url-service on PostgreSQL and Redis', () => {
    let database: TestDatabase;
    let redis: TestRedis;

    before(async () => {
      database = await createTestDatabase('production_build', { migrated: false });
      redis = await openTestRedis('production-build');
    });

    after(async () => {
      await database?.drop();
      await redis?.cleanup();
    });

    test('migrate applies every migration from the copy; a link made through the url-service redirects; SIGTERM exits 0 with the click written', async () => {
      ran.add('migrate');
      const migrated = await runCurt(app, ['migrate'], { DATABASE_URL: database.url });
      assert.equal(migrated.code, 0, migrated.stderr + migrated.stdout);
      const migrations = (await readdir(join(ROOT, 'migrations'))).filter((name) => name.endsWith('.sql'));
      const { rows: applied } = await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      assert.equal(applied[0]?.n, migrations.length);

      const redisEnv = { REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_TOKEN: TOKEN };
      const kgsEnv = { ...redisEnv, KGS_POOL_TARGET: '2000', KGS_POOL_LOW_WATERMARK: '500' };
      const kgs = [await startRole(app, 'kgs', kgsEnv, '/ready'), await startRole(app, 'kgs', kgsEnv, '/ready')];
      const service = await startRole(
        app,
        'url-service',
        {
          ...redisEnv,
          DATABASE_URL: database.url,
          KGS_URL: kgs.map((k) => k.url).join(','),
          ADMIN_API_KEY: ADMIN_KEY,
          ALLOW_ANONYMOUS: 'true',
          PUBLIC_BASE_URL: 'http://sho.rt',
          CLICK_FLUSH_INTERVAL_MS: '60000',
        },
        '/ready',
      );
      try {
        const ready = (await (await fetch(`${service.url}/ready`)).json()) as { status: string; checks: Record<string, string> };
        assert.deepEqual(ready, { status: 'ready', checks: { postgres: 'up', redis: 'up', kgs: 'up' } });

        const created = await fetch(`${service.url}/urls`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
          body: JSON.stringify({ url: 'https://example.com/production-build' }),
        });
        assert.equal(created.status, 201, await created.clone().text());
        const { short_code: code } = (await created.json()) as { short_code: string };
        assert.match(code, /^[A-Za-z]{6}$/, 'a code handed out by the KGS key pool (Lua scripts from dist/)');
        // The cache entry is written by a Lua script read from dist/ too.
        assert.equal(await redis.redis.exists(`${redis.prefix}url:${code}`), 1);
        const redirect = await fetch(`${service.url}/${code}`, { redirect: 'manual', headers: PERSON });
        assert.equal(redirect.status, 302);
        assert.equal(redirect.headers.get('location'), 'https://example.com/production-build');

        // The click is only in memory (flush every 60 s): SIGTERM must write it.
        assert.equal(await service.stop(), 0, service.output());
        const { rows } = await database.db.query<{ clicks: number }>('SELECT t.clicks FROM urls JOIN url_totals t ON t.url_id = urls.id WHERE urls.short_code = $1', [code]);
        assert.equal(rows[0]?.clicks, 1);
        for (const replica of kgs) assert.equal(await replica.stop(), 0, replica.output());
        assert.doesNotMatch([service, ...kgs].map((p) => p.output()).join('\n'), /"level":"(error|fatal)"/);
      } finally {
        await Promise.all([service, ...kgs].map((p) => p.stop('SIGKILL')));
      }
    });
  });

  test('serve keeps its database in DATA_DIR, answers the client verbs run from the copy, and exits 0 on SIGTERM', async () => {
    const dataDir = join(work, 'data');
    await mkdir(dataDir);
    // A small key pool: its first fill is most of the start-up on a busy machine. Restarts that keep
    // every link and click are test/e2e/one-machine.test.ts's; here it is this copy that runs.
    const env = { DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN_KEY, CLICK_FLUSH_INTERVAL_MS: '100', KGS_POOL_TARGET: '200', KGS_POOL_LOW_WATERMARK: '50' };
    const serve = await startRole(app, 'serve', env, '/ready');
    try {
      const client = { CURT_SERVER: serve.url, CURT_API_KEY: ADMIN_KEY };
      const shortened = await runCurt(app, ['shorten', 'https://example.com/serve', '--json'], client);
      assert.equal(shortened.code, 0, shortened.stderr);
      const { short_code: code } = JSON.parse(shortened.stdout) as { short_code: string };
      const redirect = await fetch(`${serve.url}/${code}`, { redirect: 'manual', headers: PERSON });
      assert.equal(redirect.headers.get('location'), 'https://example.com/serve');
      const stats = await untilValue('the click in the stats', async () => {
        const result = await runCurt(app, ['stats', code, '--json'], client);
        assert.equal(result.code, 0, result.stderr);
        const parsed = JSON.parse(result.stdout) as { clicks: number; original_url: string };
        return parsed.clicks === 1 ? parsed : undefined;
      }, 20_000);
      assert.equal(stats.original_url, 'https://example.com/serve');
      // The web app is in the image (dist/web, built in the build stage) and served from it.
      const page = await fetch(`${serve.url}/`);
      assert.equal(page.status, 200);
      assert.match(String(page.headers.get('content-security-policy')), /script-src 'self'/);
      const script = /src="(\/assets\/index-[\w-]+\.js)"/.exec(await page.text())?.[1];
      assert.ok(script, 'the page loads its hashed script');
      assert.equal((await fetch(`${serve.url}${script}`)).status, 200);
      assert.ok(!existsSync(join(app, 'src')), 'built in the build stage: no source of it in the image');
      assert.equal(await serve.stop(), 0, serve.output());
      assert.ok(existsSync(join(dataDir, 'postgres')), 'the embedded database is in DATA_DIR');
      assert.ok(!existsSync(join(app, 'data')), 'nothing in the working directory');
    } finally {
      await serve.stop('SIGKILL');
    }
  });

  test('the roles the Dockerfile names are the ones the CLI runs and this test ran, its CMD among them', () => {
    assert.deepEqual([...ROLES].sort(), ['kgs', 'migrate', 'serve', 'url-service']);
    for (const role of ROLES) assert.equal(parseCommand([role]).verb, role, `curt ${role} is not a command`);
    assert.deepEqual([...ran].sort(), [...ROLES].sort());
    assert.equal(DEFAULT_ROLE.length, 1);
    assert.ok(ROLES.includes(DEFAULT_ROLE[0] ?? ''), `CMD ${DEFAULT_ROLE.join(' ')} is not a role`);
  });
});
