#!/usr/bin/env node
// `npm run build`: compiles src/ into dist/ and builds the web app into dist/web (build-web.mjs):
// what production runs (bin/curt.mjs; the container image builds it in its build stage). dist/ is rebuilt from nothing, so a source that was deleted
// leaves no module behind, and the marker written last tells bin/curt.mjs that the build is complete
// and how fresh it is (see BUILD_MARKER there). Not a `prepare` script: `npx curt` in the project
// folder runs `prepare` on every call, which would make each client command wait for a build.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { buildWeb } from './build-web.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = `${root}dist`;
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);
// tsc copies no non-TypeScript files; the Lua scripts must sit beside the compiled Redis adapters.
cpSync(`${root}src/storage/redis/lua`, `${dist}/storage/redis/lua`, { recursive: true });
// The web app (src/web, its own toolchain: Vite) into dist/web, which the URL service serves.
try {
  await buildWeb();
} catch (err) {
  process.stderr.write(`web build failed: ${err.message}\n`);
  process.exit(1);
}
writeFileSync(`${dist}/.build-complete`, `${new Date().toISOString()}\n`);
