// The container image as far as it can be checked without a Docker engine: the Dockerfile's shape
// (what it runs, as whom, from which base) and that the build context holds what it copies. What the
// image does is test/e2e/production-build.test.ts, which runs a copy of exactly those files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { copies, dockerignoreKeeps, execForm, instructions, pairs, readDockerfile, readDockerignore, stage } from '../support/dockerfile.ts';
import { ROOT } from '../support/processes.ts';

const dockerfile = readDockerfile();
const runtime = stage(dockerfile, 'runtime');
const build = stage(dockerfile, 'build');
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string; engines: { node: string } };

test('the image runs `node /app/bin/curt.mjs <role>` in exec form, serve by default, so SIGTERM reaches Node', () => {
  assert.equal(dockerfile.stages.at(-1), runtime, 'the runtime stage is the last one (what `docker build` tags)');
  assert.deepEqual(instructions(runtime, 'WORKDIR'), ['/app']);
  assert.deepEqual(execForm(runtime, 'ENTRYPOINT'), ['node', '/app/bin/curt.mjs']);
  assert.deepEqual(execForm(runtime, 'CMD'), ['serve']);
});

test('both stages start from a slim Debian Node LTS image, even-numbered and newer than the engines floor', () => {
  for (const { image } of dockerfile.stages) {
    const match = /^node:(\d+)-bookworm-slim$/.exec(image);
    assert.ok(match?.[1], `${image} is not node:<major>-bookworm-slim`);
    const major = Number(match[1]);
    assert.equal(major % 2, 0, `${image}: odd Node majors never become LTS`);
    assert.ok(major >= Number(/^>=(\d+)/.exec(pkg.engines.node)?.[1]), `${image} is older than engines ${pkg.engines.node}`);
  }
});

test('the runtime stage installs production dependencies only, without install scripts, and runs as node', () => {
  const installs = instructions(runtime, 'RUN').filter((run) => run.includes('npm ci'));
  assert.equal(installs.length, 1);
  assert.match(installs[0] ?? '', /npm ci --omit=dev --ignore-scripts\b/);
  assert.deepEqual(instructions(runtime, 'USER'), ['node']);
  const env = pairs(runtime, 'ENV');
  assert.equal(env.NODE_ENV, 'production');
  assert.equal(env.HOST, '0.0.0.0', 'serve must be reachable from outside its container');
  // serve's embedded database goes where the node user may write.
  assert.equal(env.DATA_DIR, '/data');
  assert.deepEqual(instructions(runtime, 'VOLUME'), ['/data']);
  assert.ok(instructions(runtime, 'RUN').some((run) => /chown node:node \/data\b/.test(run)));
});

test('the runtime stage takes only the compiled code from the build stage: no sources, no compiler', () => {
  const fromBuild = copies(runtime).filter((c) => c.from !== null);
  assert.deepEqual(fromBuild, [{ from: 'build', sources: ['/app/dist'], destination: './dist' }]);
  const fromContext = copies(runtime).flatMap((c) => (c.from === null ? c.sources : []));
  assert.ok(!fromContext.some((source) => /^(src|tsconfig|scripts|test)/.test(source)), fromContext.join(' '));
  assert.ok(instructions(build, 'RUN').includes('npm run build'));
});

test('the image carries the OCI labels, its version the package version', () => {
  const labels = pairs(runtime, 'LABEL');
  for (const name of ['title', 'description', 'version', 'revision', 'created', 'licenses']) {
    assert.ok(labels[`org.opencontainers.image.${name}`], `no org.opencontainers.image.${name} label`);
  }
  assert.equal(labels['org.opencontainers.image.version'], '${VERSION}');
  assert.equal(pairs(runtime, 'ARG').VERSION, pkg.version, 'ARG VERSION defaults to package.json version');
});

test('.dockerignore sends the builder every file the Dockerfile copies, and nothing local', () => {
  const rules = readDockerignore();
  const copied = dockerfile.stages.flatMap((s) => copies(s).flatMap((c) => (c.from === null ? c.sources : [])));
  assert.ok(copied.length >= 6);
  for (const source of copied) assert.ok(dockerignoreKeeps(rules, source), `.dockerignore drops ${source}, which the Dockerfile copies`);
  for (const local of ['node_modules', 'dist', 'data', '.git', 'test', '.env', 'deploy', 'bench/results']) {
    assert.ok(!dockerignoreKeeps(rules, local), `.dockerignore sends ${local} to the builder`);
  }
});

test('no production dependency needs an install script, so the image may install with --ignore-scripts', () => {
  const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as { packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }> };
  const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript === true);
  assert.ok(withScripts.length > 0, 'the lock file records install scripts (esbuild has one): the check can see them');
  assert.deepEqual(withScripts.filter(([, p]) => p.dev !== true).map(([name]) => name), []);
});

test('tsx and TypeScript are dev dependencies only', () => {
  const manifest = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  for (const tool of ['tsx', 'typescript']) {
    assert.ok(!(tool in manifest.dependencies), `${tool} is a production dependency`);
    assert.ok(tool in manifest.devDependencies, `${tool} is not a dev dependency`);
  }
});
