// The soak's traffic (forked by bench/soak.ts, so the load generator never shares an event loop with
// the processes it measures): an open-loop mix at a steady rate of creations, one-time links,
// redirects, disables and deletions, spread over the URL service replicas. It knows what every link
// must answer at every moment and checks each answer against that; the 302s it received per code,
// every link it created and deleted, its errors by status and code and its latencies go back to the
// harness as one JSON file.
//
// What keeps each expectation exact: a link with a mutation (PATCH, DELETE) in flight gets no
// redirect, a link with a redirect in flight gets no mutation, and a one-time link that was never
// used gets at most one redirect at a time. An answer that leaves a link's state in doubt (a 5xx or
// no answer to its mutation) takes it out of the traffic as `unknown`.
import { writeFileSync } from 'node:fs';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { BROWSER_UA } from '../test/support/user-agents.ts';

/** `recheck`: a redirect through the other replica right after a PATCH or DELETE answered (not drawn from the mix). */
export const OPS = ['create', 'create_one_time', 'redirect', 'delete', 'disable', 'recheck'] as const;
export type Op = (typeof OPS)[number];
/** Relative to the Redis outage the harness causes; set by its messages. */
export type Phase = 'before' | 'outage' | 'after';
/**
 * `expected`: a 503 problem+json (a dependency is down, said properly). `stale`: a 302 for a link
 * deleted or disabled less than STALE_WINDOW_MS before the request was sent (another replica had not
 * heard of the change yet). `failure`: anything else unexpected.
 */
export type Kind = 'ok' | 'expected' | 'stale' | 'failure';
export type LinkState = 'active' | 'disabled' | 'used' | 'deleted' | 'unknown';

export interface DriverConfig {
  urls: string[];
  adminKey: string;
  ratePerS: number;
  durationS: number;
  /** Ops due while this many are in flight are skipped (and counted): the rate stays open-loop. */
  maxInFlight: number;
  runId: string;
  resultFile: string;
  /** Relative weights of the operations drawn at random. */
  mix: Record<Exclude<Op, 'recheck'>, number>;
}

