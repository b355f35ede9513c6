// The rendered chart drives the real processes: the KGS and URL service containers' args and
// environment (ConfigMaps, Secrets and $(VAR) references resolved as the kubelet does) start
// `node bin/curt.mjs <args>` here, as the image's entry point would; the two Redis StatefulSets' own
// redis-server args start private Redis servers; PostgreSQL is the shared server with a fresh
// database. What is changed, and only that: Service DNS names map to 127.0.0.1 ports, each process
// listens on a port of its own (HOST 127.0.0.1, PORT free, METRICS_PORT 0 = any free port), the
// database URL names the local user and the fresh database, and redis-server writes to a temp folder.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { helmTemplate } from '../../scripts/k8s-tools.ts';
import { loadMigrations } from '../../src/core/migrate.ts';
import { find, parseManifests, resolveEnv, type Container, type K8sObject, type Workload } from '../support/k8s-manifests.ts';
import { createTestDatabase, PG_ADMIN_URL, type TestDatabase } from '../support/postgres.ts';
import { freePort, ROOT } from '../support/processes.ts';
import { until } from '../support/fault-probes.ts';
import { PERSON } from '../support/user-agents.ts';

interface Running {
  name: string;
  child: ChildProcess;
  output(): string;
}

const running: Running[] = [];

function launch(name: string, command: string, args: string[], env: Record<string, string>): Running {
  const child = spawn(command, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const proc = { name, child, output: () => output };
  running.push(proc);
  return proc;
}

/** `node bin/curt.mjs <args>`: the container's ENTRYPOINT with its args. */
function launchCurt(name: string, container: Container, env: Record<string, string>): Running {
  assert.equal(container.command, undefined, `${name}: no command, the image's entry point runs`);
  return launch(name, process.execPath, [join(ROOT, 'bin/curt.mjs'), ...(container.args ?? [])], env);
}

async function exitCode(proc: Running): Promise<number | null> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.child.exitCode;
  const [code] = (await once(proc.child, 'exit')) as [number | null];
  return code;
}

async function stop(proc: Running): Promise<number | null> {
  const exited = exitCode(proc);
  proc.child.kill('SIGTERM');
  return exited;
}

