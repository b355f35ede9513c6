// `npm run bench:pipeline`: the click pipeline alone, in this process, without HTTP or PostgreSQL.
// The real createClickCounter and createVisitorClassifier (isbot + bowser with their parse cache, the
// bundled country database) are fed PIPELINE_HITS hits over PIPELINE_LINKS links (uniform), built from
// bench/wrk/user-agents.txt (each line as often as it is in the file), a few thousand random public
// IPv4 addresses as the TCP peer (TRUST_PROXY=false, the deployed default: no X-Forwarded-For) and
// Referers of a few dozen hosts (40 % of hits without one). The store's applyClicks does nothing; the
// counter is flushed every FLUSH_EVERY hits, as the service's one flush a second at bench:clicks'
// 20,000 redirects/s, so that its maps stay as large as in the service. The same hits with one fixed
// User-Agent (the file's most frequent: the parse cache's best case) are the baseline of the same run.
//
// Each round builds its hits anew, every string a fresh flat copy, as a server gets each header: a
// string keeps its hash once computed, and reusing the same strings would make every cache lookup
// cheaper than in the service. The classifiers are warmed by one unmeasured round per variant (their
// caches then hold every User-Agent and address: the steady state of a service with a few thousand
// visitors). Rounds alternate the variants (mix first, then fixed first), garbage is collected before
// each (node --expose-gc). Prints hits described and counted per second (medians) and CPU µs per hit;
// no timed assertion. Writes bench/results/pipeline-<time>.json.
//
//   PIPELINE_HITS (default 500000)  PIPELINE_LINKS (10000)  PIPELINE_ROUNDS (5)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_GEOIP_DB, openCountryResolver, publicAddress } from '../src/analytics/country.ts';
import { createUserAgentClassifier, UNKNOWN } from '../src/analytics/user-agent.ts';
import { createVisitorClassifier, type SeenRequest, type VisitorClassifier } from '../src/analytics/visitor.ts';
import { createLogger } from '../src/core/logger.ts';
import { eachDayValue, type ClickAggregate } from '../src/storage/link-store.ts';
import { createClickCounter } from '../src/url/click-counter.ts';
import { ROOT } from '../test/support/processes.ts';
import { disagreements, labelShares, readUserAgents, USER_AGENTS_FILE, type LabelledAgent } from './lib/user-agents.ts';

const HITS = Number(process.env.PIPELINE_HITS ?? 500_000);
const LINKS = Number(process.env.PIPELINE_LINKS ?? 10_000);
const ROUNDS = Number(process.env.PIPELINE_ROUNDS ?? 5);
const ADDRESSES = 4000;
const FLUSH_EVERY = 20_000;
/** CLICK_BUFFER_MAX's default. */
const BUFFER_MAX = 300_000;
const NO_REFERER_SHARE = 0.4;
const REFERRER_HOSTS = [
  't.co', 'x.com', 'www.facebook.com', 'l.facebook.com', 'lm.facebook.com', 'www.instagram.com', 'l.instagram.com',
  'www.linkedin.com', 'lnkd.in', 'www.reddit.com', 'out.reddit.com', 'news.ycombinator.com', 'www.google.com',
  'news.google.com', 'mail.google.com', 'www.bing.com', 'duckduckgo.com', 'search.yahoo.com', 'outlook.live.com',
  'teams.microsoft.com', 'app.slack.com', 'discord.com', 'web.whatsapp.com', 't.me', 'www.youtube.com',
  'm.youtube.com', 'medium.com', 'substack.com', 'github.com', 'bsky.app', 'mastodon.social', 'www.tiktok.com',
  'www.threads.net', 'android-app', 'www.nytimes.com', 'www.bbc.co.uk',
];

/** mulberry32: the same hits in every run, so that runs compare. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What each hit is made of, as indexes into the pools; the strings are built per round. */
interface Plan {
  agents: string[];
  addresses: string[];
  referers: string[];
  link: Uint32Array;
  agent: Uint16Array;
  address: Uint16Array;
  /** Index into referers, or -1: no Referer. */
  referer: Int32Array;
}

function plan(agents: LabelledAgent[]): Plan {
  const next = random(12_345);
  const addresses: string[] = [];
  while (addresses.length < ADDRESSES) {
    const n = Math.floor(next() * 2 ** 32);
    const ip = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    if (publicAddress(ip) !== null) addresses.push(ip);
  }
  const referers = Array.from({ length: 400 }, (_, i) => {
    const host = REFERRER_HOSTS[i % REFERRER_HOSTS.length] ?? 'example.com';
    const path = Math.floor(next() * 36 ** 8).toString(36);
    // Android apps send android-app://package/, the rest a page of their site.
    return host === 'android-app' ? `android-app://com.google.android.gm/` : `https://${host}/${i % 3 === 0 ? '' : `p/${path}/${i}`}`;
  });
  const p: Plan = {
    agents: agents.map((a) => a.userAgent),
    addresses,
    referers,
    link: new Uint32Array(HITS),
    agent: new Uint16Array(HITS),
    address: new Uint16Array(HITS),
    referer: new Int32Array(HITS),
  };
  for (let i = 0; i < HITS; i++) {
    p.link[i] = 1 + Math.floor(next() * LINKS);
    p.agent[i] = Math.floor(next() * agents.length);
    p.address[i] = Math.floor(next() * addresses.length);
    p.referer[i] = next() < NO_REFERER_SHARE ? -1 : Math.floor(next() * referers.length);
  }
  return p;
}