export interface Outcome {
  op: Op;
  phase: Phase;
  status: number;
  code: string;
  kind: Kind;
  count: number;
  /** Epoch ms of the first and last such answer. */
  firstAt: number;
  lastAt: number;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LinkRecord {
  code: string;
  url: string;
  oneTime: boolean;
  state: LinkState;
  /** 302s received for this code: the clicks PostgreSQL must hold. */
  served: number;
}

export interface DriverResult {
  startedAt: number;
  endedAt: number;
  scheduled: number;
  skipped: number;
  sent: Record<Op, number>;
  outcomes: Outcome[];
  latency: Record<Op, LatencySummary>;
  failureCount: number;
  failures: string[];
  /** Codes that came back from two creations. */
  duplicateCodes: string[];
  /** URLs whose creation got no clear answer: a link for them may exist. */
  uncertainUrls: string[];
  links: LinkRecord[];
}

export type ToDriver = { type: 'phase'; phase: Phase } | { type: 'stop' };
export type FromDriver =
  | { type: 'started'; at: number }
  | { type: 'progress'; at: number; sent: number; failures: number; expected: number; skipped: number; inFlight: number; live: number }
  | { type: 'done'; file: string };

const REQUEST_TIMEOUT_MS = 10_000;
const PROGRESS_EVERY_MS = 10_000;
/** Failure descriptions kept, per kind of failure (op, phase, status, code) and in all. */
const FAILURES_KEPT_PER_KIND = 5;
const FAILURES_KEPT = 100;
/** Share of redirects aimed at a deleted link (which must answer 404). */
const DELETED_PROBES = 0.05;
/** A 302 for a link changed this recently counts as `stale`; later it is a plain failure (a stale cache). */
export const STALE_WINDOW_MS = 100;
/** Share of the other redirects that may land on a disabled or used link (410); the rest find an active one. */
const ANY_STATE = 0.15;

interface Link extends LinkRecord {
  mutating: boolean;
  redirectsInFlight: number;
  /** Position in `live`, for O(1) removal. */
  slot: number;
  changedAt: number;
}

interface Answer {
  status: number;
  code: string;
  location: string | null;
  body: Record<string, unknown> | null;
  isProblem: boolean;
  ms: number;
}

function send(message: FromDriver): void {
  process.send?.(message);
}

export async function drive(config: DriverConfig): Promise<DriverResult> {
  const pools = config.urls.map((url) => new Pool(url, { connections: config.maxInFlight, keepAliveTimeout: 30_000 }));
  const latency = Object.fromEntries(OPS.map((op) => [op, createHistogram()])) as Record<Op, RecordableHistogram>;
  const sent = Object.fromEntries(OPS.map((op) => [op, 0])) as Record<Op, number>;
  const outcomes = new Map<string, Outcome>();
  const failures: string[] = [];
  let failureCount = 0;
  let expectedCount = 0;
  const links = new Map<string, Link>();
  const allLinks: Link[] = [];
  const live: Link[] = [];
  const gone: Link[] = [];
  const duplicateCodes: string[] = [];
  const uncertainUrls: string[] = [];
  let phase: Phase = 'before';
  let stopping = false;
  let nextUrl = 0;

  process.on('message', (message: ToDriver) => {
    if (message.type === 'phase') phase = message.phase;
    else stopping = true;
  });

  const drawn = Object.keys(config.mix) as (keyof DriverConfig['mix'])[];
  const totalWeight = drawn.reduce((sum, op) => sum + config.mix[op], 0);
  function chooseOp(): Op {
    let r = Math.random() * totalWeight;
    for (const op of drawn) {
      r -= config.mix[op];
      if (r < 0) return op;
    }
    return 'redirect';
  }

  async function call(replica: number, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, options: { body?: unknown; admin?: boolean } = {}): Promise<Answer> {
    const pool = pools[replica];
    if (pool === undefined) throw new Error(`no replica ${replica}`);
    // A person's browser, always the same: bots are counted apart (bot_hits) and do not use up a
    // one-time link, so the checks (clicks = 302s received, one-time links used once) need a person.
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': BROWSER_UA };
    if (options.admin === true) headers.authorization = `Bearer ${config.adminKey}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();
    try {
      const res = await pool.request({
        method,
        path,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: REQUEST_TIMEOUT_MS,
      });
      const text = await res.body.text();
      const ms = performance.now() - started;
      const type = String(res.headers['content-type'] ?? '');
      const isProblem = type.startsWith('application/problem+json');
      let body: Record<string, unknown> | null = null;
      if (text !== '' && type.includes('json')) {
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = null;
        }
      }
      const location = res.headers.location;
      return {
        status: res.statusCode,
        code: isProblem && typeof body?.code === 'string' ? body.code : '',
        location: typeof location === 'string' ? location : null,
        body,
        isProblem,
        ms,
      };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return { status: 0, code: typeof code === 'string' ? code : (err as Error).name, location: null, body: null, isProblem: false, ms: performance.now() - started };
    }
  }

  function record(op: Op, at: Phase, replica: number, answer: Answer, kind: Kind, detail: string): void {
    const key = `${op}|${at}|${answer.status}|${answer.code}|${kind}`;
    const now = Date.now();
    const outcome = outcomes.get(key);
    if (outcome === undefined) outcomes.set(key, { op, phase: at, status: answer.status, code: answer.code, kind, count: 1, firstAt: now, lastAt: now });
    else {
      outcome.count += 1;
      outcome.lastAt = now;
    }
    if (answer.status !== 0) latency[op].record(Math.max(1, Math.round(answer.ms * 1000)));
    if (kind === 'expected') expectedCount += 1;
    if (kind === 'failure' || kind === 'stale') {
      if (kind === 'failure') failureCount += 1;
      // Per kind, so that one flood of the same failure cannot hide a rarer one.
      if ((outcomes.get(key)?.count ?? 0) <= FAILURES_KEPT_PER_KIND && failures.length < FAILURES_KEPT) failures.push(`${new Date(now).toISOString()} ${op} via ${config.urls[replica]} (${at}): ${detail}`);
    }
  }

  /** The status wanted, or a 503 problem+json (expected while a dependency is down); anything else fails. */
  function judge(answer: Answer, want: number, problem: () => string | null = () => null): { kind: Kind; detail: string } {
    if (answer.status === want) {
      const wrong = problem();
      return wrong === null ? { kind: 'ok', detail: '' } : { kind: 'failure', detail: wrong };
    }
    if (answer.status === 503 && answer.isProblem) return { kind: 'expected', detail: answer.code };
    const what =
      answer.status === 0
        ? `no answer (${answer.code}) after ${Math.round(answer.ms)} ms`
        : answer.status >= 400 && !answer.isProblem
          ? `${answer.status} (not problem+json)`
          : `${answer.status}${answer.code === '' ? '' : ` ${answer.code}`}${answer.location === null ? '' : ` → ${answer.location}`}`;
    return { kind: 'failure', detail: `answered ${what}, expected ${want}` };
  }

  const replica = (): number => Math.floor(Math.random() * pools.length);

  function addLive(link: Link): void {
    link.slot = live.length;
    live.push(link);
  }

  function removeLive(link: Link): void {
    const last = live.pop();
    if (last !== undefined && last !== link) {
      live[link.slot] = last;
      last.slot = link.slot;
    }
    link.slot = -1;
  }

  /** A live link that `eligible` accepts; `skewed` favours the low slots (a hot set), as real traffic does. */
  function pickLive(eligible: (link: Link) => boolean, skewed: boolean): Link | undefined {
    for (let attempt = 0; attempt < 8 && live.length > 0; attempt++) {
      const u = Math.random();
      const link = live[Math.floor(live.length * (skewed ? u * u : u))];
      if (link !== undefined && eligible(link)) return link;
    }
    return undefined;
  }

  async function create(oneTime: boolean): Promise<void> {
    const op: Op = oneTime ? 'create_one_time' : 'create';
    sent[op] += 1;
    const n = nextUrl++;
    const url = `https://example.com/soak/${config.runId}/${n}`;
    const at = phase;
    const target = replica();
    // Half anonymous, half under the admin key: both paths of creation.
    const answer = await call(target, 'POST', '/urls', { body: oneTime ? { url, one_time: true } : { url }, admin: n % 2 === 0 });
    const code = typeof answer.body?.short_code === 'string' ? answer.body.short_code : '';
    const verdict = judge(answer, 201, () => {
      if (code === '') return '201 without a short_code';
      if (answer.body?.original_url !== url) return `201 for ${url} with original_url ${String(answer.body?.original_url)}`;
      if (answer.body.is_one_time !== oneTime) return `201 with is_one_time ${String(answer.body.is_one_time)}`;
      if (links.has(code)) return `code ${code} handed out again (first for ${links.get(code)?.url}, now for ${url})`;
      return null;
    });
    record(op, at, target, answer, verdict.kind, verdict.detail);
    if (answer.status === 201 && code !== '') {
      if (links.has(code)) duplicateCodes.push(code);
      const link: Link = { code, url, oneTime, state: 'active', served: 0, mutating: false, redirectsInFlight: 0, slot: -1, changedAt: Date.now() };
      links.set(code, link);
      allLinks.push(link);
      addLive(link);
    } else if (answer.status === 0 || answer.status >= 500) uncertainUrls.push(url);
  }

  function redirectTarget(): Link | undefined {
    if (gone.length > 0 && Math.random() < DELETED_PROBES) return gone[Math.floor(Math.random() * gone.length)];
    const free = (l: Link): boolean => !l.mutating && !(l.oneTime && l.state === 'active' && l.redirectsInFlight > 0);
    const anyState = Math.random() < ANY_STATE;
    return pickLive((l) => free(l) && (anyState || l.state === 'active'), true) ?? pickLive(free, true);
  }

  /** GET /{code}, checked against the link's state; `recheck` = right after a change, through the other replica. */
  async function redirect(chosen?: { link: Link; replica: number }): Promise<void> {
    const link = chosen?.link ?? redirectTarget();
    if (link === undefined) return create(false);
    const op: Op = chosen === undefined ? 'redirect' : 'recheck';
    sent[op] += 1;
    const state = link.state;
    const at = phase;
    const target = chosen?.replica ?? replica();
    const sinceChangeMs = Date.now() - link.changedAt;
    link.redirectsInFlight += 1;
    const answer = await call(target, 'GET', `/${link.code}`);
    link.redirectsInFlight -= 1;
    if (answer.status === 302) link.served += 1;
    const verdict =
      state === 'active'
        ? judge(answer, 302, () => (answer.location === link.url ? null : `${link.code}: Location ${answer.location} instead of ${link.url}`))
        : state === 'deleted'
          ? judge(answer, 404, () => (answer.code === 'link_not_found' ? null : `${link.code} (deleted): 404 ${answer.code}`))
          : judge(answer, 410, () => (answer.code === `link_${state}` ? null : `${link.code} (${state}): 410 ${answer.code}`));
    if (verdict.kind === 'failure') {
      verdict.detail = `${link.code} (${link.oneTime ? 'one-time, ' : ''}${state}, sent ${sinceChangeMs} ms after the change): ${verdict.detail}`;
      if (answer.status === 302 && (state === 'deleted' || state === 'disabled') && sinceChangeMs < STALE_WINDOW_MS) verdict.kind = 'stale';
    }
    record(op, at, target, answer, verdict.kind, verdict.detail);
    if (link.oneTime && state === 'active') {
      if (answer.status === 302) setState(link, 'used');
      // Whether a one-time link was consumed is in doubt unless the answer says so.
      else if (answer.status !== 404 && answer.status !== 410) setState(link, 'unknown');
    }
  }

  function setState(link: Link, state: LinkState): void {
    if ((state === 'deleted' || state === 'unknown') && link.slot >= 0) removeLive(link);
    if (state === 'deleted') gone.push(link);
    link.state = state;
    link.changedAt = Date.now();
  }

  async function mutate(op: 'delete' | 'disable'): Promise<void> {
    const link = pickLive((l) => !l.mutating && l.redirectsInFlight === 0 && (op === 'delete' || (l.state === 'active' && !l.oneTime)), false);
    if (link === undefined) return create(false);
    sent[op] += 1;
    const at = phase;
    const target = replica();
    link.mutating = true;
    const answer =
      op === 'delete'
        ? await call(target, 'DELETE', `/urls/${link.code}`, { admin: true })
        : await call(target, 'PATCH', `/urls/${link.code}`, { body: { is_active: false }, admin: true });
    link.mutating = false;
    const verdict =
      op === 'delete'
        ? judge(answer, 204)
        : judge(answer, 200, () => (answer.body?.is_active === false ? null : `${link.code}: 200 with is_active ${String(answer.body?.is_active)}`));
    if (verdict.kind === 'failure') verdict.detail = `${link.code}: ${verdict.detail}`;
    record(op, at, target, answer, verdict.kind, verdict.detail);
    if (answer.status === (op === 'delete' ? 204 : 200)) {
      setState(link, op === 'delete' ? 'deleted' : 'disabled');
      // "Takes effect at once on every replica": the other one must already answer 404 / 410.
      if (pools.length > 1) await redirect({ link, replica: (target + 1) % pools.length });
    } else if (answer.status === 0 || answer.status >= 500) setState(link, 'unknown');
  }

  function runOp(op: Op): Promise<void> {
    switch (op) {
      case 'create':
        return create(false);
      case 'create_one_time':
        return create(true);
      case 'redirect':
        return redirect();
      case 'delete':
      case 'disable':
        return mutate(op);
      case 'recheck':
        return redirect();
    }
  }

  const startedAt = Date.now();
  send({ type: 'started', at: startedAt });
  const t0 = performance.now();
  const inFlight = new Set<Promise<void>>();
  let scheduled = 0;
  let skipped = 0;
  let nextProgress = PROGRESS_EVERY_MS;
  let sentAtProgress = 0;
  for (;;) {
    const elapsed = performance.now() - t0;
    if (stopping || elapsed >= config.durationS * 1000) break;
    const due = Math.floor((elapsed / 1000) * config.ratePerS);
    while (scheduled < due) {
      scheduled += 1;
      if (inFlight.size >= config.maxInFlight) {
        skipped += 1;
        continue;
      }
      const task = runOp(chooseOp()).finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
    if (elapsed >= nextProgress) {
      nextProgress += PROGRESS_EVERY_MS;
      const total = OPS.reduce((sum, op) => sum + sent[op], 0);
      send({ type: 'progress', at: Date.now(), sent: total - sentAtProgress, failures: failureCount, expected: expectedCount, skipped, inFlight: inFlight.size, live: live.length });
      sentAtProgress = total;
    }
    await sleep(5);
  }
  await Promise.all(inFlight);
  await Promise.all(pools.map((pool) => pool.close()));

  const ms = (h: RecordableHistogram, p: number): number => (h.count === 0 ? 0 : h.percentile(p) / 1000);
  return {
    startedAt,
    endedAt: Date.now(),
    scheduled,
    skipped,
    sent,
    outcomes: [...outcomes.values()],
    latency: Object.fromEntries(OPS.map((op) => [op, { count: latency[op].count, p50Ms: ms(latency[op], 50), p99Ms: ms(latency[op], 99), maxMs: latency[op].count === 0 ? 0 : latency[op].max / 1000 }])) as Record<Op, LatencySummary>,
    failureCount,
    failures,
    duplicateCodes,
    uncertainUrls,
    links: allLinks.map(({ code, url, oneTime, state, served }) => ({ code, url, oneTime, state, served })),
  };
}

// Run as the forked child (not when imported for its types): the configuration is argv[2]; the
// result goes to the file it names.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] !== undefined) {
  const config = JSON.parse(process.argv[2]) as DriverConfig;
  drive(config).then(
    (result) => {
      writeFileSync(config.resultFile, JSON.stringify(result));
      send({ type: 'done', file: config.resultFile });
      process.disconnect();
    },
    (err: unknown) => {
      process.stderr.write(`soak driver failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
