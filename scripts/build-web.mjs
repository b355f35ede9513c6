#!/usr/bin/env node
// Builds the web app (src/web) with Vite into dist/web, which the URL service serves
// (src/url/web-assets.ts). Prints the gzipped size of the JavaScript that `/` loads and fails above
// WEB_JS_BUDGET. Called by scripts/build.mjs (`npm run build`), by the test runner before the suite,
// and by the URL service itself when it starts from the sources and dist/web is missing or older than
// src/web (ensureWebBuilt; docs/web.md, "How it is built and served").
// Usage: node scripts/build-web.mjs [--if-stale]
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(root, 'src', 'web');
const WEB_DIST = join(root, 'dist', 'web');
/** Written last: the build is complete, and as new as its modification time. */
const MARKER = 'build-info.json';
/** The issue's budget for the JavaScript of `/`, gzipped. */
const WEB_JS_BUDGET = 60 * 1024;

/** The newest modification time under `path`, or 0 when it does not exist. */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const name of readdirSync(path)) latest = Math.max(latest, newest(join(path, name)));
  return latest;
}

/** The client library the app bundles (src/web/client.ts and src/web/api.ts import it). */
const CLIENT = join(root, 'src', 'client');

/** True when dist/web is missing, incomplete, or older than the app's sources, the SDK it bundles, or this script. */
function webBuildIsStale(outDir = WEB_DIST) {
  const built = statSync(join(outDir, MARKER), { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return true;
  // A copy without the sources (the container image) has nothing to rebuild from.
  if (!existsSync(SOURCE)) return false;
  return Math.max(newest(SOURCE), newest(CLIENT), newest(fileURLToPath(import.meta.url))) > built;
}

/** The gzipped bytes of the JavaScript `/` loads: the entry and what it imports statically, not lazy chunks. */
function measure(outDir) {
  const manifest = JSON.parse(readFileSync(join(outDir, '.vite', 'manifest.json'), 'utf8'));
  const entry = Object.values(manifest).find((chunk) => chunk.isEntry);
  if (entry === undefined) throw new Error('the Vite manifest names no entry');
  const seen = new Set();
  const visit = (chunk) => {
    if (seen.has(chunk.file)) return;
    seen.add(chunk.file);
    for (const key of chunk.imports ?? []) visit(manifest[key]);
  };
  visit(entry);
  const gz = (file) => gzipSync(readFileSync(join(outDir, file)), { level: 9 }).length;
  const initial = [...seen].filter((f) => f.endsWith('.js'));
  const lazy = Object.values(manifest).filter((c) => c.file.endsWith('.js') && !seen.has(c.file)).map((c) => c.file);
  return { initialJsGzip: initial.reduce((sum, f) => sum + gz(f), 0), initial, lazy: lazy.map((file) => ({ file, gzip: gz(file) })) };
}

/**
 * Builds into a folder of its own, then swaps it in: a server reading dist/web meanwhile sees the old
 * build or the new one, never half of one. Resolves to the sizes; throws past the budget.
 */
export async function buildWeb({ outDir = WEB_DIST, quiet = false } = {}) {
  const { build } = await import('vite');
  const work = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await build({
      configFile: false,
      root: SOURCE,
      base: '/',
      logLevel: quiet ? 'warn' : 'info',
      esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
      resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
      build: {
        outDir: work,
        emptyOutDir: true,
        manifest: true,
        // The polyfill is an inline script, which the page's CSP (script-src 'self') forbids.
        modulePreload: { polyfill: false },
        // Every file under /assets/, hashed: nothing inlined as a data: URL into a script or style.
        assetsInlineLimit: 0,
        target: 'es2022',
        sourcemap: false,
        reportCompressedSize: false,
      },
    });
    const sizes = measure(work);
    const line = `web app: the JavaScript of / is ${(sizes.initialJsGzip / 1024).toFixed(1)} KB gzipped (budget ${WEB_JS_BUDGET / 1024} KB)` +
      (sizes.lazy.length > 0 ? `; loaded later: ${sizes.lazy.map((c) => `${c.file} ${(c.gzip / 1024).toFixed(1)} KB`).join(', ')}` : '');
    if (!quiet) process.stdout.write(`${line}\n`);
    sizes.summary = line;
    if (sizes.initialJsGzip > WEB_JS_BUDGET) throw new Error(`the JavaScript of / is ${sizes.initialJsGzip} bytes gzipped, over the budget of ${WEB_JS_BUDGET}`);
    writeFileSync(join(work, MARKER), `${JSON.stringify({ built_at: new Date().toISOString(), ...sizes }, null, 2)}\n`);
    mkdirSync(dirname(outDir), { recursive: true });
    const old = `${outDir}.old-${process.pid}-${Date.now()}`;
    if (existsSync(outDir)) renameSync(outDir, old);
    renameSync(work, outDir);
    rmSync(old, { recursive: true, force: true });
    return sizes;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Builds only when dist/web is missing or stale; resolves to the sizes, or null when it was current. */
export async function ensureWebBuilt(options = {}) {
  if (!webBuildIsStale(options.outDir)) return null;
  return buildWeb(options);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const ifStale = process.argv.includes('--if-stale');
  try {
    if (ifStale) {
      const sizes = await ensureWebBuilt({ quiet: true });
      if (sizes !== null) process.stdout.write(`${sizes.summary}\n`);
    }
    else await buildWeb();
  } catch (err) {
    process.stderr.write(`web build failed: ${err.message}\n`);
    process.exit(1);
  }
}
