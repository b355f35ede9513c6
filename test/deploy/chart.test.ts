// The Helm chart at deploy/helm/curt, checked with the real helm and the Kubernetes schemas for each
// profile: the defaults, HA on external PostgreSQL/Redis, and a small single-replica installation.
// No cluster here: what only a cluster shows (scheduling, volumes, policies enforced) is listed in
// docs/deploy.md, "What is not tested here".
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EXAMPLES, helmTemplate, k8sTools, runTool, CHART } from '../../scripts/k8s-tools.ts';
import { loadKgsConfig, loadMigrateConfig, loadUrlServiceConfig, VARIABLES, type Env } from '../../src/core/config.ts';
import {
  allContainers,
  containerPort,
  countByKind,
  find,
  matches,
  parseManifests,
  resolveEnv,
  validateObject,
  workloads,
  type Container,
  type K8sObject,
  type Workload,
} from '../support/k8s-manifests.ts';

interface Profile {
  name: string;
  valuesFiles: string[];
  /** Objects the operator creates beside the chart (the external Secret of the HA profile). */
  operatorObjects: K8sObject[];
}

const externalSecret: K8sObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'curt-external' },
  stringData: {
    DATABASE_URL: 'postgres://curt:pw@db.internal:5432/curt',
    KEYPOOL_REDIS_URL: 'redis://:pw@keypool.internal:6379',
    CACHE_REDIS_URL: 'redis://:pw@cache.internal:6379',
  },
};

const PROFILES: Profile[] = [
  { name: 'default', valuesFiles: [], operatorObjects: [] },
  { name: 'ha-external', valuesFiles: [join(EXAMPLES, 'ha-external.yaml')], operatorObjects: [externalSecret] },
  { name: 'small', valuesFiles: [join(EXAMPLES, 'small.yaml')], operatorObjects: [] },
];

const ROLES = ['kgs', 'url-service', 'migrate'] as const;
const LOADERS: Record<(typeof ROLES)[number], (env: Env) => unknown> = {
  kgs: loadKgsConfig,
  'url-service': loadUrlServiceConfig,
  migrate: loadMigrateConfig,
};

/**
 * Variables the chart leaves to the code's own default on purpose. The HTTP timeouts' defaults are
 * chosen in src/core/config.ts for a service behind a proxy; set them through `urlService.env`.
 */
const LEFT_TO_CODE_DEFAULTS = new Set(['HTTP_REQUEST_TIMEOUT_MS', 'HTTP_HEADERS_TIMEOUT_MS', 'HTTP_KEEP_ALIVE_TIMEOUT_MS']);

function isCurt(container: Container): boolean {
  return container.args !== undefined && (ROLES as readonly string[]).includes(container.args[0] ?? '');
}

function componentOf(labels: Record<string, string> | undefined): string {
  return labels?.['app.kubernetes.io/component'] ?? '?';
}

/** The variables a role's loader reads, recorded as it reads them. */
function variablesRead(role: (typeof ROLES)[number], env: Record<string, string>): { read: Set<string>; error: unknown } {
  const read = new Set<string>();
  const spy = new Proxy(env, {
    get(target, key) {
      if (typeof key === 'string') read.add(key);
      return target[key as string];
    },
  });
  try {
    LOADERS[role](spy);
    return { read, error: null };
  } catch (error) {
    return { read, error };
  }
}