/** Waits until an HTTP probe answers 2xx, failing at once if the process dies. */
async function waitForProbe(proc: Running, url: string): Promise<void> {
  await until(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.child.exitCode}:\n${proc.output()}`);
      return fetch(url).then(
        (res) => res.ok,
        () => false,
      );
    },
    60_000,
    () => `${proc.name} never answered ${url}:\n${proc.output()}`,
  );
}

/** Service DNS name (and port) of the cluster -> a local 127.0.0.1 port. */
type ServiceMap = Map<string, number>;

function mapUrl(raw: string, services: ServiceMap, rewrite: (url: URL) => void = () => undefined): string {
  const url = new URL(raw);
  const local = services.get(`${url.hostname}:${url.port}`);
  if (local === undefined) throw new Error(`no local port for ${url.hostname}:${url.port}`);
  url.hostname = '127.0.0.1';
  url.port = String(local);
  rewrite(url);
  return url.toString().replace(/\/$/, '');
}

function containerOf(objects: readonly K8sObject[], kind: string, name: string): { pod: Workload; container: Container } {
  const pod = find<Workload>(objects, kind, name);
  const container = pod.spec.template.spec.containers[0];
  assert.ok(container);
  return { pod, container };
}

function namedPort(container: Container, name: string): number {
  const port = container.ports?.find((p) => p.name === name)?.containerPort;
  assert.ok(port !== undefined, `${container.name} declares port ${name}`);
  return port;
}

describe('the rendered manifests drive the real KGS and URL service processes', () => {
  let objects: K8sObject[];
  let database: TestDatabase;
  let dataDir: string;
  const services: ServiceMap = new Map();

  before(async () => {
    objects = parseManifests(await helmTemplate());
    database = await createTestDatabase('k8s_manifests', { migrated: false });
    dataDir = mkdtempSync(join(tmpdir(), 'curt-k8s-redis-'));
    services.set('curt-postgresql:5432', Number(new URL(PG_ADMIN_URL).port || 5432));

    // Each Redis from its StatefulSet's own command and args (Kubernetes expands $(VAR) in both):
    // its password, persistence and eviction policy.
    for (const store of ['redis-keypool', 'redis-cache']) {
      const { container } = containerOf(objects, 'StatefulSet', `curt-${store}`);
      const env = resolveEnv(objects, container);
      const port = await freePort();
      const expand = (arg: string): string => arg.replace(/\$\((\w+)\)/g, (_m, name: string) => env[name] ?? '');
      const args = (container.args ?? []).map(expand);
      const dirAt = args.indexOf('--dir');
      assert.ok(dirAt >= 0, `${store} sets its data folder`);
      args[dirAt + 1] = mkdtempSync(join(dataDir, `${store}-`));
      const [command, ...commandArgs] = (container.command ?? []).map(expand);
      assert.equal(command, 'sh', `${store} starts redis-server through its password check`);
      const argv = [...commandArgs, ...args, '--port', String(port), '--bind', '127.0.0.1'];
      // An empty password (a Secret from an unedited secrets.env) stops the container with the reason,
      // where redis-server would have taken `--requirepass ""` for no password at all.
      const unguarded = launch(`${store} without a password`, command, argv, { REDIS_PASSWORD: '' });
      assert.equal(await exitCode(unguarded), 1, `${store} refuses an empty password`);
      assert.match(unguarded.output(), new RegExp(`${store}-password is empty in the Secret`));
      const proc = launch(store, command, argv, { REDIS_PASSWORD: env.REDIS_PASSWORD ?? '' });
      const probe = new Redis({ port, host: '127.0.0.1', password: env.REDIS_PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      await until(
        async () => {
          if (proc.child.exitCode !== null) throw new Error(`${store} exited:\n${proc.output()}`);
          try {
            if (probe.status !== 'ready') await probe.connect();
            return (await probe.ping()) === 'PONG';
          } catch {
            probe.disconnect();
            return false;
          }
        },
        20_000,
        () => `${store} did not start:\n${proc.output()}`,
      );
      probe.disconnect();
      services.set(`curt-${store}:6379`, port);
    }
  });

  after(async () => {
    for (const proc of running) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        proc.child.kill('SIGKILL');
        await exitCode(proc);
      }
    }
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The container's environment as the pod gets it, then pointed at the local stand-ins. */
  function localEnv(container: Container, listenPort: number | null): Record<string, string> {
    const env = resolveEnv(objects, container);
    for (const [name, value] of Object.entries(env)) {
      if (/^(DATABASE|REDIS)_URL$/.test(name)) {
        env[name] = mapUrl(value, services, (url) => {
          if (url.protocol.startsWith('postgres')) {
            // The shared server knows only its own user (trust auth), and this test has its own database.
            url.username = new URL(database.url).username;
            url.password = '';
            url.pathname = `/${database.name}`;
          }
        });
      }
    }
    if (env.KGS_URL !== undefined) env.KGS_URL = env.KGS_URL.split(',').map((u) => mapUrl(u, services)).join(',');
    if (listenPort !== null) {
      env.HOST = '127.0.0.1';
      env.PORT = String(listenPort);
    }
    if (env.METRICS_PORT !== undefined) env.METRICS_PORT = '0';
    return env;
  }

  test('migrate, start the KGS and URL service, create and resolve a link through the Service port, stop them as a rollout does', async () => {
    const kgs = containerOf(objects, 'Deployment', 'curt-kgs');
    const url = containerOf(objects, 'Deployment', 'curt-url-service');
    const migrate = url.pod.spec.template.spec.initContainers?.[0];
    assert.ok(migrate);

    // The KGS will be reachable at its Service's name and port.
    const kgsService = find(objects, 'Service', 'curt-kgs');
    const kgsServicePort = (kgsService.spec as { ports: { name: string; port: number }[] }).ports.find((p) => p.name === 'http')?.port;
    const kgsPort = await freePort();
    services.set(`curt-kgs:${kgsServicePort}`, kgsPort);

    // The migration as the chart runs it: the init container of every URL service pod, two pods at once.
    const migrations = [launchCurt('migrate-a', migrate, localEnv(migrate, null)), launchCurt('migrate-b', migrate, localEnv(migrate, null))];
    const migrateCodes = await Promise.all(migrations.map(exitCode));
    assert.deepEqual(migrateCodes, [0, 0], migrations.map((m) => m.output()).join('\n'));
    const applied = await database.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      applied.rows.map((r) => r.version),
      (await loadMigrations()).map((m) => m.version),
      'every migration applied',
    );
    console.log(`migrate: two init containers at once, both exit 0; schema at ${applied.rows.length} migrations`);

    // The KGS.
    const kgsProc = launchCurt('kgs', kgs.container, localEnv(kgs.container, kgsPort));
    const kgsProbe = kgs.container.readinessProbe?.httpGet;
    assert.ok(kgsProbe && namedPort(kgs.container, String(kgsProbe.port)) === Number(resolveEnv(objects, kgs.container).PORT));
    await waitForProbe(kgsProc, `http://127.0.0.1:${kgsPort}${kgsProbe.path}`);
    await waitForProbe(kgsProc, `http://127.0.0.1:${kgsPort}${kgs.container.livenessProbe?.httpGet?.path ?? '?'}`);
    console.log(`kgs: ${kgs.container.args?.join(' ')} ready on ${kgsProbe.path} (declared port ${kgsProbe.port})`);

    // The URL service; its Service's port leads to the container's `http` port, here a local one.
    const urlPort = await freePort();
    const urlEnv = localEnv(url.container, urlPort);
    const urlProc = launchCurt('url-service', url.container, urlEnv);
    const urlProbe = url.container.readinessProbe?.httpGet;
    assert.ok(urlProbe && namedPort(url.container, String(urlProbe.port)) === Number(resolveEnv(objects, url.container).PORT));
    await waitForProbe(urlProc, `http://127.0.0.1:${urlPort}${urlProbe.path}`);
    await waitForProbe(urlProc, `http://127.0.0.1:${urlPort}${url.container.livenessProbe?.httpGet?.path ?? '?'}`);
    const readiness = (await (await fetch(`http://127.0.0.1:${urlPort}${urlProbe.path}`)).json()) as { status: string; checks: Record<string, string> };
    assert.deepEqual(readiness, { status: 'ready', checks: { postgres: 'up', redis: 'up', kgs: 'up' } });
    console.log(`url-service: ${url.container.args?.join(' ')} ready on ${urlProbe.path}: ${JSON.stringify(readiness.checks)}`);

    const urlService = find(objects, 'Service', 'curt-url-service');
    const servicePort = (urlService.spec as { ports: { name: string; port: number; targetPort: string }[] }).ports.find((p) => p.name === 'http');
    assert.ok(servicePort);
    // The container's ports as this test placed them: the Service reaches whichever its targetPort names.
    const placed = new Map([[namedPort(url.container, 'http'), urlPort]]);
    const targetPort = namedPort(url.container, servicePort.targetPort);
    const local = placed.get(targetPort);
    assert.ok(local !== undefined, `Service port ${servicePort.name} leads to ${servicePort.targetPort}, where nothing listens`);
    const base = `http://127.0.0.1:${local}`;

    // Anonymous creation is off on a cluster; the generated admin key from the Secret works.
    const anonymous = await fetch(`${base}/urls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://example.org/anon' }) });
    assert.equal(anonymous.status, 401);
    await anonymous.arrayBuffer();
    const created = await fetch(`${base}/urls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${urlEnv.ADMIN_API_KEY}` },
      body: JSON.stringify({ url: 'https://example.org/from-the-manifests' }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const link = (await created.json()) as { short_code: string; short_url: string };
    assert.ok(link.short_url.startsWith(urlEnv.PUBLIC_BASE_URL ?? '?'), link.short_url);
    const clicks = 3;
    for (let i = 0; i < clicks; i++) {
      // A person's browser: fetch's own User-Agent is a bot's, counted apart from clicks.
      const res = await fetch(`${base}/${link.short_code}`, { redirect: 'manual', headers: PERSON });
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), 'https://example.org/from-the-manifests');
      await res.arrayBuffer();
    }
    console.log(`service curt-url-service:${servicePort.port} -> ${servicePort.targetPort} (${targetPort}): created ${link.short_url}, resolved it ${clicks} times (302)`);

    // A rollout: SIGTERM to the URL service (drains, writes counted clicks), then to the KGS.
    const urlExit = await stop(urlProc);
    const kgsExit = await stop(kgsProc);
    assert.equal(urlExit, 0, urlProc.output());
    assert.equal(kgsExit, 0, kgsProc.output());
    const stored = await database.pool.query<{ clicks: string }>('SELECT t.clicks FROM urls JOIN url_totals t ON t.url_id = urls.id WHERE urls.short_code = $1', [link.short_code]);
    assert.equal(Number(stored.rows[0]?.clicks), clicks, 'every click reached PostgreSQL before exit');
    console.log(`SIGTERM: url-service exit ${urlExit}, kgs exit ${kgsExit}; PostgreSQL has clicks = ${stored.rows[0]?.clicks} for ${link.short_code}`);
  });

  test('the key-pool Redis keeps an append-only file and never evicts; the cache Redis evicts and keeps nothing', async () => {
    const config = async (store: string): Promise<Record<string, string>> => {
      const { container } = containerOf(objects, 'StatefulSet', `curt-${store}`);
      const redis = new Redis({ port: services.get(`curt-${store}:6379`), host: '127.0.0.1', password: resolveEnv(objects, container).REDIS_PASSWORD });
      try {
        const pairs = (await redis.config('GET', '*')) as string[];
        const out: Record<string, string> = {};
        for (let i = 0; i + 1 < pairs.length; i += 2) out[pairs[i] ?? ''] = pairs[i + 1] ?? '';
        return out;
      } finally {
        redis.disconnect();
      }
    };
    const keyPool = await config('redis-keypool');
    assert.equal(keyPool.appendonly, 'yes');
    assert.equal(keyPool['maxmemory-policy'], 'noeviction');
    const cache = await config('redis-cache');
    assert.equal(cache.appendonly, 'no');
    assert.equal(cache.save, '');
    // Only keys with a TTL: the cache epoch has none, and evicted it would read as 0 again, which makes
    // the entries written under epoch 0 (retired by the first bump) valid again.
    assert.equal(cache['maxmemory-policy'], 'volatile-lru');
    assert.ok(Number(cache.maxmemory) > 0);
  });
});
