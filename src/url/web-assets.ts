// The web app's built files (src/web, built by scripts/build-web.mjs into dist/web), read into memory
// once at start: a few small files, served from memory with a gzip copy made here, never from disk.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Logger } from '../core/logger.ts';

/**
 * dist/web at the project root, both from the sources (src/url/ → ../../dist/web) and compiled
 * (dist/url/ → ../../dist/web, which is dist/web again): one place, whichever runs.
 */
export const WEB_ASSETS_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

export interface WebAsset {
  body: Buffer;
  /** The gzip copy, or null when it would not be smaller (images that are compressed already). */
  gzip: Buffer | null;
  contentType: string;
}

export interface WebAssets {
  /** The app's one page; the client-side router picks what it shows from the path. */
  index: WebAsset;
  /** By file name under /assets/ (hashed names: their content never changes). */
  assets: ReadonlyMap<string, WebAsset>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

function asset(path: string): WebAsset {
  const body = readFileSync(path);
  const contentType = CONTENT_TYPES[extname(path)] ?? 'application/octet-stream';
  const gzip = gzipSync(body, { level: 9 });
  return { body, gzip: gzip.length < body.length ? gzip : null, contentType };
}

/** The built app under `dir`, or null when it has not been built (no index.html). */
export function loadWebAssets(dir: string = WEB_ASSETS_DIR): WebAssets | null {
  const indexPath = join(dir, 'index.html');
  if (!existsSync(indexPath)) return null;
  const assetsDir = join(dir, 'assets');
  const assets = new Map<string, WebAsset>();
  if (existsSync(assetsDir)) {
    for (const name of readdirSync(assetsDir)) {
      const path = join(assetsDir, name);
      if (statSync(path).isFile()) assets.set(name, asset(path));
    }
  }
  return { index: asset(indexPath), assets };
}

/**
 * From the sources (tsx), the web app is built before it is served whenever dist/web is missing or
 * older than src/web, so `npm start` on a fresh clone serves it (docs/web.md). Compiled code never
 * builds: dist/web comes with dist/ (`npm run build`, the image). A failed build is logged, and `/`
 * then says that the app is not built; the API and the redirects work all the same.
 */
export async function buildWebAppIfStale(log: Logger, moduleUrl: string = import.meta.url): Promise<void> {
  if (!moduleUrl.endsWith('.ts')) return;
  const script = new URL('../../scripts/build-web.mjs', moduleUrl).href;
  try {
    const { ensureWebBuilt } = (await import(script)) as { ensureWebBuilt: (options: { quiet: boolean }) => Promise<{ summary: string } | null> };
    const built = await ensureWebBuilt({ quiet: true });
    if (built !== null) log.info({ sizes: built.summary }, 'built the web app from src/web');
  } catch (err) {
    log.error({ err: (err as Error).message }, 'could not build the web app; / says it is not built');
  }
}
