#!/usr/bin/env node
// The `curt` command. What runs is the compiled JavaScript in dist/ (`npm run build`): nothing is
// compiled at start, and the container image holds no TypeScript tooling at all. In a checkout, where
// src/ sits beside dist/, dist/ is used only while it is complete and at least as new as every source;
// otherwise (a fresh clone, an edited or switched checkout) the sources run through tsx, a dev
// dependency, so a checkout never runs old code. Silently: the client verbs promise one line on stderr
// per failure, and a notice on every such run would break that.
import { readdirSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
/** Written last by scripts/build.mjs: dist/ is complete, and as new as this file's mtime. */
const BUILD_MARKER = new URL('dist/.build-complete', root);
const SOURCES = [new URL('src/', root), new URL('tsconfig.json', root), new URL('tsconfig.build.json', root)];

const mtimeOf = (url) => statSync(url, { throwIfNoEntry: false })?.mtimeMs ?? null;

/** The newest modification time under `url` (a file or a folder), or null when it does not exist. */
function newest(url) {
  const stat = statSync(url, { throwIfNoEntry: false });
  if (stat === undefined) return null;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(url, { withFileTypes: true })) {
    const child = newest(new URL(entry.isDirectory() ? `${entry.name}/` : entry.name, url));
    if (child !== null && child > latest) latest = child;
  }
  return latest;
}

function distIsCurrent() {
  const built = mtimeOf(BUILD_MARKER);
  if (built === null) return false;
  // A production copy (the image, an `npm ci --omit=dev` install) has no sources: dist/ is all there is.
  return SOURCES.every((source) => (newest(source) ?? -Infinity) <= built);
}

function refuse(reason) {
  process.stderr.write(`curt: ${reason}: run \`npm run build\`\n`);
  process.exit(1);
}

if (distIsCurrent()) {
  // Stack traces name the TypeScript files and lines (tsc writes the source maps beside the modules).
  process.setSourceMapsEnabled(true);
  await import(new URL('dist/cli/main.js', root).href);
} else if (mtimeOf(new URL('src/', root)) === null) {
  refuse('dist/ is missing or incomplete');
} else {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    refuse('dist/ is missing or older than src/, and tsx (a dev dependency) is not installed to run the sources');
  }
  tsx.register();
  await import(new URL('src/cli/main.ts', root).href);
}