for (const profile of PROFILES) {
  describe(`helm chart, ${profile.name} profile`, () => {
    let objects: K8sObject[] = [];
    let all: K8sObject[] = [];

    before(async () => {
      objects = parseManifests(await helmTemplate({ valuesFiles: profile.valuesFiles }));
      all = [...objects, ...profile.operatorObjects];
      // Every check below walks these: none may pass on an empty rendering.
      assert.ok(workloads(objects).filter((w) => w.kind === 'Deployment').length === 2, 'the KGS and URL service Deployments are rendered');
    });

    test('helm lint passes and helm template renders objects that validate against the Kubernetes schemas', async () => {
      const lint = await runTool(k8sTools().helm, ['lint', CHART, '--strict', ...profile.valuesFiles.flatMap((f) => ['--values', f])]);
      assert.match(lint, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      for (const object of objects) {
        assert.doesNotThrow(() => validateObject(object), `${object.kind} ${object.metadata.name}`);
      }
      console.log(`rendered objects, ${profile.name} profile: ${objects.length} ${JSON.stringify(countByKind(objects))}`);
    });

    test('the KGS and the URL service run as the roles of the one image, with the migration before the URL service', () => {
      const kgs = find<Workload>(objects, 'Deployment', 'curt-kgs');
      const url = find<Workload>(objects, 'Deployment', 'curt-url-service');
      assert.deepEqual(kgs.spec.template.spec.containers.map((c) => c.args), [['kgs']]);
      assert.deepEqual(url.spec.template.spec.containers.map((c) => c.args), [['url-service']]);
      assert.deepEqual(url.spec.template.spec.initContainers?.map((c) => c.args), [['migrate']]);
      for (const c of [...allContainers(kgs.spec.template.spec), ...allContainers(url.spec.template.spec)]) {
        assert.equal(c.command, undefined, `${c.name}: the image's entry point stays`);
      }
      assert.ok((kgs.spec.replicas ?? 0) >= 1);
      const kgsSpread = kgs.spec.template.spec.topologySpreadConstraints ?? [];
      assert.ok(kgsSpread.some((t) => t.topologyKey === 'kubernetes.io/hostname' && matches(t.labelSelector?.matchLabels ?? {}, kgs.spec.template.metadata.labels)));
    });

    test('every Service selects pods, and every port it targets exists on their containers', () => {
      const services = objects.filter((o) => o.kind === 'Service');
      assert.ok(services.length >= 2);
      for (const service of services) {
        const spec = service.spec as { selector: Record<string, string>; ports: { name: string; targetPort: string | number }[] };
        const selected = workloads(objects).filter((w) => matches(spec.selector, w.spec.template.metadata.labels));
        assert.ok(selected.length > 0, `Service ${service.metadata.name} selects no pods`);
        for (const w of selected) {
          for (const port of spec.ports) {
            assert.ok(
              w.spec.template.spec.containers.some((c) => containerPort(c, port.targetPort) !== undefined),
              `Service ${service.metadata.name} port ${port.name} targets ${port.targetPort}, which ${w.metadata.name} does not declare`,
            );
          }
        }
      }
    });

    test('every ConfigMap and Secret key a container refers to exists', () => {
      for (const w of workloads(objects)) {
        for (const c of allContainers(w.spec.template.spec)) {
          assert.doesNotThrow(() => resolveEnv(all, c), `${w.metadata.name}/${c.name}`);
        }
      }
    });

    test('every variable the KGS, URL service and migration read is set or defaulted, and their loaders accept the values', () => {
      for (const w of workloads(objects)) {
        for (const c of allContainers(w.spec.template.spec).filter(isCurt)) {
          const role = c.args?.[0] as (typeof ROLES)[number];
          const env = resolveEnv(all, c);
          const { read, error } = variablesRead(role, env);
          assert.equal(error, null, `${w.metadata.name}/${c.name}: ${String(error)}`);
          const known = Object.keys(VARIABLES).filter((name) => read.has(name));
          assert.ok(known.length >= 2, `${role} reads variables through its loader`);
          const missing = known.filter((name) => !(name in env) && !LEFT_TO_CODE_DEFAULTS.has(name));
          assert.deepEqual(missing, [], `${w.metadata.name}/${c.name} leaves unset: ${missing.join(', ')}`);
          for (const value of Object.values(env)) assert.doesNotMatch(value, /\$\([A-Z_]+\)/, 'every $(VAR) resolves');
          if (role === 'url-service') assert.equal(env.ALLOW_ANONYMOUS, 'false', 'no anonymous links on a cluster');
          if (role !== 'migrate') {
            assert.equal(Number(env.PORT), containerPort(c, 'http'), 'PORT is the declared http port');
            assert.equal(Number(env.METRICS_PORT), containerPort(c, 'metrics'), 'METRICS_PORT is the declared metrics port');
          }
        }
      }
    });

    test('probes: readiness on /ready and liveness on /health at declared ports; data stores probe themselves', () => {
      for (const w of workloads(objects)) {
        for (const c of w.spec.template.spec.containers) {
          assert.ok(c.readinessProbe && c.livenessProbe, `${w.metadata.name}/${c.name} has both probes`);
          if (isCurt(c)) {
            assert.equal(c.readinessProbe.httpGet?.path, '/ready');
            assert.equal(c.livenessProbe.httpGet?.path, '/health');
            for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
              if (probe?.httpGet) assert.ok(containerPort(c, probe.httpGet.port) !== undefined, `${c.name} probe port ${probe.httpGet.port}`);
            }
          } else if (componentOf(w.metadata.labels) === 'postgresql') {
            assert.equal(c.readinessProbe.exec?.command[0], 'pg_isready');
          }
        }
      }
    });

    test('a rollout loses nothing: a preStop pause, and a grace period longer than pause plus shutdown deadline', () => {
      for (const name of ['curt-kgs', 'curt-url-service']) {
        const pod = find<Workload>(objects, 'Deployment', name).spec.template.spec;
        const container = pod.containers[0];
        assert.ok(container);
        const pause = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
        assert.ok(pause > 0, `${name} pauses before SIGTERM`);
        const deadlineS = Number(resolveEnv(all, container).SHUTDOWN_TIMEOUT_MS) / 1000;
        assert.ok((pod.terminationGracePeriodSeconds ?? 30) > pause + deadlineS, `${name}: grace ${pod.terminationGracePeriodSeconds} <= ${pause} + ${deadlineS}`);
      }
    });

    test('every container has resources and a locked-down security context', () => {
      for (const w of workloads(objects)) {
        const pod = w.spec.template.spec;
        assert.equal(pod.securityContext?.runAsNonRoot, true, w.metadata.name);
        assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', w.metadata.name);
        for (const c of allContainers(pod)) {
          const where = `${w.metadata.name}/${c.name}`;
          assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory && c.resources.limits?.memory, `${where} resources`);
          assert.equal(c.securityContext?.readOnlyRootFilesystem, true, where);
          assert.equal(c.securityContext?.allowPrivilegeEscalation, false, where);
          assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], where);
          assert.equal(c.securityContext?.seccompProfile?.type, 'RuntimeDefault', where);
        }
      }
    });

    test('PodDisruptionBudgets and the HorizontalPodAutoscaler target real Deployments', () => {
      for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
        const selector = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
        assert.ok(
          objects.some((o) => o.kind === 'Deployment' && matches(selector, (o as Workload).spec.template.metadata.labels)),
          `PDB ${pdb.metadata.name} selects no Deployment's pods`,
        );
      }
      for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
        const target = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
        assert.equal(target.kind, 'Deployment');
        const deployment = find<Workload>(objects, 'Deployment', target.name);
        assert.equal(deployment.spec.replicas, undefined, 'the HPA owns the replica count');
      }
    });

    test('NetworkPolicies: the KGS only from the URL service, each data store only from its clients', () => {
      const expected: Record<string, string[]> = { kgs: ['url-service'], postgresql: ['url-service'], 'redis-keypool': ['kgs'], 'redis-cache': ['url-service'] };
      const present = new Set(workloads(objects).map((w) => componentOf(w.spec.template.metadata.labels)));
      for (const [component, clients] of Object.entries(expected)) {
        if (!present.has(component)) continue;
        const policy = objects.find(
          (o) => o.kind === 'NetworkPolicy' && componentOf((o.spec as { podSelector: { matchLabels: Record<string, string> } }).podSelector.matchLabels) === component,
        );
        assert.ok(policy, `no NetworkPolicy for ${component}`);
        const rules = (policy.spec as { ingress: { from?: { podSelector?: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[] }).ingress;
        const workload = workloads(objects).find((w) => componentOf(w.spec.template.metadata.labels) === component);
        const mainPort = workload?.spec.template.spec.containers[0]?.ports?.[0]?.containerPort;
        const mainRule = rules.find((r) => r.ports.some((p) => p.port === mainPort));
        assert.ok(mainRule?.from, `${component}: its port is open to named clients only`);
        const from = mainRule.from.map((peer) => componentOf(peer.podSelector?.matchLabels));
        assert.deepEqual(from, clients, `${component} is reachable from ${from.join(', ')}`);
      }
    });

    test('the Ingress and the ServiceMonitor, when present, point at existing Service ports', () => {
      for (const ingress of objects.filter((o) => o.kind === 'Ingress')) {
        const rules = (ingress.spec as { rules: { http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[] }).rules;
        for (const path of rules.flatMap((r) => r.http.paths)) {
          const service = find(objects, 'Service', path.backend.service.name);
          assert.ok((service.spec as { ports: { name: string }[] }).ports.some((p) => p.name === path.backend.service.port.name));
        }
      }
      for (const monitor of objects.filter((o) => o.kind === 'ServiceMonitor')) {
        const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
        const services = objects.filter((o) => o.kind === 'Service' && matches(spec.selector.matchLabels, o.metadata.labels));
        assert.deepEqual(services.map((s) => componentOf(s.metadata.labels)).sort(), ['kgs', 'url-service']);
        for (const s of services) assert.ok((s.spec as { ports: { name: string }[] }).ports.some((p) => p.name === spec.endpoints[0]?.port));
      }
    });
  });
}

