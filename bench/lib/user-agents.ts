// The User-Agent mix the benchmarks send (bench/wrk/user-agents.txt), read as redirect.lua reads it
// with UA_FILE, and checked against Curt's own classifier: a bench that says "bot_hits = requests
// sent with a bot line" is only exact if every line labelled bot is a bot for Curt and no other is.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { UserAgentClassifier } from '../../src/analytics/user-agent.ts';

export const USER_AGENTS_FILE = fileURLToPath(new URL('../wrk/user-agents.txt', import.meta.url));

export const LABELS = ['mobile', 'desktop', 'tablet', 'bot'] as const;
export type Label = (typeof LABELS)[number];

export interface LabelledAgent {
  label: Label;
  userAgent: string;
}

/** Every line in file order, repeats kept (they are the weights); "#" and blank lines skipped. */
export function readUserAgents(file = USER_AGENTS_FILE): LabelledAgent[] {
  const agents: LabelledAgent[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-z]+)\t(.+)$/.exec(line);
    const label = LABELS.find((l) => l === match?.[1]);
    if (label === undefined || match?.[2] === undefined) throw new Error(`${file}: not "<label><TAB><User-Agent>" with a label of ${LABELS.join(', ')}: ${line}`);
    agents.push({ label, userAgent: match[2] });
  }
  if (agents.length === 0) throw new Error(`${file} has no User-Agent`);
  return agents;
}

/** Lines whose label Curt disagrees with: a bot that is not one, a person seen as a bot or as another device. */
export function disagreements(agents: LabelledAgent[], classifier: UserAgentClassifier): string[] {
  const wrong = new Set<string>();
  for (const { label, userAgent } of agents) {
    const seen = classifier.classify(userAgent);
    const ok = label === 'bot' ? seen.bot !== null : seen.bot === null && seen.device === label;
    if (!ok) wrong.add(`${label} line seen as ${seen.bot === null ? seen.device : `bot ${seen.bot}`}: ${userAgent}`);
  }
  return [...wrong];
}

/** Share of the lines per label, e.g. { mobile: 0.55, … }. */
export function labelShares(agents: LabelledAgent[]): Record<Label, number> {
  const shares = Object.fromEntries(LABELS.map((l) => [l, 0])) as Record<Label, number>;
  for (const { label } of agents) shares[label] += 1 / agents.length;
  return shares;
}