/** A flat string equal to `s` but not the same object: what a server makes of each header it reads. */
const fresh = (s: string): string => Buffer.from(s, 'latin1').toString('latin1');

/** The round's hits; `fixedAgent` in place of the planned User-Agents for the baseline. */
function build(p: Plan, fixedAgent: string | null): SeenRequest[] {
  const seen: SeenRequest[] = new Array<SeenRequest>(HITS);
  for (let i = 0; i < HITS; i++) {
    const referer = p.referer[i] ?? -1;
    seen[i] = {
      referer: referer < 0 ? undefined : fresh(p.referers[referer] ?? ''),
      userAgent: fresh(fixedAgent ?? p.agents[p.agent[i] ?? 0] ?? ''),
      address: fresh(p.addresses[p.address[i] ?? 0] ?? ''),
      forwardedFor: undefined,
      country: undefined,
    };
  }
  return seen;
}

interface Tally {
  clicks: number;
  botHits: number;
  /** Clicks whose country was found. */
  countries: number;
  dropped: number;
  shed: number;
}

/** Records every hit and flushes every FLUSH_EVERY; `store` is the no-op one, or a tallying one for the check. */
async function feed(p: Plan, seen: SeenRequest[], visitors: VisitorClassifier, applyClicks: (batch: ClickAggregate[]) => Promise<void>, tally: Tally): Promise<void> {
  const counter = createClickCounter({
    store: { applyClicks },
    log: createLogger({ service: 'bench', level: 'warn' }),
    visitors,
    flushIntervalMs: 1000,
    bufferMax: BUFFER_MAX,
    metrics: { dropped: (n) => (tally.dropped += n), shed: (_detail, n) => (tally.shed += n) },
  });
  for (let i = 0; i < HITS; i++) {
    counter.record(p.link[i] ?? 0, seen[i] as SeenRequest);
    // Awaited: a flush still in flight would leave the buffer to grow past what the service holds.
    if ((i + 1) % FLUSH_EVERY === 0) await counter.flush();
  }
  await counter.flush();
}

const noop = async (): Promise<void> => undefined;

interface Measured {
  hitsPerS: number;
  cpuUsPerHit: number;
}

async function measureRound(p: Plan, fixedAgent: string | null, visitors: VisitorClassifier): Promise<Measured> {
  const seen = build(p, fixedAgent);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const tally: Tally = { clicks: 0, botHits: 0, countries: 0, dropped: 0, shed: 0 };
  const cpu = process.cpuUsage();
  const started = performance.now();
  await feed(p, seen, visitors, noop, tally);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  if (tally.dropped + tally.shed > 0) throw new Error(`the counter dropped ${tally.dropped} hits and shed ${tally.shed} values: the measurement is not of the whole pipeline`);
  return { hitsPerS: HITS / seconds, cpuUsPerHit: (used.user + used.system) / HITS };
}