describe('helm chart secrets and guards', () => {
  const secretOf = async (set: Record<string, string>): Promise<Record<string, string>> => {
    const secret = find(parseManifests(await helmTemplate({ set })), 'Secret', 'curt');
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  };

  test('secrets not given are generated (strong enough for the code to accept); given ones are used as they are', async () => {
    const generated = await secretOf({});
    assert.deepEqual(Object.keys(generated).sort(), ['ADMIN_API_KEY', 'KGS_TOKEN', 'postgresql-password', 'redis-cache-password', 'redis-keypool-password']);
    for (const value of Object.values(generated)) assert.match(value, /^[A-Za-z0-9]{32,}$/);
    const again = await secretOf({});
    assert.notEqual(again.KGS_TOKEN, generated.KGS_TOKEN, 'a fresh install gets fresh secrets');
    const given = await secretOf({ 'secrets.kgsToken': 'given-token-abc', 'secrets.adminApiKey': 'curt_given-admin-key-0123456789' });
    assert.equal(given.KGS_TOKEN, 'given-token-abc');
    assert.equal(given.ADMIN_API_KEY, 'curt_given-admin-key-0123456789');
  });

  test('an external store without a URL, a grace period too short to drain, a drain as long as the shutdown, or trusting any proxy stops the render with the reason', async () => {
    await assert.rejects(helmTemplate({ set: { 'postgresql.enabled': 'false' } }), /postgresql.enabled=false needs postgresql.external.url/);
    await assert.rejects(helmTemplate({ set: { 'redisKeyPool.enabled': 'false' } }), /redisKeyPool.enabled=false needs/);
    await assert.rejects(helmTemplate({ set: { 'shutdown.terminationGracePeriodSeconds': '12' } }), /must exceed shutdown.preStopSeconds \+ shutdown.timeoutSeconds/);
    // The processes refuse SHUTDOWN_DRAIN_MS >= SHUTDOWN_TIMEOUT_MS at start: the render says so instead of a crash loop.
    await assert.rejects(helmTemplate({ set: { 'shutdown.drainSeconds': '10' } }), /shutdown.drainSeconds must be less than shutdown.timeoutSeconds/);
    await helmTemplate({ set: { 'shutdown.drainSeconds': '9' } });
    // TRUST_PROXY=true is refused by the URL service at start (docs/deploy.md): refused here first.
    await assert.rejects(helmTemplate({ set: { 'urlService.trustProxy': 'true' } }), /urlService.trustProxy=true would trust any sender/);
    await assert.rejects(helmTemplate({ set: { 'urlService.trustProxy': 'TRUE' } }), /urlService.trustProxy=true/);
    // The service refuses every spelling of true (src/core/config.ts), so the render does too.
    await assert.rejects(helmTemplate({ set: { 'urlService.trustProxy': 'yes' } }), /urlService.trustProxy=true/);
    await assert.rejects(helmTemplate({ set: { 'urlService.trustProxy': 'On' } }), /urlService.trustProxy=true/);
    await assert.rejects(helmTemplate({ set: { 'urlService.trustProxy': '10.0.0.0/8\\,0.0.0.0/0' } }), /as would a \/0 range/);
    await assert.rejects(helmTemplate({ set: { 'urlService.trustProxy': '::/0' } }), /as would a \/0 range/);
    await helmTemplate({ set: { 'urlService.trustProxy': '10.0.0.0/8\\,10.0.0.0/08' } });
    await helmTemplate({ set: { 'urlService.trustProxy': '1' } });
  });

  test('kgs.imageTag moves only the KGS, so an upgrade can roll it out first', async () => {
    const objects = parseManifests(await helmTemplate({ set: { 'image.repository': 'registry.example/curt', 'image.tag': '1.0.0', 'kgs.imageTag': '1.1.0' } }));
    const images = (name: string): string[] => allContainers(find<Workload>(objects, 'Deployment', name).spec.template.spec).map((c) => c.image);
    assert.deepEqual(images('curt-kgs'), ['registry.example/curt:1.1.0']);
    assert.deepEqual(images('curt-url-service'), ['registry.example/curt:1.0.0', 'registry.example/curt:1.0.0']);
  });

  test('an external PostgreSQL given as a URL is passed as DATABASE_URL from the chart\'s Secret', async () => {
    const objects = parseManifests(await helmTemplate({ set: { 'postgresql.enabled': 'false', 'postgresql.external.url': 'postgres://u:p@db.example:5432/curt' } }));
    assert.ok(!objects.some((o) => o.kind === 'StatefulSet' && o.metadata.name === 'curt-postgresql'));
    const url = find<Workload>(objects, 'Deployment', 'curt-url-service').spec.template.spec.containers[0];
    assert.ok(url);
    assert.equal(resolveEnv(objects, url).DATABASE_URL, 'postgres://u:p@db.example:5432/curt');
  });

  test('with secrets.existingSecret, URLs given as values are kept in a Secret of the chart\'s own and passed on; the rest comes from the operator\'s', async () => {
    const operatorSecret: K8sObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'mine' }, stringData: { KGS_TOKEN: 'operator-token', ADMIN_API_KEY: 'curt_operator-admin-key-0123456789' } };
    const objects = parseManifests(
      await helmTemplate({
        set: {
          'secrets.existingSecret': 'mine',
          'postgresql.enabled': 'false',
          'postgresql.external.url': 'postgres://u:p@db.example:5432/curt',
          'postgresql.readReplica.url': 'postgres://u:p@replica.example:5432/curt',
          'redisCache.enabled': 'false',
          'redisCache.external.url': 'redis://:pw@cache.example:6379',
        },
      }),
    );
    assert.ok(!objects.some((o) => o.kind === 'Secret' && o.metadata.name === 'curt'), 'the operator manages the chart\'s Secret');
    const all = [...objects, operatorSecret];
    const [migrate, served] = allContainers(find<Workload>(objects, 'Deployment', 'curt-url-service').spec.template.spec);
    assert.ok(migrate && served);
    const env = resolveEnv(all, served);
    assert.equal(env.DATABASE_URL, 'postgres://u:p@db.example:5432/curt');
    assert.equal(env.DATABASE_READ_URL, 'postgres://u:p@replica.example:5432/curt');
    assert.equal(env.REDIS_URL, 'redis://:pw@cache.example:6379');
    assert.equal(env.KGS_TOKEN, 'operator-token');
    assert.equal(resolveEnv(all, migrate).DATABASE_URL, 'postgres://u:p@db.example:5432/curt');
    // No URL given as a value: no Secret of the chart's at all, every URL from the operator's.
    const bare = parseManifests(await helmTemplate({ set: { 'secrets.existingSecret': 'mine', 'postgresql.enabled': 'false' } }));
    assert.ok(!bare.some((o) => o.kind === 'Secret'));
    const ref = find<Workload>(bare, 'Deployment', 'curt-url-service').spec.template.spec.containers.find((c) => c.name === 'url-service')?.env?.find((e) => e.name === 'DATABASE_URL');
    assert.deepEqual(ref?.valueFrom, { secretKeyRef: { name: 'mine', key: 'DATABASE_URL' } });
  });

  test('a read replica is passed to the URL service alone as DATABASE_READ_URL from a Secret; none by default', async () => {
    const urlService = (objects: K8sObject[]): Container[] => allContainers(find<Workload>(objects, 'Deployment', 'curt-url-service').spec.template.spec);
    const byDefault = parseManifests(await helmTemplate({}));
    for (const c of urlService(byDefault)) {
      const env = resolveEnv(byDefault, c);
      if (c.name === 'url-service') assert.equal(env.DATABASE_READ_URL, '', 'none: every read on the primary');
      else assert.equal(env.DATABASE_READ_URL, undefined, `${c.name} has no use for it`);
    }
    const given = parseManifests(await helmTemplate({ set: { 'postgresql.readReplica.url': 'postgres://u:p@replica.example:5432/curt' } }));
    const [migrate, served] = urlService(given);
    assert.ok(migrate && served);
    assert.equal(resolveEnv(given, served).DATABASE_READ_URL, 'postgres://u:p@replica.example:5432/curt');
    assert.equal(resolveEnv(given, migrate).DATABASE_READ_URL, undefined, 'migrations run on the primary only');
    assert.ok(!JSON.stringify(given.filter((o) => o.kind !== 'Secret')).includes('replica.example'), 'the URL (a password) lives only in the Secret');
    const fromOwnSecret = parseManifests(await helmTemplate({ set: { 'postgresql.readReplica.existingSecret': 'db-replica', 'postgresql.readReplica.existingSecretKey': 'url' } }));
    const ref = urlService(fromOwnSecret)[1]?.env?.find((e) => e.name === 'DATABASE_READ_URL');
    assert.deepEqual(ref?.valueFrom, { secretKeyRef: { name: 'db-replica', key: 'url' } });
  });
});
