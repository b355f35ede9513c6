// deploy/kubernetes: the chart rendered for `kubectl apply -k`, kept in step with the chart, built by
// the real kustomize with the Secret it generates from secrets.env.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { k8sTools, PLAIN, PLAIN_SECRET, renderPlainManifests, runTool } from '../../scripts/k8s-tools.ts';
import { allContainers, countByKind, parseManifests, resolveEnv, validateObject, workloads, type K8sObject } from '../support/k8s-manifests.ts';

/** The operator's secrets.env, from the example with every value filled in. */
function exampleSecrets(): string {
  return readFileSync(join(PLAIN, 'secrets.env.example'), 'utf8')
    .split('\n')
    .filter((line) => /^[\w.-]+=$/.test(line))
    .map((line, i) => `${line}value${i}abcdefghijklmnopqrstuvwxyz`)
    .join('\n');
}

/** `kubectl kustomize` of a copy of deploy/kubernetes, with or without a secrets.env. */
async function kustomize(secrets: string | null): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'curt-kustomize-'));
  try {
    for (const file of ['kustomization.yaml', 'curt.yaml']) copyFileSync(join(PLAIN, file), join(dir, file));
    if (secrets !== null) writeFileSync(join(dir, 'secrets.env'), secrets);
    return await runTool(k8sTools().kubectl, ['kustomize', dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('plain manifests in deploy/kubernetes', () => {
  test('curt.yaml is exactly what the chart renders with its default values (run `npm run manifests` after a chart change)', async () => {
    const committed = readFileSync(join(PLAIN, 'curt.yaml'), 'utf8');
    assert.ok(committed === (await renderPlainManifests()), 'deploy/kubernetes/curt.yaml differs from the chart: run `npm run manifests`');
  });

  test('kubectl kustomize builds valid objects, with the generated Secret wired into every reference', async () => {
    const objects = parseManifests(await kustomize(exampleSecrets()));
    for (const object of objects) assert.doesNotThrow(() => validateObject(object), `${object.kind} ${object.metadata.name}`);
    console.log(`rendered objects, kubectl kustomize deploy/kubernetes: ${objects.length} ${JSON.stringify(countByKind(objects))}`);
    const secrets = objects.filter((o) => o.kind === 'Secret');
    assert.equal(secrets.length, 1);
    const secret = secrets[0] as K8sObject;
    assert.match(secret.metadata.name, new RegExp(`^${PLAIN_SECRET}-[a-z0-9]+$`), 'kustomize names it with a content hash');
    let references = 0;
    for (const w of workloads(objects)) {
      for (const c of allContainers(w.spec.template.spec)) {
        for (const ref of (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : []))) {
          assert.equal(ref.name, secret.metadata.name, `${w.metadata.name}/${c.name} refers to ${ref.name}`);
          references++;
        }
        // Every key the manifests read exists in what secrets.env.example asks the operator to fill in.
        assert.doesNotThrow(() => resolveEnv(objects, c), `${w.metadata.name}/${c.name}`);
      }
    }
    assert.ok(references >= 8, `${references} Secret references`);
  });

  test('without secrets.env kustomize refuses: nothing is applied with empty or well-known passwords', async () => {
    await assert.rejects(kustomize(null), /secrets\.env/);
  });
});
