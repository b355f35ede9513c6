// What tests of real processes (load, faults: a dependency killed, frozen or restarted) need to
// watch a service from outside: timed HTTP calls, a Prometheus reading, polling with a deadline.
import { setTimeout as sleep } from 'node:timers/promises';
import { BROWSER_UA } from './user-agents.ts';

/** Polls `check` until it is true; fails after `timeoutMs`, naming what it waited for. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(50);
  }
}

/** Polls `attempt` until it gives a value (not undefined) and returns it; fails after `timeoutMs`. */
export async function untilValue<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

export interface TimedResponse {
  status: number;
  ms: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/**
 * One HTTP call with how long it took. A call that has not answered within `limitMs` (default 10 s)
 * comes back as status 0, so a hanging request fails an assertion instead of the test's timeout.
 */
export async function timedFetch(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; limitMs?: number } = {},
): Promise<TimedResponse> {
  const started = performance.now();
  // A person's browser, so that a redirect counts as a click (fetch's own User-Agent is a bot's).
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': BROWSER_UA, ...init.headers };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      headers,
      redirect: 'manual',
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(init.limitMs ?? 10_000),
    });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      body = { text };
    }
    return { status: res.status, ms: performance.now() - started, headers: res.headers, body };
  } catch {
    return { status: 0, ms: performance.now() - started, headers: new Headers(), body: {} };
  }
}

/**
 * The value of one series on a service's metrics listener (`ServiceProcess.metricsUrl`: METRICS_PORT,
 * not the public port), e.g. `dependency_breaker_state{dependency="postgres"}`; null when absent.
 */
export async function metricValue(metricsUrl: string, series: string): Promise<number | null> {
  return seriesValue(await (await fetch(`${metricsUrl}/metrics`)).text(), series);
}

/** One unlabelled series of a Prometheus exposition, or null when it is not there. */
export function seriesValue(exposition: string, series: string): number | null {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

/** Runs `count` tasks with at most `width` in flight. */
export async function inParallel<T>(count: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

/**
 * Redirects in a loop (GET, so each 302 is a click) over `codes` from `width` concurrent callers
 * until stopped; counts the 302s per code and keeps every other answer.
 */
export function redirectLoad(baseUrl: string, codes: readonly string[], width = 4) {
  const served = new Map<string, number>(codes.map((c) => [c, 0]));
  const failures: string[] = [];
  let running = true;
  let i = 0;
  const loops = Array.from({ length: width }, async () => {
    while (running) {
      const code = codes[i++ % codes.length] as string;
      const res = await timedFetch(`${baseUrl}/${code}`);
      if (res.status === 302) served.set(code, (served.get(code) ?? 0) + 1);
      else failures.push(`${code}: ${res.status} ${JSON.stringify(res.body)} after ${Math.round(res.ms)} ms`);
    }
  });
  return {
    served,
    failures,
    total: () => [...served.values()].reduce((a, b) => a + b, 0),
    async stop(): Promise<void> {
      running = false;
      await Promise.all(loops);
    },
  };
}