/** Untimed: what the pipeline counted, against what the file's labels say it must. */
async function check(p: Plan, agents: LabelledAgent[], visitors: VisitorClassifier): Promise<Tally & { botsExpected: number }> {
  const tally: Tally = { clicks: 0, botHits: 0, countries: 0, dropped: 0, shed: 0 };
  const tallying = async (batch: ClickAggregate[]): Promise<void> => {
    for (const link of batch) {
      tally.clicks += link.clicks;
      tally.botHits += link.botHits;
      for (const day of link.days.values()) eachDayValue(day.values, (dimension, value, n) => {
        if (dimension === 'country' && value !== UNKNOWN) tally.countries += n;
      });
    }
  };
  await feed(p, build(p, null), visitors, tallying, tally);
  let botsExpected = 0;
  for (let i = 0; i < HITS; i++) if (agents[p.agent[i] ?? 0]?.label === 'bot') botsExpected += 1;
  return { ...tally, botsExpected };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  if ((globalThis as { gc?: () => void }).gc === undefined) console.error('run with node --expose-gc (npm run bench:pipeline does): garbage is not collected between rounds');
  const agents = readUserAgents();
  const wrongLabels = disagreements(agents, createUserAgentClassifier());
  if (wrongLabels.length > 0) throw new Error(`${USER_AGENTS_FILE}: Curt disagrees with ${wrongLabels.length} lines:\n${wrongLabels.join('\n')}`);
  // The most frequent line: the baseline's one User-Agent.
  const frequency = new Map<string, number>();
  for (const { userAgent } of agents) frequency.set(userAgent, (frequency.get(userAgent) ?? 0) + 1);
  const fixedAgent = [...frequency].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  const p = plan(agents);
  const classifier = async (): Promise<VisitorClassifier> =>
    createVisitorClassifier({ agents: createUserAgentClassifier(), countries: await openCountryResolver({ dbPath: DEFAULT_GEOIP_DB }), trustProxy: false });
  const variants = [
    { name: 'mix', agent: null, visitors: await classifier(), rounds: [] as Measured[] },
    { name: 'fixed', agent: fixedAgent, visitors: await classifier(), rounds: [] as Measured[] },
  ];
  const counted = await check(p, agents, await classifier());
  for (const v of variants) await measureRound(p, v.agent, v.visitors); // warm-up, not kept
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
      const m = await measureRound(p, v.agent, v.visitors);
      v.rounds.push(m);
      console.error(`  round ${round + 1}/${ROUNDS} ${v.name}: ${int(m.hitsPerS)} hits/s, ${m.cpuUsPerHit.toFixed(2)} µs CPU/hit`);
    }
  }

  const shares = labelShares(agents);
  const [mix, fixed] = variants.map((v) => ({ ...v, hitsPerS: median(v.rounds.map((r) => r.hitsPerS)), cpuUsPerHit: median(v.rounds.map((r) => r.cpuUsPerHit)) }));
  if (mix === undefined || fixed === undefined) throw new Error('no variants');
  const row = (label: string, v: typeof mix): string => {
    const rates = v.rounds.map((r) => r.hitsPerS);
    return `| ${label} | ${int(v.hitsPerS)} | ${int(Math.min(...rates))}–${int(Math.max(...rates))} | ${v.cpuUsPerHit.toFixed(2)} | ${int(1e6 / v.cpuUsPerHit)} |`;
  };
  console.log(
    `\nCurt click pipeline alone — ${int(HITS)} hits over ${int(LINKS)} links (uniform), ${ROUNDS} rounds per variant (medians), ` +
      `${ADDRESSES.toLocaleString('en-US')} random public IPv4 peers, Referers of ${REFERRER_HOSTS.length} hosts (${NO_REFERER_SHARE * 100} % none), ` +
      `a flush every ${int(FLUSH_EVERY)} hits to a store that does nothing, node ${process.version}, ${new Date().toISOString()}\n`,
  );
  console.log('| User-Agents | hits/s described and counted (median) | min–max of the rounds | CPU µs per hit (median) | hits per second of CPU |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  console.log(row(`mix: bench/wrk/user-agents.txt (${frequency.size} distinct; ${Object.entries(shares).map(([l, s]) => `${l} ${Math.round(s * 100)} %`).join(', ')})`, mix));
  console.log(row(`fixed: the file's most frequent line, ${fixedAgent.slice(0, 60)}…`, fixed));
  console.log(
    `\nmix / fixed: ${(mix.hitsPerS / fixed.hitsPerS).toFixed(2)}× the hits per second, ${(mix.cpuUsPerHit / fixed.cpuUsPerHit).toFixed(2)}× the CPU per hit. ` +
      `Per round (hits/s): ${mix.rounds.map((r, i) => `${int(r.hitsPerS)} / ${int(fixed.rounds[i]?.hitsPerS ?? 0)}`).join(', ')} (mix / fixed).`,
  );
  const botsOk = counted.botHits === counted.botsExpected && counted.clicks + counted.botHits === HITS;
  console.log(
    `Counted (a separate, untimed pass with a store that adds up): clicks ${int(counted.clicks)} + bot hits ${int(counted.botHits)} = ${int(counted.clicks + counted.botHits)} of ${int(HITS)} hits; ` +
      `bot hits = hits with a bot line (${int(counted.botsExpected)}): ${botsOk ? 'yes' : 'NO'}; a country found for ${((100 * counted.countries) / Math.max(1, counted.clicks)).toFixed(1)} % of clicks; ` +
      `dropped ${counted.dropped}, values shed ${counted.shed}. Every line of the file is what its label says for Curt's classifier.`,
  );
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, `bench/results/pipeline-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    hits: HITS,
    links: LINKS,
    rounds: ROUNDS,
    addresses: ADDRESSES,
    referrerHosts: REFERRER_HOSTS.length,
    flushEvery: FLUSH_EVERY,
    userAgents: { distinct: frequency.size, lines: agents.length, shares, fixed: fixedAgent },
    variants: [mix, fixed].map(({ name, agent, rounds, hitsPerS, cpuUsPerHit }) => ({ name, agent, rounds, hitsPerS, cpuUsPerHit })),
    counted,
    ok: botsOk && counted.dropped === 0 && counted.shed === 0,
  };
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`written to ${file}`);
  if (!result.ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
